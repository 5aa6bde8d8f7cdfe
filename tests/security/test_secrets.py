"""Signing secrets and API tokens: encrypted (secrets) or hashed (tokens) at rest, the encryption key rotatable, and
neither ever visible in the database, logs, error bodies, admin pages or API responses other than the three that
exist to hand a secret over (create, GET …/secret, POST …/secret/rotate)."""

import base64
import io
import json
import logging
import time

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.models import WebhookDelivery
from subscriptions.crypto import encrypt_secret
from subscriptions.models import ApiToken, AuditChannel, AuditEntry, EventSubscription
from subscriptions.services.secrets import subscription_secret_rotate
from tests.factories import EventSubscriptionFactory
from tests.notifications.helpers import deliver_as_task, kafka_message

pytestmark = pytest.mark.django_db

API = "/prepaid/auth/v1/"
SUBSCRIPTIONS_URL = f"{API}event-subscriptions/"


@pytest.fixture
def client3(acme, make_client):
    return make_client(acme, level=3)


@pytest.fixture
def created(client3, webhook_receiver, settings):
    """A subscription created through the API, then rotated once: (subscription, [old secret, new secret])."""
    settings.WEBHOOK_DESTINATION_ALLOWLIST = ["127.0.0.1/32"]
    response = client3.post(
        SUBSCRIPTIONS_URL,
        {"eventName": "TRANSACTION_NOTIFICATION", "destination": webhook_receiver.url(),
         "retryConfig": {"maxRetries": 3, "retryIntervalSeconds": 10}},
        format="json",
    )
    assert response.status_code == 201, response.content
    first = response.json()["secret"]
    rotated = client3.post(f"{SUBSCRIPTIONS_URL}TRANSACTION_NOTIFICATION/secret/rotate")
    assert rotated.status_code == 200
    second = rotated.json()["secret"]
    assert first.startswith("whsec_") and second.startswith("whsec_") and first != second
    return EventSubscription.objects.get(event_name="TRANSACTION_NOTIFICATION"), [first, second]


def forms_of(secret: str) -> list[str]:
    """The ways a secret could show up: as given, its base64 key, the key as hex, the whole string as hex."""
    key = secret.removeprefix("whsec_")
    return [secret, key, base64.b64decode(key).hex(), secret.encode().hex()]


def deliver_one(receiver, status: int = 204) -> WebhookDelivery:
    receiver.respond = lambda r: status
    message = kafka_message()
    ingest_batch([RawMessage(value=json.dumps(message).encode())])
    d = WebhookDelivery.objects.get(event__event_id=message["eventId"])
    deliver_as_task([d.pk])
    return d


def call(client, **headers):
    """GET the subscription list with these headers (APIClient.credentials() would override them otherwise)."""
    bare = APIClient(REMOTE_ADDR=client.defaults.get("REMOTE_ADDR", "198.51.100.10"))
    auth = dict(client._credentials)
    auth.update(headers)
    return bare.get(SUBSCRIPTIONS_URL, **auth)


