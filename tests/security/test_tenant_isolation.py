"""Tenant isolation across the security-relevant surfaces: a token works for its own tenant only, another tenant's
subscriptions, secrets, events and deliveries are 404 (not 403: their existence is not revealed), and an event of
one tenant is never delivered to another tenant's endpoint. (Wallet, card and template isolation is tested in
tests/wallets and tests/templates_app.)"""

import json

import pytest

from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.models import WebhookDelivery
from tests.factories import EventSubscriptionFactory, PartnerFactory
from tests.notifications.helpers import deliver_as_task, kafka_message

pytestmark = pytest.mark.django_db

API = "/prepaid/auth/v1/"


@pytest.fixture
def globex(db):
    return PartnerFactory(tenant_id="globex", name="Globex Cards")


def test_a_token_is_valid_for_its_own_tenant_only(acme, globex, make_client):
    acme_token_claiming_globex = make_client(acme, tenant_id="globex")
    response = acme_token_claiming_globex.get(f"{API}event-subscriptions/")
    assert response.status_code == 403
    no_tenant_header = make_client(acme)
    no_tenant_header.credentials(HTTP_AUTHORIZATION=f"Bearer {no_tenant_header.raw_token}")
    assert no_tenant_header.get(f"{API}event-subscriptions/").status_code == 403


def test_another_tenants_objects_are_404(acme, globex, make_client, webhook_receiver):
    EventSubscriptionFactory(partner=acme, destination=webhook_receiver.url())
    message = kafka_message(tenant_id="acme")
    ingest_batch([RawMessage(value=json.dumps(message).encode())])
    acme_delivery = WebhookDelivery.objects.get()
    intruder = make_client(globex, level=3)

    for method, path in [
        ("get", "event-subscriptions/TRANSACTION_NOTIFICATION"),
        ("get", "event-subscriptions/TRANSACTION_NOTIFICATION/secret"),
        ("post", "event-subscriptions/TRANSACTION_NOTIFICATION/secret/rotate"),
        ("delete", "event-subscriptions/TRANSACTION_NOTIFICATION"),
        ("get", f"events/{message['eventId']}"),
        ("get", f"events/{message['eventId']}/deliveries"),
        ("post", f"deliveries/{acme_delivery.pk}/retry"),
    ]:
        response = getattr(intruder, method)(f"{API}{path}")
        assert response.status_code == 404, (method, path, response.status_code)
    put = intruder.put(f"{API}event-subscriptions/", {"eventName": "TRANSACTION_NOTIFICATION", "isEnabled": False},
                       format="json")
    assert put.status_code == 404
    assert intruder.get(f"{API}event-subscriptions/").json()["count"] == 0
    assert intruder.get(f"{API}events/").json()["results"] == []


def test_an_event_goes_only_to_its_own_tenants_endpoint(acme, globex, webhook_receiver):
    acme_sub = EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", destination=webhook_receiver.url("/a"))
    EventSubscriptionFactory(partner=globex, event_name="ALL_EVENTS", destination=webhook_receiver.url("/g"))
    message = kafka_message(tenant_id="acme")
    result = ingest_batch([RawMessage(value=json.dumps(message).encode())])
    assert list(result.deliveries_by_subscription) == [acme_sub.pk]
    deliver_as_task(result.deliveries_by_subscription[acme_sub.pk])
    assert [r.path for r in webhook_receiver.requests] == ["/a"]
    assert webhook_receiver.requests[0].json()["tenantId"] == "acme"
