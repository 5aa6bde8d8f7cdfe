"""Partner API: events, deliveries with attempts, retry, subscription test."""

import json
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.models import DeliveryAttempt, DeliveryStatus, WebhookDelivery
from tests.factories import EventSubscriptionFactory, PartnerFactory
from tests.notifications.helpers import kafka_message

pytestmark = pytest.mark.django_db
BASE = "/prepaid/auth/v1"


def ingest(*messages):
    return ingest_batch([RawMessage(value=json.dumps(m).encode(), offset=i) for i, m in enumerate(messages)])


@pytest.fixture
def subscription(partner):
    return EventSubscriptionFactory(partner=partner, event_name="ALL_EVENTS")


def test_events_list_is_scoped_paginated_and_filterable(api_client, partner, subscription):
    other = PartnerFactory(tenant_id="other")
    mine = [kafka_message(), kafka_message(event_name="KIT_STATUS_UPDATE", entityId="card-9")]
    ingest(*mine, kafka_message(tenant_id=other.tenant_id))
    response = api_client.get(f"{BASE}/events/")
    assert response.status_code == 200
    ids = [e["eventId"] for e in response.json()["results"]]
    assert ids == [mine[1]["eventId"], mine[0]["eventId"]]  # newest first, other tenant's never listed
    # Ingest hands each delivery to the task it enqueues: in progress from the start.
    assert response.json()["results"][0]["deliveryStatuses"] == {"SENDING": 1}
    filtered = api_client.get(f"{BASE}/events/", {"eventName": "KIT_STATUS_UPDATE"}).json()["results"]
    assert [e["entityId"] for e in filtered] == ["card-9"]
    assert api_client.get(f"{BASE}/events/", {"entityId": "card-9"}).json()["results"][0]["sequence"] == 1


def test_events_list_query_count_does_not_grow_with_rows(api_client, partner, subscription):
    ingest(*[kafka_message() for _ in range(3)])
    api_client.get(f"{BASE}/events/")  # first use of the token also records last_used_at
    with CaptureQueriesContext(connection) as few:
        api_client.get(f"{BASE}/events/")
    ingest(*[kafka_message() for _ in range(20)])
    with CaptureQueriesContext(connection) as many:
        assert len(api_client.get(f"{BASE}/events/").json()["results"]) == 23
    assert len(many) == len(few)


def test_bad_filters_are_400_with_field_errors(api_client):
    response = api_client.get(f"{BASE}/events/", {"eventName": "NOPE", "since": "yesterday"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"eventName", "since"}


def test_event_detail_shows_deliveries_attempts_and_messages(api_client, partner, subscription):
    message = kafka_message()
    ingest(message)
    delivery = WebhookDelivery.objects.get()
    DeliveryAttempt.objects.create(delivery=delivery, attempt_number=1, started_at=delivery.created_at,
                                   duration_ms=12, status_code=500, response_body="nope")
    body = api_client.get(f"{BASE}/events/{message['eventId']}").json()
    assert body["eventId"] == message["eventId"]
    assert body["deliveries"][0]["attempts"][0]["statusCode"] == 500
    assert body["deliveries"][0]["destination"] == subscription.destination
    assert "messages" in body
    listed = api_client.get(f"{BASE}/events/{message['eventId']}/deliveries").json()
    assert listed[0]["attempts"][0]["responseBody"] == "nope"


def test_another_tenants_event_is_404(api_client, make_client, partner, subscription):
    message = kafka_message()
    ingest(message)
    stranger = make_client(PartnerFactory(tenant_id="stranger"))
    assert stranger.get(f"{BASE}/events/{message['eventId']}").status_code == 404
    assert stranger.post(f"{BASE}/deliveries/{WebhookDelivery.objects.get().pk}/retry").status_code == 404


def test_retry_resets_a_failed_delivery_and_enqueues_it(api_client, partner, subscription):
    ingest(kafka_message())
    WebhookDelivery.objects.update(status=DeliveryStatus.FAILED, attempt_count=6)
    delivery = WebhookDelivery.objects.get()
    with mock.patch("notifications.queue.enqueue_deliveries") as enqueue, \
         api_client_commit_hooks():
        response = api_client.post(f"{BASE}/deliveries/{delivery.pk}/retry")
    assert response.status_code == 202
    assert response.json()["status"] == "PENDING"
    delivery.refresh_from_db()
    assert delivery.attempts_before_replay == 6
    enqueue.assert_called_once_with({subscription.pk: [delivery.pk]})


def test_retry_of_an_in_flight_delivery_is_409(api_client, partner, subscription):
    ingest(kafka_message())
    WebhookDelivery.objects.update(status=DeliveryStatus.SENDING)
    response = api_client.post(f"{BASE}/deliveries/{WebhookDelivery.objects.get().pk}/retry")
    assert response.status_code == 409


def test_read_only_token_cannot_retry(make_client, partner, subscription):
    ingest(kafka_message())
    reader = make_client(partner, level=1)
    assert reader.get(f"{BASE}/events/").status_code == 200
    response = reader.post(f"{BASE}/deliveries/{WebhookDelivery.objects.get().pk}/retry")
    assert response.status_code == 403
    assert "level 2" in response.json()["error"]["message"]


def test_subscription_test_sends_a_signed_sample(api_client, partner, subscription):
    with mock.patch("notifications.queue.enqueue_deliveries") as enqueue, api_client_commit_hooks():
        response = api_client.post(f"{BASE}/event-subscriptions/ALL_EVENTS/test")
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get(pk=response.json()["deliveryId"])
    assert delivery.event.event_name == "WEBHOOK_TEST"
    assert json.loads(delivery.event.body)["eventId"] == response.json()["eventId"]
    enqueue.assert_called_once()
    assert api_client.post(f"{BASE}/event-subscriptions/CARD_RENEWAL/test").status_code == 404


def test_unauthenticated_requests_are_401(client):
    assert client.get(f"{BASE}/events/").status_code == 401


def api_client_commit_hooks():
    """Run on_commit callbacks inside the test transaction."""
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)
