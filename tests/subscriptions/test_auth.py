"""Partner authentication: 401 / 403 rules, token levels, hashed tokens, failed-auth throttling."""

import logging

import pytest
from django.db import connection
from rest_framework.test import APIClient

from subscriptions.models import AuditChannel
from subscriptions.services.partners import partner_update
from subscriptions.services.tokens import token_issue, token_revoke
from tests.factories import EventSubscriptionFactory
from tests.subscriptions.conftest import SUBSCRIPTIONS_URL, detail_url


def client_with(authorization: str | None = None, tenant: str | None = None, ip: str = "127.0.0.1") -> APIClient:
    client = APIClient(REMOTE_ADDR=ip)
    headers = {}
    if authorization is not None:
        headers["HTTP_AUTHORIZATION"] = authorization
    if tenant is not None:
        headers["HTTP_X_TENANT_ID"] = tenant
    client.credentials(**headers)
    return client


def error_of(response) -> dict:
    return response.json()["error"]


@pytest.mark.django_db
def test_no_token_is_401_with_bearer_challenge(partner):
    response = client_with(tenant="acme").get(SUBSCRIPTIONS_URL)

    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    ["Token abc", "Bearer", "Bearer a b", "Basic dXNlcjpwYXNz", "Bearer ppn_doesnotexist", "bearer ppn_x"],
)
def test_bad_token_is_401(partner, authorization):
    response = client_with(authorization, tenant="acme").get(SUBSCRIPTIONS_URL)

    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


@pytest.mark.django_db
def test_revoked_token_is_401(partner, make_client):
    client = make_client(partner)
    assert client.get(SUBSCRIPTIONS_URL).status_code == 200

    token_revoke(token=client.token, channel=AuditChannel.SYSTEM, actor="tests")

    response = client.get(SUBSCRIPTIONS_URL)
    assert response.status_code == 401
    assert "revoked" in error_of(response)["message"]


@pytest.mark.django_db
def test_token_of_inactive_partner_is_401(partner, make_client):
    client = make_client(partner)
    partner_update(partner=partner, is_active=False, channel=AuditChannel.SYSTEM, actor="tests")

    assert client.get(SUBSCRIPTIONS_URL).status_code == 401


@pytest.mark.django_db
def test_missing_tenant_header_is_403(partner, make_client):
    raw = make_client(partner).token._raw

    response = client_with(f"Bearer {raw}").get(SUBSCRIPTIONS_URL)

    assert response.status_code == 403
    assert "X-TENANT-ID" in error_of(response)["message"]


@pytest.mark.django_db
def test_tenant_mismatch_is_403(partner, other_partner, make_client):
    EventSubscriptionFactory(partner=other_partner)
    client = make_client(partner, tenant_id="globex")

    response = client.get(SUBSCRIPTIONS_URL)

    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("level", "method", "path", "needed"),
    [
        (1, "post", "", 2),
        (1, "put", "", 2),
        (1, "delete", "TRANSACTION_NOTIFICATION", 2),
        (1, "get", "TRANSACTION_NOTIFICATION/secret", 2),
        (2, "post", "TRANSACTION_NOTIFICATION/secret/rotate", 3),
        (1, "post", "TRANSACTION_NOTIFICATION/secret/rotate", 3),
    ],
)
def test_token_level_too_low_is_403_naming_the_level(partner, subscription, make_client, level, method, path,
                                                     needed):
    client = make_client(partner, level=level)

    response = getattr(client, method)(SUBSCRIPTIONS_URL + path, {"eventName": "TRANSACTION_NOTIFICATION"},
                                       format="json")

    assert response.status_code == 403
    assert f"access level {needed}" in error_of(response)["message"]


@pytest.mark.django_db
def test_read_only_token_can_read(partner, subscription, make_client):
    client = make_client(partner, level=1)

    assert client.get(SUBSCRIPTIONS_URL).status_code == 200
    assert client.get(detail_url("TRANSACTION_NOTIFICATION")).status_code == 200
    assert client.get("/prepaid/auth/v1/event-types/").status_code == 200


