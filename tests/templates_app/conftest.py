import importlib
import uuid

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from subscriptions.models import AuditEntry
from subscriptions.services import token_issue
from tests.factories import CardFactory, CardholderFactory, ProductFactory, WalletFactory


@pytest.fixture(autouse=True)
def sample_templates(db):
    """The sample templates of the data migration. A transactional test anywhere in the suite flushes them (and
    --reuse-db keeps that state), so they are put back when missing: one query when they are there."""
    from django.apps import apps

    migration = importlib.import_module("templates.migrations.0003_sample_templates")
    migration.add_samples(apps, None)


@pytest.fixture(autouse=True)
def _no_default_quiet_hours(settings):
    # Routing results must not depend on the hour the suite runs; quiet-hours tests set their own window.
    settings.CUSTOMER_QUIET_HOURS = ""


@pytest.fixture
def product(partner):
    return ProductFactory(partner=partner, code="travel", name="Travel Card", default_locale="en")


@pytest.fixture
def holder(partner):
    return CardholderFactory(
        partner=partner, external_id="CUST1", name="Asha Verma", phone="+919800000001", email="asha@example.com",
        push_token="fcm-token-asha", locale="en", timezone="Asia/Kolkata",
    )


@pytest.fixture
def wallet(partner, holder, product):
    return WalletFactory(partner=partner, cardholder=holder, product=product, balance="874.50")


@pytest.fixture
def card(partner, wallet):
    return CardFactory(partner=partner, wallet=wallet, kit_no="K1000001", last4="4242")


@pytest.fixture(autouse=True)
def isolated_cache(settings):
    # Failed-auth counters live in the cache: keep them on this run's Redis db and under a prefix of their own.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": django_settings.CELERY_BROKER_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }


@pytest.fixture
def make_client():
    """Overrides the shared fixture, whose ApiTokenFactory loses the raw token (it is in Meta.exclude)."""

    def _make(partner, level: int = 2, tenant_id: str | None = None) -> APIClient:
        token, raw = token_issue(partner=partner, level=level, channel=AuditEntry.Channel.SYSTEM, actor="tests")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_X_TENANT_ID=tenant_id or partner.tenant_id)
        client.token = token
        return client

    return _make