def database_text() -> str:
    """Every row of every table of the test database, as PostgreSQL renders it (bytea as hex)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT coalesce(string_agg(t::text, chr(10)), \'\') FROM "{table}" t')
            chunks.append(cursor.fetchone()[0])
    return "\n".join(chunks)


# --- at rest ------------------------------------------------------------------------------------------------------


def test_signing_secrets_are_encrypted_at_rest(created):
    subscription, (old, new) = created
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret_encrypted, previous_secret_encrypted FROM subscriptions_eventsubscription WHERE id = %s",
            [subscription.pk],
        )
        current_column, previous_column = cursor.fetchone()
    for column in (current_column, previous_column):
        assert column.startswith("gAAAAA")  # a Fernet token (AES-128-CBC + HMAC-SHA256)
        for secret in (old, new):
            for form in forms_of(secret):
                assert form not in column
    assert subscription.signing_secrets() == [new, old]  # the configured key opens them


def test_neither_secret_nor_token_is_anywhere_in_the_database(created, client3, webhook_receiver, acme):
    _, secrets = created
    deliver_one(webhook_receiver, 500)
    deliver_one(webhook_receiver, 204)
    client3.get(f"{SUBSCRIPTIONS_URL}TRANSACTION_NOTIFICATION/secret")
    text = database_text()
    assert "TRANSACTION_NOTIFICATION" in text and acme.tenant_id in text  # the dump is real
    for secret in secrets:
        for form in forms_of(secret):
            assert form not in text
    raw_token = client3.raw_token
    assert raw_token not in text and raw_token.encode().hex() not in text
    assert ApiToken.objects.get(pk=client3.token.pk).token_hash in text  # only the SHA-256 is stored


# --- encryption-key rotation --------------------------------------------------------------------------------------


def test_reencrypt_secrets_rotates_the_encryption_key(settings, acme, webhook_receiver):
    old_key = settings.SECRETS_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    rotated = EventSubscriptionFactory(partner=acme, destination=webhook_receiver.url())
    call_command_quietly = {"stdout": io.StringIO(), "stderr": io.StringIO()}

    rotated = subscription_secret_rotate(subscription=rotated, channel=AuditChannel.SYSTEM, actor="t")
    current, previous = rotated.signing_secrets()
    before = EventSubscription.objects.values_list("secret_encrypted", "previous_secret_encrypted").get()

    settings.SECRETS_ENCRYPTION_KEYS = [new_key, old_key]  # new key first: it encrypts, both decrypt
    call_command("reencrypt_secrets", **call_command_quietly)

    after = EventSubscription.objects.values_list("secret_encrypted", "previous_secret_encrypted").get()
    assert after[0] != before[0] and after[1] != before[1]
    settings.SECRETS_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    fresh = EventSubscription.objects.get()
    assert fresh.signing_secrets() == [current, previous]
    settings.SECRETS_ENCRYPTION_KEYS = [old_key]
    with pytest.raises(InvalidToken):
        EventSubscription.objects.get().signing_secrets()

    # Webhooks still verify with the partner's (unchanged) secret after the key rotation.
    settings.SECRETS_ENCRYPTION_KEYS = [new_key]
    deliver_one(webhook_receiver)
    (request,) = webhook_receiver.requests
    Webhook(current).verify(request.body, request.headers)
    entry = AuditEntry.objects.get(action="subscription.secrets_reencrypted")
    assert entry.after["reencrypted"] == 1 and entry.after["failed"] == []


def test_reencrypt_secrets_reports_a_secret_no_key_opens(settings, acme):
    current_key = settings.SECRETS_ENCRYPTION_KEYS[0]
    good = EventSubscriptionFactory(partner=acme)
    stray = EventSubscriptionFactory(partner=acme, event_name="KIT_STATUS_UPDATE")
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # a key that is then lost
    EventSubscription.objects.filter(pk=stray.pk).update(secret_encrypted=encrypt_secret("whsec_c3RyYXk="))
    stray_ciphertext = EventSubscription.objects.get(pk=stray.pk).secret_encrypted

    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), current_key]
    with pytest.raises(CommandError) as caught:
        call_command("reencrypt_secrets", stdout=io.StringIO(), stderr=io.StringIO())
    assert caught.value.returncode == 1
    entry = AuditEntry.objects.get(action="subscription.secrets_reencrypted")
    assert entry.after["reencrypted"] == 1 and [f["id"] for f in entry.after["failed"]] == [stray.pk]
    assert EventSubscription.objects.get(pk=stray.pk).secret_encrypted == stray_ciphertext  # left as it was
    assert EventSubscription.objects.get(pk=good.pk).secret == good.secret


# --- API responses and error bodies -------------------------------------------------------------------------------


def test_only_the_dedicated_responses_carry_a_secret(created, client3, webhook_receiver):
    _, (old, new) = created
    d = deliver_one(webhook_receiver)
    event_id = d.event.event_id
    responses = {
        "list": client3.get(SUBSCRIPTIONS_URL),
        "detail": client3.get(f"{SUBSCRIPTIONS_URL}TRANSACTION_NOTIFICATION"),
        "update": client3.put(SUBSCRIPTIONS_URL, {"eventName": "TRANSACTION_NOTIFICATION", "isEnabled": True},
                              format="json"),
        "events": client3.get(f"{API}events/"),
        "event": client3.get(f"{API}events/{event_id}"),
        "deliveries": client3.get(f"{API}events/{event_id}/deliveries"),
        "event-types": client3.get(f"{API}event-types/"),
        "schema": client3.get("/api/schema/"),
    }
    for name, response in responses.items():
        assert response.status_code == 200, (name, response.content[:300])
        for secret in (old, new):
            for form in forms_of(secret):
                assert form not in response.content.decode(), name
        assert client3.raw_token not in response.content.decode(), name
    dedicated = client3.get(f"{SUBSCRIPTIONS_URL}TRANSACTION_NOTIFICATION/secret")
    assert dedicated.json()["secret"] == new


def test_error_bodies_do_not_echo_tokens_or_secrets(created, client3, acme, make_client):
    _, (_, new) = created
    wrong = "ppn_" + "x" * 43
    unauthenticated = call(client3, HTTP_AUTHORIZATION=f"Bearer {wrong}")
    assert unauthenticated.status_code == 401 and wrong not in unauthenticated.content.decode()
    malformed = call(client3, HTTP_AUTHORIZATION=f"Token {wrong} extra")
    assert malformed.status_code == 401 and wrong not in malformed.content.decode()
    other_tenant = call(client3, HTTP_X_TENANT_ID="globex")
    assert other_tenant.status_code == 403 and client3.raw_token not in other_tenant.content.decode()
    invalid = client3.put(SUBSCRIPTIONS_URL, {"eventName": "TRANSACTION_NOTIFICATION", "secret": new}, format="json")
    assert invalid.status_code == 400 and new not in invalid.content.decode()
    read_only = make_client(acme, level=1)
    forbidden = read_only.get(f"{SUBSCRIPTIONS_URL}TRANSACTION_NOTIFICATION/secret")
    assert forbidden.status_code == 403 and new not in forbidden.content.decode()


# --- admin pages --------------------------------------------------------------------------------------------------


def test_admin_pages_never_show_a_secret_or_token(created, client3, admin_client, acme):
    subscription, secrets = created
    client3.get(f"{SUBSCRIPTIONS_URL}TRANSACTION_NOTIFICATION/secret")  # audited read
    token = ApiToken.objects.get(pk=client3.token.pk)
    pages = [
        reverse("admin:subscriptions_eventsubscription_changelist"),
        reverse("admin:subscriptions_eventsubscription_change", args=[subscription.pk]),
        reverse("admin:subscriptions_apitoken_changelist"),
        reverse("admin:subscriptions_apitoken_change", args=[token.pk]),
        reverse("admin:subscriptions_partner_change", args=[acme.pk]),
        reverse("admin:subscriptions_auditentry_changelist"),
        *(reverse("admin:subscriptions_auditentry_change", args=[e.pk]) for e in AuditEntry.objects.all()),
    ]
    forbidden = [
        *(form for secret in secrets for form in forms_of(secret)),
        subscription.secret_encrypted,
        subscription.previous_secret_encrypted,
        client3.raw_token,
        token.token_hash,
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert "TRANSACTION_NOTIFICATION" in html or token.prefix in html or "acme" in html, page
        for value in forbidden:
            assert value not in html, page


# --- logs ---------------------------------------------------------------------------------------------------------


def test_no_secret_or_token_in_the_logs_of_a_delivery_or_of_failed_authentication(
    created, client3, webhook_receiver, caplog
):
    """caplog holds the raw messages, before the formatters' redaction: the secrets must not be logged at all."""
    caplog.set_level(logging.DEBUG)
    _, secrets = created
    deliver_one(webhook_receiver, 500)
    deliver_one(webhook_receiver, 204)
    client3.get(f"{SUBSCRIPTIONS_URL}TRANSACTION_NOTIFICATION/secret")
    wrong = "ppn_" + "y" * 43
    for header in (f"Bearer {wrong}", f"Bearer {wrong} {wrong}", f"Basic {wrong}"):
        assert call(client3, HTTP_AUTHORIZATION=header).status_code == 401
    assert call(client3, HTTP_X_TENANT_ID="globex").status_code == 403

    text = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert "API authentication failed from" in text and "Attempt 1 failed: HTTP 500" in text  # logs were captured
    for secret in secrets:
        for form in forms_of(secret):
            assert form not in text
    assert client3.raw_token not in text and wrong not in text