@pytest.mark.django_db
def test_tokens_are_stored_hashed(partner):
    token, raw = token_issue(partner=partner, level=2, name="ci", channel=AuditChannel.SYSTEM, actor="t")

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM subscriptions_apitoken")
        rows = repr(cursor.fetchall())
        cursor.execute("SELECT before::text, after::text FROM subscriptions_auditentry")
        audit = repr(cursor.fetchall())
    assert raw not in rows
    assert raw not in audit
    assert raw.startswith(token.prefix)
    assert len(token.token_hash) == 64 and token.token_hash in rows


@pytest.mark.django_db
def test_successful_use_records_last_used(partner, make_client):
    client = make_client(partner)
    assert client.token.last_used_at is None

    client.get(SUBSCRIPTIONS_URL)

    client.token.refresh_from_db()
    assert client.token.last_used_at is not None


# --- throttling ------------------------------------------------------------------------------------------------------


@pytest.fixture
def strict_throttle(settings):
    # An hourly window: a test's few requests never straddle a window boundary (the counter is per window).
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"failed_auth": "3/hour"}}


@pytest.mark.django_db
@pytest.mark.usefixtures("strict_throttle")
def test_failed_auth_is_throttled_per_ip_with_retry_after(partner, make_client, caplog):
    guessed = "Bearer ppn_guess_guess_guess"
    attacker = client_with(guessed, tenant="acme", ip="203.0.113.7")
    with caplog.at_level(logging.WARNING):
        statuses = [attacker.get(SUBSCRIPTIONS_URL).status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]
    response = attacker.get(SUBSCRIPTIONS_URL)
    assert response.status_code == 429
    assert error_of(response)["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert "ppn_guess" not in caplog.text
    assert "203.0.113.7" in caplog.text


@pytest.mark.django_db
@pytest.mark.usefixtures("strict_throttle")
def test_throttled_ip_is_refused_even_with_a_valid_token(partner, make_client):
    raw = make_client(partner).token._raw
    for _ in range(3):
        client_with("Bearer wrong", tenant="acme", ip="203.0.113.8").get(SUBSCRIPTIONS_URL)

    blocked = client_with(f"Bearer {raw}", tenant="acme", ip="203.0.113.8").get(SUBSCRIPTIONS_URL)
    elsewhere = client_with(f"Bearer {raw}", tenant="acme", ip="198.51.100.1").get(SUBSCRIPTIONS_URL)

    assert blocked.status_code == 429
    assert elsewhere.status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("strict_throttle")
def test_requests_without_credentials_and_successes_are_not_counted(partner, make_client):
    raw = make_client(partner).token._raw
    for _ in range(5):
        assert client_with(tenant="acme", ip="203.0.113.9").get(SUBSCRIPTIONS_URL).status_code == 401
        assert client_with(f"Bearer {raw}", tenant="acme", ip="203.0.113.9").get(SUBSCRIPTIONS_URL).status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("strict_throttle")
def test_throttle_counts_live_in_the_shared_redis_cache(partner, settings, rf):
    from django.core.cache.backends.redis import RedisCache

    from config.partner_api.throttling import FailedAuthThrottle

    for _ in range(2):
        client_with("Bearer nope", tenant="acme", ip="203.0.113.10").get(SUBSCRIPTIONS_URL)
    # Another web process has its own connection to the same Redis and reads the same counter.
    config = settings.CACHES["default"]
    other_process = RedisCache(config["LOCATION"], {"KEY_PREFIX": config["KEY_PREFIX"]})
    key = FailedAuthThrottle().get_cache_key(rf.get("/", REMOTE_ADDR="203.0.113.10"), None)

    assert other_process.get(key) == 2


@pytest.mark.django_db
def test_throttle_fails_open_when_the_cache_is_down(partner, make_client, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    client = make_client(partner)

    assert client.get(SUBSCRIPTIONS_URL).status_code == 200
    assert client_with("Bearer nope", tenant="acme").get(SUBSCRIPTIONS_URL).status_code == 401
