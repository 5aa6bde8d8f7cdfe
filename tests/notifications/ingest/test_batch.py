"""Ingest without Kafka: validation, dead letters, idempotency, sequences, subscription matching."""

import json

import pytest

from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage, parse_message
from notifications.models import DeadLetter, Event, WebhookDelivery
from tests.factories import EventSubscriptionFactory, PartnerFactory
from tests.notifications.helpers import kafka_message

pytestmark = pytest.mark.django_db


def raw(value, offset=0, **kw) -> RawMessage:
    if isinstance(value, dict):
        value = json.dumps(value).encode()
    return RawMessage(value=value, topic="t", partition=0, offset=offset, **kw)


@pytest.fixture
def acme():
    return PartnerFactory(tenant_id="acme")


BAD_MESSAGES = [
    (None, "empty"),
    (b"\xff\xfe", "not_utf8"),
    (b"{oops", "not_json"),
    (b'"a string"', "not_an_object"),
    (b"[]", "not_an_object"),
    (b"{}", "missing_field"),
    ({**kafka_message(), "eventId": 42}, "mistyped_field"),
    ({**kafka_message(), "eventId": ""}, "missing_field"),
    ({**kafka_message(), "eventId": "x" * 200}, "mistyped_field"),
    ({**kafka_message(), "occurredAt": "yesterday"}, "mistyped_field"),
    ({**kafka_message(), "occurredAt": "2026-02-12T10:30:00"}, "mistyped_field"),
    ({**kafka_message(), "data": [1]}, "mistyped_field"),
    ({**kafka_message(), "data": None}, "missing_field"),
    ({**kafka_message(), "entityId": 7}, "mistyped_field"),
    ({**kafka_message(), "eventName": "NOPE"}, "unknown_event_name"),
    (b'{"a": ' * 5000 + b"1" + b"}" * 5000, "not_json"),
]


@pytest.mark.parametrize(("value", "code"), BAD_MESSAGES)
def test_each_bad_message_is_dead_lettered_with_its_reason(acme, value, code):
    result = ingest_batch([raw(value, offset=3, key=b"k1")])
    assert result.dead_lettered == 1 and result.events_created == 0
    letter = DeadLetter.objects.get()
    assert letter.reason_code == code
    assert letter.reason  # readable text
    assert (letter.topic, letter.partition, letter.offset, bytes(letter.key)) == ("t", 0, 3, b"k1")
    expected = value if isinstance(value, bytes) else (json.dumps(value).encode() if value is not None else b"")
    assert bytes(letter.raw_value) == expected


def test_oversized_message_is_dead_lettered(acme, settings):
    settings.KAFKA_MAX_MESSAGE_BYTES = 1000
    message = kafka_message(data={"blob": "x" * 2000})
    ingest_batch([raw(message)])
    assert DeadLetter.objects.get().reason_code == "oversized"


def test_unknown_and_inactive_tenants_are_dead_lettered(acme):
    PartnerFactory(tenant_id="sleepy", is_active=False)
    ingest_batch([raw(kafka_message(tenant_id="ghost"), 0), raw(kafka_message(tenant_id="sleepy"), 1)])
    assert sorted(DeadLetter.objects.values_list("reason_code", flat=True)) == ["unknown_tenant", "unknown_tenant"]


def test_same_dead_letter_position_read_twice_is_stored_once(acme):
    ingest_batch([raw(b"nope", offset=9)])
    ingest_batch([raw(b"nope", offset=9)])
    assert DeadLetter.objects.count() == 1


def test_repeated_event_id_creates_nothing_new(acme):
    EventSubscriptionFactory(partner=acme)
    message = kafka_message()
    first = ingest_batch([raw(message), raw(message, 1)])
    second = ingest_batch([raw(message, 2)])
    assert (first.events_created, first.duplicates) == (1, 1)
    assert (second.events_created, second.duplicates) == (0, 1)
    assert Event.objects.count() == 1 and WebhookDelivery.objects.count() == 1


def test_deliveries_only_for_enabled_matching_subscriptions_of_the_tenant(acme):
    other = PartnerFactory(tenant_id="other")
    wanted = EventSubscriptionFactory(partner=acme, event_name="TRANSACTION_NOTIFICATION")
    everything = EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS")
    EventSubscriptionFactory(partner=acme, event_name="KIT_STATUS_UPDATE")
    EventSubscriptionFactory(partner=acme, event_name="CARD_RENEWAL", is_enabled=False)
    EventSubscriptionFactory(partner=other, event_name="TRANSACTION_NOTIFICATION")
    result = ingest_batch([raw(kafka_message())])
    subs = set(WebhookDelivery.objects.values_list("subscription_id", flat=True))
    assert subs == {wanted.pk, everything.pk}
    assert set(result.deliveries_by_subscription) == subs