# --- failed-authentication throttle -------------------------------------------------------------------------------


@pytest.fixture
def three_a_minute(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"failed_auth": "3/min"}}
    # The throttle counts per fixed minute (config/partner_api/throttling.py): a test's calls that straddle the
    # minute's end start a fresh count and see 401 where they expect 429. Start with at least 15 s of the minute left.
    left = 60 - time.time() % 60
    if left < 15:
        time.sleep(left + 0.1)


def test_failed_authentication_is_throttled_and_logged_without_the_token(three_a_minute, acme, make_client, caplog):
    caplog.set_level(logging.INFO)
    client = make_client(acme, remote_addr="203.0.113.50")
    wrong = "ppn_" + "z" * 43
    for _ in range(3):
        assert call(client, HTTP_AUTHORIZATION=f"Bearer {wrong}").status_code == 401
    blocked = call(client, HTTP_AUTHORIZATION=f"Bearer {wrong}")
    assert blocked.status_code == 429 and 1 <= int(blocked["Retry-After"]) <= 60
    assert blocked.json()["error"]["code"] == "throttled"
    # While blocked, even the right token is refused: a lucky guess would teach the client nothing.
    assert client.get(SUBSCRIPTIONS_URL).status_code == 429
    # Another address is not affected.
    assert make_client(acme, remote_addr="203.0.113.51").get(SUBSCRIPTIONS_URL).status_code == 200

    assert "Throttled authentication attempt from 203.0.113.50" in caplog.text
    assert "API authentication failed from 203.0.113.50" in caplog.text
    assert wrong not in caplog.text and client.raw_token not in caplog.text


def test_inventing_x_forwarded_for_does_not_escape_the_throttle(three_a_minute, acme, make_client):
    client = make_client(acme, remote_addr="203.0.113.60")
    wrong = "ppn_" + "w" * 43
    statuses = [
        call(client, HTTP_AUTHORIZATION=f"Bearer {wrong}", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code
        for n in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]


def test_behind_a_trusted_proxy_the_client_address_comes_from_x_forwarded_for(three_a_minute, settings, acme,
                                                                             make_client):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = make_client(acme, remote_addr="10.0.0.5")  # the load balancer's address
    wrong = "ppn_" + "v" * 43
    for _ in range(3):
        call(proxy, HTTP_AUTHORIZATION=f"Bearer {wrong}", HTTP_X_FORWARDED_FOR="spoofed, 192.0.2.7")
    assert call(proxy, HTTP_X_FORWARDED_FOR="192.0.2.7").status_code == 429
    # The guesser is blocked, not everyone behind the same load balancer.
    assert call(proxy, HTTP_X_FORWARDED_FOR="192.0.2.8").status_code == 200
