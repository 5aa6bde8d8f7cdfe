"""Shared fixtures. Real PostgreSQL (pytest-django creates test_<db>); process-level fixtures for Kafka, Celery
and HTTP receivers live in tests/fixtures/ and are loaded here."""

import uuid

import pytest
from rest_framework.test import APIClient

from tests.factories import ApiTokenFactory, PartnerFactory

pytest_plugins = ["tests.fixtures.processes", "tests.fixtures.receiver", "tests.fixtures.cardholders"]


@pytest.fixture(autouse=True)
def isolated_cache(settings):
    """Real Redis cache on this run's Redis db, with a key prefix per test: failed-auth counters never carry over."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": settings.CELERY_BROKER_URL,
                                   "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}


@pytest.fixture
def partner(db):
    return PartnerFactory(tenant_id="acme", name="Acme Fintech")


@pytest.fixture
def make_client():
    """make_client(partner, level=2) -> APIClient authenticated as that partner with a fresh token."""

    def _make(partner, level: int = 2, tenant_id: str | None = None) -> APIClient:
        token = ApiTokenFactory(partner=partner, level=level)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token._raw}", HTTP_X_TENANT_ID=tenant_id or partner.tenant_id)
        client.token = token
        return client

    return _make


@pytest.fixture
def api_client(partner, make_client):
    return make_client(partner)
