"""Fixtures of the security tests: clients with real issued tokens, an isolated throttle cache, and small network
doubles (a resolver answering what the test says, a forward proxy; partner endpoints on chosen loopback addresses
are tests.fixtures.receiver.WebhookReceiver)."""

import uuid

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from notifications.webhooks.sender import WebhookSender
from subscriptions.models import AuditChannel
from subscriptions.services.tokens import token_issue
from tests.factories import PartnerFactory
from tests.security.netdoubles import FakeDns


@pytest.fixture(autouse=True)
def isolated_cache(settings):
    """The failed-auth throttle counts in the Django cache: keep its counters on this run's Redis database and
    under a prefix of our own, so they never throttle another engineer's tests (or theirs ours)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": django_settings.CELERY_BROKER_URL,
            "KEY_PREFIX": f"sec-{uuid.uuid4().hex}",
        }
    }


@pytest.fixture
def acme(db):
    return PartnerFactory(tenant_id="acme", name="Acme Fintech")


@pytest.fixture
def make_client():
    """make_client(partner, level=2) -> APIClient holding a token issued by the real service (`client.raw_token`)."""

    def _make(partner, level: int = 2, tenant_id: str | None = None, remote_addr: str = "198.51.100.10") -> APIClient:
        token, raw = token_issue(partner=partner, level=level, channel=AuditChannel.SYSTEM, actor="tests")
        client = APIClient(REMOTE_ADDR=remote_addr)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_X_TENANT_ID=tenant_id or partner.tenant_id)
        client.token, client.raw_token = token, raw
        return client

    return _make


@pytest.fixture
def fake_dns(monkeypatch) -> FakeDns:
    """Replace the resolver under GuardedResolver (the network edge) with a table the test fills in."""
    dns = FakeDns()
    monkeypatch.setattr("notifications.webhooks.egress.DefaultResolver", lambda: dns)
    return dns


@pytest.fixture
def sender():
    """A private WebhookSender (own event loop and connection pool), closed after the test."""
    instance = WebhookSender()
    yield instance
    instance.close()
    instance._loop.call_soon_threadsafe(instance._loop.stop)
