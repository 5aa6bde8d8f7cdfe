"""Every portal page renders for a signed-in admin of a partner with data."""

import pytest

from notifications.models import DeliveryAttempt, DeliveryStatus
from subscriptions.portal.models import PortalRole
from tests.factories import EventFactory, EventSubscriptionFactory, WebhookDeliveryFactory
from tests.subscriptions.portal.conftest import PORTAL


@pytest.fixture
def data(partner):
    subscription = EventSubscriptionFactory(partner=partner, event_name="TRANSACTION_NOTIFICATION",
                                            destination="https://acme.example.com/hooks")
    event = EventFactory(partner=partner, event_id="evt-1", entity_id="card-1", body='{"eventId":"evt-1"}')
    delivery = WebhookDeliveryFactory(subscription=subscription, event=event, status=DeliveryStatus.FAILED,
                                      attempt_count=1, last_status_code=500)
    DeliveryAttempt.objects.create(delivery=delivery, attempt_number=1, started_at=event.occurred_at,
                                   duration_ms=42, status_code=500, response_body="nope")
    return {"subscription": subscription, "event": event, "delivery": delivery}


@pytest.mark.parametrize("path", [
    "", "subscriptions/", "subscriptions/new/", "subscriptions/TRANSACTION_NOTIFICATION/", "deliveries/",
    "events/evt-1/", "catalog/", "verify/", "tokens/", "audit/", "security/",
])
def test_every_page_renders(signed_in, partner, data, path):
    client = signed_in(partner, PortalRole.ADMIN)
    response = client.get(PORTAL + path)
    assert response.status_code == 200, response.content[:2000]
    assert b"Acme Fintech" in response.content