def test_advance_event_goes_only_to_subscriptions_asking_for_its_period(acme):
    thirty = EventSubscriptionFactory(
        partner=acme, event_name="KIT_EXPIRY_ADVANCE_NOTIFICATION", advance_notification_periods=[30]
    )
    message = kafka_message(event_name="KIT_EXPIRY_ADVANCE_NOTIFICATION", data={"kitNo": "K1", "daysBefore": 7})
    ingest_batch([raw(message)])
    assert not WebhookDelivery.objects.exists()
    message = kafka_message(event_name="KIT_EXPIRY_ADVANCE_NOTIFICATION", data={"kitNo": "K1", "daysBefore": 30})
    ingest_batch([raw(message, 1)])
    assert WebhookDelivery.objects.get().subscription == thirty
    assert Event.objects.get(event_id=message["eventId"]).event_type == "ADVANCE"


def test_sequences_count_per_tenant_and_entity_across_batches(acme):
    other = PartnerFactory(tenant_id="other")
    batch = [
        raw(kafka_message(entityId="card-A"), 0),
        raw(kafka_message(entityId="card-B"), 1),
        raw(kafka_message(entityId="card-A"), 2),
        raw(kafka_message(tenant_id="other", entityId="card-A"), 3),
        raw(kafka_message(), 4),
    ]
    ingest_batch(batch)
    ingest_batch([raw(kafka_message(entityId="card-A"), 5)])
    seq = lambda p, e: list(  # noqa: E731
        Event.objects.filter(partner=p, entity_id=e).order_by("id").values_list("sequence", flat=True)
    )
    assert seq(acme, "card-A") == [1, 2, 3]
    assert seq(acme, "card-B") == [1]
    assert seq(other, "card-A") == [1]
    assert Event.objects.get(entity_id="").sequence is None
    body = json.loads(Event.objects.filter(entity_id="card-A", partner=acme).order_by("id").last().body)
    assert body["sequence"] == 3 and body["entityId"] == "card-A"


def test_webhook_body_follows_the_envelope_contract(acme):
    message = kafka_message(occurredAt="2026-02-12T16:00:00+05:30")
    ingest_batch([raw(message)])
    body = json.loads(Event.objects.get().body)
    assert body == {
        "eventId": message["eventId"],
        "eventName": "TRANSACTION_NOTIFICATION",
        "eventType": "INSTANT",
        "tenantId": "acme",
        "occurredAt": "2026-02-12T10:30:00Z",
        "data": message["data"],
    }


def test_parse_message_accepts_the_design_example():
    example = (
        b'{"eventId": "6f0c2a8e-3f7e-4c61-9a55-0f4b0c9d2e11", "eventName": "TRANSACTION_NOTIFICATION",'
        b' "tenantId": "acme", "occurredAt": "2026-02-12T10:30:00Z",'
        b' "data": {"kitNo": "K0001", "amount": "125.50", "currency": "INR"}}'
    )
    parsed = parse_message(RawMessage(value=example))
    assert parsed.event_id == "6f0c2a8e-3f7e-4c61-9a55-0f4b0c9d2e11" and parsed.data["amount"] == "125.50"


def test_ingest_writes_every_column_of_events_and_deliveries():
    """The COPY column lists are written by hand: a field added to either model must be added there too."""
    from notifications.ingest.sql import EVENT_COLUMNS
    from notifications.webhooks.planning import DELIVERY_COLUMNS

    assert sorted(EVENT_COLUMNS) == sorted(f.column for f in Event._meta.concrete_fields)
    assert sorted(DELIVERY_COLUMNS) == sorted(f.column for f in WebhookDelivery._meta.concrete_fields)


def test_an_ingested_event_reads_back_as_written(acme):
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS")
    message = kafka_message(entityId="card-1", data={"kitNo": "K1", "big": 123456789012345678901234567890})
    ingest_batch([raw(message, timestamp_ms=1_770_000_000_000)])
    event = Event.objects.get(event_id=message["eventId"])
    assert event.data == message["data"] and json.loads(event.body)["data"] == message["data"]
    assert (event.entity_id, event.sequence, event.event_type) == ("card-1", 1, "INSTANT")
    assert (event.source_topic, event.source_partition, event.source_offset) == ("t", 0, 0)
    assert event.source_timestamp.timestamp() == 1_770_000_000
    d = WebhookDelivery.objects.get(event=event)
    assert (d.partner_id, d.next_attempt_at, d.created_at) == (acme.pk, event.received_at, event.received_at)
