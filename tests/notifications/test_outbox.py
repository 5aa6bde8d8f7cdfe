"""Producer side: publish_event writes to the outbox with the business change and publishes after commit."""

import json

import pytest
from django.db import transaction

from notifications import outbox
from notifications.models import OutboxMessage
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_rolled_back_change_publishes_nothing():
    acme = PartnerFactory(tenant_id="acme")

    def change_that_fails():
        with transaction.atomic():
            outbox.publish_event(partner=acme, event_name="CARD_RENEWAL", data={"kitNo": "K1"})
            raise RuntimeError("the business change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert not OutboxMessage.objects.exists()


def test_unknown_event_name_is_a_programming_error():
    acme = PartnerFactory(tenant_id="acme")
    with pytest.raises(ValueError, match="Unknown event name"):
        outbox.publish_event(partner=acme, event_name="NOPE", data={})


@pytest.mark.e2e
def test_pending_outbox_rows_are_published_and_marked(kafka_topic, tansu_broker):
    from confluent_kafka import Consumer

    acme = PartnerFactory(tenant_id="acme")
    with transaction.atomic():
        rows = [outbox.publish_event(partner=acme, event_name="CARD_RENEWAL", data={"kitNo": f"K{i}"},
                                       entity_id="card-1") for i in range(3)]
    assert outbox.outbox_publish_pending() == 3
    assert OutboxMessage.objects.filter(published_at__isnull=True).count() == 0
    assert outbox.outbox_publish_pending() == 0  # nothing twice

    consumer = Consumer({"bootstrap.servers": tansu_broker.bootstrap, "group.id": "outbox-check",
                         "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    consumer.subscribe([kafka_topic])
    seen = []
    for _ in range(60):
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            seen.append(json.loads(message.value()))
        if len(seen) == 3:
            break
    consumer.close()
    assert [m["eventId"] for m in seen] == [r.event_id for r in rows]  # one key: one partition, in order
    assert all(m["tenantId"] == "acme" and m["entityId"] == "card-1" for m in seen)


def test_broker_down_leaves_rows_pending_with_the_error(settings):
    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:1"
    acme = PartnerFactory(tenant_id="acme")
    outbox.publish_event(partner=acme, event_name="CARD_RENEWAL", data={"kitNo": "K1"})
    assert outbox.outbox_publish_pending(flush_timeout=1.0) == 0
    row = OutboxMessage.objects.get()
    assert row.published_at is None
    assert row.publish_attempts == 1
    assert row.last_error
