"""Every portal view is tenant-scoped: another partner's subscription, event, delivery and token ids answer 404,
exactly like ids that do not exist, and change nothing."""

import pytest

from notifications.models import DeliveryStatus, WebhookDelivery
from subscriptions.models import ApiToken, AuditEntry, EventSubscription
from subscriptions.portal.models import PortalRole
from tests.subscriptions.portal.conftest import PORTAL

GET_VIEWS = [
    "subscriptions/{sub}/",
    "events/{event}/",
    "deliveries/{delivery}/",
]
POST_VIEWS = [
    "subscriptions/{sub}/",
    "subscriptions/{sub}/toggle/",
    "subscriptions/{sub}/delete/",
    "subscriptions/{sub}/test/",
    "subscriptions/{sub}/secret/",
    "subscriptions/{sub}/secret/rotate/",
    "subscriptions/{sub}/recover/",
    "deliveries/{delivery}/resend/",
    "tokens/{token}/revoke/",
]


def _ids(foreign) -> dict:
    return {"sub": foreign["subscription"].event_name, "event": foreign["event"].event_id,
            "delivery": foreign["delivery"].pk, "token": foreign["token"].pk}


@pytest.mark.parametrize("path", GET_VIEWS)
def test_reading_another_tenants_objects_is_404(signed_in, partner, foreign, path):
    client = signed_in(partner, PortalRole.ADMIN)
    assert client.get(PORTAL + path.format(**_ids(foreign))).status_code == 404


@pytest.mark.parametrize("path", POST_VIEWS)
def test_changing_another_tenants_objects_is_404_and_changes_nothing(signed_in, partner, foreign, path):
    client = signed_in(partner, PortalRole.ADMIN)
    audit_before = AuditEntry.objects.count()
    response = client.post(PORTAL + path.format(**_ids(foreign)),
                           {"since": "2020-01-01T00:00", "password": "portal-test-password", "isEnabled": "false"})
    assert response.status_code == 404
    subscription = EventSubscription.objects.get(pk=foreign["subscription"].pk)
    assert subscription.is_enabled and not subscription.previous_secret_encrypted
    assert WebhookDelivery.objects.get(pk=foreign["delivery"].pk).status == DeliveryStatus.FAILED
    assert ApiToken.objects.get(pk=foreign["token"].pk).revoked_at is None
    assert WebhookDelivery.objects.filter(partner=foreign["subscription"].partner).count() == 1
    assert AuditEntry.objects.count() == audit_before


def test_lists_show_only_the_own_tenant(signed_in, partner, foreign):
    client = signed_in(partner, PortalRole.ADMIN)
    for path in ("", "subscriptions/", "deliveries/", "tokens/", "audit/", "verify/"):
        body = client.get(PORTAL + path).content.decode()
        assert "globex" not in body.lower(), path
        assert foreign["event"].event_id not in body
    # Searching the log for another tenant's eventId finds nothing.
    body = client.get(PORTAL + "deliveries/", {"event_id": foreign["event"].event_id}).content.decode()
    assert "No deliveries match" in body


def test_the_verify_helper_cannot_use_another_tenants_secret(signed_in, partner, foreign):
    client = signed_in(partner)
    response = client.post(PORTAL + "verify/", {"event_name": foreign["subscription"].event_name,
                                                "headers": "webhook-id: x", "body": "{}"})
    assert response.status_code == 400
    assert "Choose one of your subscriptions" in response.content.decode()
