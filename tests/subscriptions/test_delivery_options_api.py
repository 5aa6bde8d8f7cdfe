"""The delivery options of an event subscription in the partner API: headers, rateLimitPerSecond, auth,
signatureScheme. Validation (a 400 with field errors for each bad input), echo by GET without secrets, secrets kept
on PUT, audit without header values or secrets, the Ed25519 public key."""

import base64

import pytest
from nacl.signing import SigningKey

from subscriptions.models import AuditEntry, EventSubscription
from tests.security.netdoubles import LocalCA
from tests.subscriptions.conftest import SUBSCRIPTIONS_URL, detail_url

pytestmark = pytest.mark.django_db

BASE = {"eventName": "TRANSACTION_NOTIFICATION", "destination": "https://partner.example.com/hooks"}
OAUTH = {"type": "oauth2", "tokenUrl": "https://auth.partner.example.com/token", "clientId": "hooks",
         "clientSecret": "s3cret-value", "scope": "webhooks"}


def post(client, **fields):
    return client.post(SUBSCRIPTIONS_URL, {**BASE, **fields}, format="json")


def put(client, **fields):
    return client.put(SUBSCRIPTIONS_URL, {"eventName": BASE["eventName"], **fields}, format="json")


def field_errors(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


# --- headers ---------------------------------------------------------------------------------------------------


def test_headers_are_stored_and_echoed(api_client):
    created = post(api_client, headers={"X-Api-Key": "k-123", "X-Team": "payments"})
    assert created.status_code == 201
    assert api_client.get(detail_url(BASE["eventName"])).json()["headers"] == {"X-Api-Key": "k-123",
                                                                                 "X-Team": "payments"}
    assert put(api_client, headers={}).json()["headers"] == {}


@pytest.mark.parametrize("name", ["webhook-id", "Webhook-Signature", "Content-Type", "content-length", "Host",
                                  "Authorization", "Connection", "Transfer-Encoding", "Upgrade", "TE", "Keep-Alive",
                                  "Proxy-Authorization", "Expect", "Trailer"])
def test_reserved_headers_are_refused(api_client, name):
    errors = field_errors(post(api_client, headers={name: "x"}))
    assert "reserved" in " ".join(errors["headers"])
    assert not EventSubscription.objects.exists()


@pytest.mark.parametrize(("headers", "fragment"), [
    ({"Bad Name": "x"}, "not a valid header name"),
    ({"X-A": "line\r\nInjected: yes"}, "printable ASCII"),
    ({"X-A": ""}, "printable ASCII"),
    ({"X-A": "é"}, "printable ASCII"),
    ({"X-A": "x" * 1025}, "1024"),
    ({"X-A": "1", "x-a": "2"}, "twice"),
    ({f"X-H{i}": "v" for i in range(21)}, "At most 20"),
])
def test_bad_headers_are_refused(api_client, headers, fragment):
    errors = field_errors(post(api_client, headers=headers))
    assert fragment in str(errors["headers"])


def test_a_header_value_must_be_a_string(api_client):
    assert "headers" in field_errors(post(api_client, headers={"X-A": 5}))


def test_error_messages_never_quote_a_header_value(api_client):
    errors = field_errors(post(api_client, headers={"X-A": "secret\nvalue"}))
    assert "secret" not in str(errors)


# --- rate limit ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, 10_001, 2.5, "5", True])
def test_bad_rate_limits_are_refused(api_client, value):
    assert "rateLimitPerSecond" in field_errors(post(api_client, rateLimitPerSecond=value))


def test_rate_limit_is_set_and_removed(api_client):
    assert post(api_client, rateLimitPerSecond=5).json()["rateLimitPerSecond"] == 5
    assert put(api_client, rateLimitPerSecond=None).json()["rateLimitPerSecond"] is None


# --- auth ------------------------------------------------------------------------------------------------------


def test_oauth2_is_echoed_without_its_secret_and_the_secret_is_encrypted(api_client):
    body = post(api_client, auth=OAUTH).json()
    assert body["auth"] == {"type": "oauth2", "tokenUrl": OAUTH["tokenUrl"], "clientId": "hooks",
                            "scope": "webhooks"}
    subscription = EventSubscription.objects.get()
    assert "s3cret-value" not in subscription.auth_secret_encrypted
    assert subscription.auth_secret == "s3cret-value"
    assert "s3cret-value" not in str(api_client.get(SUBSCRIPTIONS_URL).json())


def test_a_get_put_round_trip_keeps_the_stored_secret(api_client):
    post(api_client, auth=OAUTH)
    read = api_client.get(detail_url(BASE["eventName"])).json()
    assert put(api_client, auth={**read["auth"], "scope": "webhooks other"}).status_code == 200
    subscription = EventSubscription.objects.get()
    assert subscription.auth_secret == "s3cret-value" and subscription.auth_config["scope"] == "webhooks other"
    # Another type has no stored secret to keep.
    assert "auth.password" in field_errors(put(api_client, auth={"type": "basic", "username": "u"}))


@pytest.mark.parametrize(("auth", "field"), [
    ({"type": "oauth2", "clientId": "c", "clientSecret": "s"}, "auth.tokenUrl"),
    ({**OAUTH, "tokenUrl": "http://169.254.169.254/latest"}, "auth.tokenUrl"),
    ({**OAUTH, "tokenUrl": "https://localhost/token"}, "auth.tokenUrl"),
    ({"type": "oauth2", "tokenUrl": OAUTH["tokenUrl"], "clientId": "c"}, "auth.clientSecret"),
    ({"type": "basic", "username": "a:b", "password": "p"}, "auth.username"),
    ({"type": "basic", "username": "a", "password": "p", "tokenUrl": "x"}, "auth.tokenUrl"),
    ({"type": "kerberos"}, "auth"),
    ({"type": "mtls", "certificate": "not a pem", "privateKey": "nope"}, "auth.certificate"),
])
def test_bad_auth_is_refused(api_client, auth, field, no_allowlist):
    errors = field_errors(post(api_client, auth=auth))
    assert any(key == field or key.startswith(field) for key in errors), errors


def test_an_unknown_auth_field_is_refused(api_client):
    errors = field_errors(post(api_client, auth={**OAUTH, "grantType": "password"}))
    assert "auth" in errors


@pytest.fixture
def local_ca(tmp_path):
    return LocalCA(tmp_path)


def test_mtls_pem_is_validated_and_the_key_encrypted(api_client, local_ca):
    cert, key = local_ca.issue_client("partner-hooks")
    other_cert, other_key = local_ca.issue_client("someone-else")
    errors = field_errors(post(api_client, auth={"type": "mtls", "certificate": cert, "privateKey": other_key}))
    assert "does not belong" in str(errors["auth.privateKey"])
    errors = field_errors(post(api_client, auth={"type": "mtls", "certificate": cert, "privateKey": "-----BEGIN"}))
    assert "auth.privateKey" in errors
    expired_cert, expired_key = local_ca.issue_client("old", days=-1)
    assert "expired" in str(field_errors(post(api_client, auth={"type": "mtls", "certificate": expired_cert,
                                                                 "privateKey": expired_key})))

    body = post(api_client, auth={"type": "mtls", "certificate": cert, "privateKey": key}).json()
    assert body["auth"]["certificateSubject"] == "CN=partner-hooks"
    assert body["auth"]["certificate"] == cert and "privateKey" not in body["auth"]
    subscription = EventSubscription.objects.get()
    assert "PRIVATE KEY" not in subscription.auth_secret_encrypted and subscription.auth_secret == key
    # The same certificate sent back without its key keeps the stored key; a new certificate needs its key.
    assert put(api_client, auth=body["auth"]).status_code == 200
    assert "auth.privateKey" in field_errors(put(api_client, auth={"type": "mtls", "certificate": other_cert}))


def test_auth_null_removes_it(api_client):
    post(api_client, auth=OAUTH)
    assert put(api_client, auth=None).json()["auth"] is None
    subscription = EventSubscription.objects.get()
    assert subscription.auth_type == "" and subscription.auth_secret_encrypted == ""


# --- audit -----------------------------------------------------------------------------------------------------


def test_changes_are_audited_without_header_values_or_secrets(api_client):
    post(api_client, headers={"X-Api-Key": "value-one"}, auth=OAUTH, rateLimitPerSecond=3)
    put(api_client, headers={"X-Api-Key": "value-two"}, auth={**OAUTH, "clientSecret": "another-secret"})
    entries = list(AuditEntry.objects.filter(action__in=["subscription.created", "subscription.updated"]))
    text = str([(e.before, e.after) for e in entries])
    for secret in ("value-one", "value-two", "s3cret-value", "another-secret"):
        assert secret not in text
    updated = next(e for e in entries if e.action == "subscription.updated")
    assert updated.after["header_names"] == ["X-Api-Key"] and updated.after["header_values_changed"] == ["X-Api-Key"]
    assert updated.after["auth_secret_changed"] is True
    created = next(e for e in entries if e.action == "subscription.created")
    assert created.after["rate_limit_per_second"] == 3 and created.after["auth"]["type"] == "oauth2"


# --- Ed25519 ---------------------------------------------------------------------------------------------------


def test_ed25519_subscription_serves_its_public_key_never_the_private_one(api_client):
    created = post(api_client, signatureScheme="ed25519").json()
    assert created["signatureScheme"] == "ed25519" and created["secret"] is None
    assert created["publicKey"].startswith("whpk_")
    secret = api_client.get(detail_url(BASE["eventName"]) + "/secret").json()
    assert secret["publicKey"] == created["publicKey"] and secret["secret"] is None
    stored = EventSubscription.objects.get().secret
    assert stored.startswith("whsk_") and stored not in str(created) + str(secret)
    # The public key is the one of the stored private key (checked with an independent implementation, PyNaCl).
    seed = base64.b64decode(stored.removeprefix("whsk_"))
    expected = base64.b64encode(bytes(SigningKey(seed).verify_key)).decode()
    assert secret["publicKey"] == f"whpk_{expected}"


def test_changing_the_scheme_overlaps_like_a_rotation(api_client):
    post(api_client)
    updated = put(api_client, signatureScheme="ed25519")
    assert updated.status_code == 200
    subscription = EventSubscription.objects.get()
    keys = subscription.signing_secrets()
    assert [k[:5] for k in keys] == ["whsk_", "whsec"]
    secret = api_client.get(detail_url(BASE["eventName"]) + "/secret").json()
    assert secret["publicKey"].startswith("whpk_") and secret["previousSecretExpiresAt"] is not None


def test_a_bad_scheme_is_refused(api_client):
    assert "signatureScheme" in field_errors(post(api_client, signatureScheme="rsa"))
