"""The whole path with real processes: Tansu → kafka_bridge → PostgreSQL → Redis → Celery worker → HTTP receiver."""

import json

import pytest
from standardwebhooks import Webhook

from notifications.models import DeadLetter, DeliveryAttempt, DeliveryStatus, Event, WebhookDelivery
from tests.factories import EventSubscriptionFactory, PartnerFactory
from tests.fixtures.processes import wait_until
from tests.notifications.helpers import kafka_message

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def acme(transactional_db):
    return PartnerFactory(tenant_id="acme")


def test_event_on_topic_is_delivered_signed(acme, kafka_topic, tansu_broker, webhook_receiver, start_worker,
                                            start_bridge):
    subscription = EventSubscriptionFactory(
        partner=acme, event_name="TRANSACTION_NOTIFICATION", destination=webhook_receiver.url()
    )
    start_worker()
    start_bridge()
    message = kafka_message(entityId="card-1")
    tansu_broker.produce(kafka_topic, [message], keys=["card-1"])

    (request,) = webhook_receiver.wait_for_count(1, timeout=40)
    # Verified with the reference Standard Webhooks library, not our own code.
    payload = Webhook(subscription.secret).verify(request.body, request.headers)
    assert payload["eventId"] == message["eventId"]
    assert payload["eventType"] == "INSTANT"
    assert payload["tenantId"] == "acme"
    assert payload["data"] == message["data"]
    assert payload["entityId"] == "card-1"
    assert payload["sequence"] == 1
    assert request.headers["webhook-id"] == message["eventId"]
    assert request.headers["content-type"] == "application/json"

    wait_until(lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 1, 10)
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code == 204 and attempt.succeeded and attempt.attempt_number == 1


def test_duplicates_are_delivered_once_and_bad_messages_dead_lettered(
    acme, kafka_topic, tansu_broker, webhook_receiver, start_worker, start_bridge
):
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", destination=webhook_receiver.url())
    good = kafka_message()
    after_bad = kafka_message(event_name="KIT_STATUS_UPDATE")
    values = [
        good,
        good,  # exact repeat
        b"\xff\xfe not utf-8",
        b"{not json",
        b"[1, 2, 3]",
        {**kafka_message(), "eventName": "NO_SUCH_EVENT"},
        {**kafka_message(), "tenantId": "nobody"},
        {k: v for k, v in kafka_message().items() if k != "occurredAt"},
        {**kafka_message(), "data": "not-an-object"},
        after_bad,
    ]
    # One key: one partition, so the good message after the bad ones proves the bridge went on.
    tansu_broker.produce(kafka_topic, values, keys=["same"] * len(values))
    start_worker()
    start_bridge()

    webhook_receiver.wait_for_count(2, timeout=40)
    wait_until(lambda: DeadLetter.objects.count() == 7, 20, message="7 dead letters")
    assert sorted(webhook_receiver.ids()) == sorted([good["eventId"], after_bad["eventId"]])
    assert Event.objects.count() == 2
    reasons = dict(DeadLetter.objects.values_list("reason_code", "raw_value"))
    assert set(reasons) == {"not_utf8", "not_json", "not_an_object", "unknown_event_name", "unknown_tenant",
                            "missing_field", "mistyped_field"}
    assert bytes(reasons["not_json"]) == b"{not json"
    letter = DeadLetter.objects.get(reason_code="missing_field")
    assert "occurredAt" in letter.reason and letter.topic == kafka_topic and letter.offset >= 0
    assert json.loads(bytes(letter.raw_value))["tenantId"] == "acme"
