"""FCM access tokens minted from a service account with google-auth, against a local endpoint speaking Google's
OAuth2 JWT-bearer grant (which verifies the JWT with the account's public key), and the local FCM server that
accepts only the tokens that endpoint issued, until they expire."""

import time

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications.messaging.channels import TransportError
from notifications.messaging.channels.push import FcmPushChannel
from notifications.models import CustomerMessage, Event
from tests.notifications.messaging.fakes import FCM_SCOPE, Scripted


def _push(token: str = "fcm-token-asha") -> CustomerMessage:
    event = Event(pk=7, event_id="evt-1", event_name="CARD_BLOCKED")
    return CustomerMessage(pk=42, event=event, channel="PUSH", recipient=token, subject="Card blocked", body="Hi")


def _bearers(fcm) -> list[str]:
    return [r.headers["authorization"].removeprefix("Bearer ") for r in fcm.requests]


def test_a_minted_token_is_used_and_reused_while_valid(fcm, push_service_account):
    adapter = FcmPushChannel()
    first = adapter.send(_push())
    second = FcmPushChannel().send(_push())  # another adapter in the same process shares the credentials
    assert first.provider_message_id.startswith("projects/demo-project/messages/")
    assert second.provider_message_id
    [token] = push_service_account.issued
    assert _bearers(fcm) == [token, token]
    # The JWT google-auth sent was signed by the service account's key and says what Google requires.
    [claims] = push_service_account.claims
    assert claims["iss"] == push_service_account.client_email
    assert claims["aud"] == "https://oauth2.googleapis.com/token"
    assert FCM_SCOPE in claims["scope"].split()
    assert claims["exp"] - claims["iat"] == 3600


def test_a_push_after_the_minted_token_expired_gets_a_fresh_one(fcm, push_service_account):
    # google-auth refreshes a token with less than 3 min 45 s left: 226 s is fresh for about a second.
    push_service_account.expires_in = 226
    FcmPushChannel().send(_push())
    time.sleep(1.2)
    FcmPushChannel().send(_push())
    first, second = push_service_account.issued
    assert first != second
    assert _bearers(fcm) == [first, second]


def test_a_refused_token_is_replaced_once(fcm, push_service_account):
    FcmPushChannel().send(_push())
    with fcm.lock:
        fcm.minted.clear()  # FCM no longer accepts it (revoked)
    result = FcmPushChannel().send(_push())
    assert result.provider_message_id
    first, second = push_service_account.issued
    statuses = [r.headers["authorization"] for r in fcm.requests]
    assert statuses == [f"Bearer {first}", f"Bearer {first}", f"Bearer {second}"]


def test_a_token_endpoint_that_refuses_is_a_retryable_error(fcm, push_service_account):
    push_service_account.script.append(
        Scripted(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}))
    with pytest.raises(TransportError) as info:
        FcmPushChannel().send(_push())
    assert info.value.permanent is False
    assert "access token" in info.value.message
    assert fcm.requests == []


def test_an_unusable_service_account_is_a_configuration_error(fcm, settings):
    settings.PUSH_SERVICE_ACCOUNT_JSON = '{"type": "service_account", "client_email": "x@example.com"}'
    with pytest.raises(ImproperlyConfigured):
        FcmPushChannel().send(_push())
    settings.PUSH_SERVICE_ACCOUNT_JSON = "not json"
    with pytest.raises(ImproperlyConfigured):
        FcmPushChannel().send(_push())


def test_the_ready_token_still_works_without_a_service_account(fcm):
    FcmPushChannel().send(_push())
    assert _bearers(fcm) == [fcm.access_token]


def test_the_service_account_can_be_a_file(fcm, push_service_account, settings, tmp_path):
    path = tmp_path / "service-account.json"
    path.write_text(settings.PUSH_SERVICE_ACCOUNT_JSON)
    settings.PUSH_SERVICE_ACCOUNT_JSON, settings.PUSH_SERVICE_ACCOUNT_FILE = "", str(path)
    FcmPushChannel().send(_push())
    assert _bearers(fcm) == push_service_account.issued
