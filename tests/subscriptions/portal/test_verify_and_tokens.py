"""The signature-verification helper explains why a webhook does not verify; API tokens are issued (shown once)
and revoked from the portal, audited."""

import json
import time

import pytest

from notifications.webhooks.signing import webhook_headers
from subscriptions.models import ApiToken, AuditEntry, hash_token
from subscriptions.portal.models import PortalRole
from subscriptions.portal.verification import parse_headers, signature_explain
from tests.factories import EventSubscriptionFactory
from tests.subscriptions.portal.conftest import PORTAL

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
BODY = '{"eventId":"e1","eventName":"CARD_ISSUED","data":{"kitNo":"K1"}}'


def _headers(secret=SECRET, body=BODY, timestamp=None) -> str:
    headers = webhook_headers([secret], "e1", body.encode(), timestamp=timestamp)
    return "\n".join(f"{k}: {v}" for k, v in headers.items())


def test_a_good_webhook_verifies():
    verdict = signature_explain(secrets=[("current", SECRET)], headers_text=_headers(), body=BODY)
    assert verdict.ok and verdict.matched == "current" and verdict.reasons == []


def test_the_previous_secret_during_a_rotation():
    verdict = signature_explain(secrets=[("current", OTHER), ("previous", SECRET)], headers_text=_headers(),
                                body=BODY)
    assert verdict.ok and verdict.matched == "previous"


@pytest.mark.parametrize(("headers", "body", "why"), [
    (_headers(), BODY + "\n", "trailing line break"),
    (_headers(), json.dumps(json.loads(BODY), indent=2), "re-serialised"),
    (_headers(secret=OTHER), BODY, "No signature matches"),
    (_headers(timestamp=int(time.time()) - 3600), BODY, "s old; receivers reject more than 300 s"),
    ("webhook-id: e1", BODY, "Missing header(s): webhook-timestamp, webhook-signature"),
    ("webhook-id: e1\nwebhook-timestamp: soon\nwebhook-signature: v1,abc", BODY, "Unix seconds"),
    ("webhook-id: e1\nwebhook-timestamp: {ts}\nwebhook-signature: v2,abc", BODY, "No v1 signature"),
])
def test_why_a_webhook_does_not_verify(headers, body, why):
    verdict = signature_explain(secrets=[("current", SECRET)], headers_text=headers.format(ts=int(time.time())),
                                body=body)
    assert not verdict.ok
    assert any(why in reason for reason in verdict.reasons), verdict.reasons


def test_headers_as_json_or_as_curl_shows_them():
    assert parse_headers('{"Webhook-Id": "x"}') == {"webhook-id": "x"}
    assert parse_headers("< webhook-id: x\n< Content-Type: application/json") == {
        "webhook-id": "x", "content-type": "application/json"}


def test_the_helper_page(signed_in, partner):
    EventSubscriptionFactory(partner=partner, event_name="CARD_ISSUED", secret=SECRET)
    client = signed_in(partner, PortalRole.VIEWER)
    good = client.post(PORTAL + "verify/", {"event_name": "CARD_ISSUED", "headers": _headers(), "body": BODY})
    assert "Verified" in good.content.decode() and SECRET not in good.content.decode()
    pasted = client.post(PORTAL + "verify/", {"secret": OTHER, "headers": _headers(), "body": BODY})
    assert "Does not verify" in pasted.content.decode()
    for bad, message in (({"secret": "nope"}, "starts with whsec_"), ({"secret": "whsec_!!"}, "not a valid"),
                         ({"body": "x" * (300 * 1024)}, "256 KB")):
        response = client.post(PORTAL + "verify/", {"headers": _headers(), "body": BODY, **bad})
        assert response.status_code == 400 and message in response.content.decode()


def test_issue_and_revoke_tokens(signed_in, partner):
    client = signed_in(partner, PortalRole.ADMIN)
    response = client.post(PORTAL + "tokens/", {"name": "ci", "level": "1"})
    body = response.content.decode()
    token = ApiToken.objects.get(partner=partner, name="ci")
    raw = body.split('<pre id="new-token">')[1].split("<")[0]
    assert hash_token(raw) == token.token_hash and token.level == 1
    assert raw not in client.get(PORTAL + "tokens/").content.decode()  # shown once
    client.post(PORTAL + f"tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None
    actions = list(AuditEntry.objects.filter(channel="PORTAL", object_type="ApiToken").values_list("action", "actor"))
    assert sorted(actions) == [("token.issued", "acme/user:acme-admin"), ("token.revoked", "acme/user:acme-admin")]


@pytest.mark.parametrize(("data", "message"), [({"level": "9"}, "level must be one of"),
                                               ({"level": "x"}, "level must be one of"),
                                               ({"level": "1", "name": "n" * 101}, "longer than 100")])
def test_bad_token_requests_are_400(signed_in, partner, data, message):
    response = signed_in(partner, PortalRole.ADMIN).post(PORTAL + "tokens/", data)
    assert response.status_code == 400 and message in response.content.decode()
    assert not ApiToken.objects.exists()
