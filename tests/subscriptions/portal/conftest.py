"""Fixtures of the partner-portal tests: partner users of each role, signed-in clients, another tenant's data."""

import pytest
from django.test import Client

from subscriptions.models import AuditChannel
from subscriptions.portal.models import PortalRole
from subscriptions.portal.services import partner_user_create
from tests.factories import (
    ApiTokenFactory,
    EventFactory,
    EventSubscriptionFactory,
    PartnerFactory,
    WebhookDeliveryFactory,
)

PASSWORD = "portal-test-password"
PORTAL = "/portal/"


@pytest.fixture
def make_user(db):
    def _make(partner, role=PortalRole.DEVELOPER, username=None):
        username = username or f"{partner.tenant_id}-{PortalRole(role).label.lower()}"
        return partner_user_create(partner=partner, username=username, password=PASSWORD, role=role,
                                   channel=AuditChannel.COMMAND, actor="tests")

    return _make


def sign_in(client: Client, username: str, password: str = PASSWORD):
    return client.post(f"{PORTAL}login/", {"username": username, "password": password})


@pytest.fixture
def signed_in(make_user):
    """signed_in(partner, role) -> a Django test client signed in to the portal through the login form."""

    def _client(partner, role=PortalRole.DEVELOPER) -> Client:
        membership = make_user(partner, role)
        client = Client()
        response = sign_in(client, membership.user.username)
        assert response.status_code == 302, response.content[:500]
        client.membership = membership
        return client

    return _client


@pytest.fixture
def other_partner(db):
    return PartnerFactory(tenant_id="globex", name="Globex Cards")


@pytest.fixture
def foreign(other_partner):
    """Another tenant's subscription, event, delivery and token: what isolation tests try to reach."""
    subscription = EventSubscriptionFactory(partner=other_partner, event_name="CARD_ISSUED",
                                            destination="https://globex.example.com/hooks")
    event = EventFactory(partner=other_partner, event_name="CARD_ISSUED", event_id="globex-event-1")
    delivery = WebhookDeliveryFactory(subscription=subscription, event=event, status="FAILED")
    token = ApiTokenFactory(partner=other_partner, level=3)
    return {"subscription": subscription, "event": event, "delivery": delivery, "token": token}
