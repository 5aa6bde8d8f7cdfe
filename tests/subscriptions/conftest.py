"""Fixtures of the subscriptions tests."""

import pytest

from tests.factories import EventSubscriptionFactory, PartnerFactory

SUBSCRIPTIONS_URL = "/prepaid/auth/v1/event-subscriptions/"


@pytest.fixture
def no_allowlist(settings):
    """Production rules: no destination is exempt from the https and private-address checks."""
    settings.WEBHOOK_DESTINATION_ALLOWLIST = []


@pytest.fixture
def other_partner(db):
    return PartnerFactory(tenant_id="globex", name="Globex Cards")


@pytest.fixture
def subscription(partner):
    return EventSubscriptionFactory(
        partner=partner, event_name="TRANSACTION_NOTIFICATION", destination="https://partner.example.com/hooks"
    )


def detail_url(event_name: str) -> str:
    return f"{SUBSCRIPTIONS_URL}{event_name}"
