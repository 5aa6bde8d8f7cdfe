"""One message that makes ingest raise (a bug it triggers, data PostgreSQL refuses) is dead-lettered with the error
as its reason; the rest of its batch is ingested and the bridge goes on."""

import json

import pytest

from notifications.ingest import batch
from notifications.ingest.parsing import RawMessage
from notifications.models import DeadLetter, Event
from tests.factories import EventSubscriptionFactory, PartnerFactory
from tests.notifications.helpers import kafka_message

pytestmark = pytest.mark.django_db


def test_a_message_that_crashes_ingest_is_dead_lettered_and_the_rest_ingested(monkeypatch):
    acme = PartnerFactory(tenant_id="acme")
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS")
    messages = [kafka_message("acme", eventId=f"ok-{i}") for i in range(3)]
    messages.insert(1, kafka_message("acme", eventId="poison"))
    real_body = batch.webhook_body

    def body(**fields):
        if fields["event_id"] == "poison":
            raise RecursionError("maximum recursion depth exceeded")
        return real_body(**fields)

    monkeypatch.setattr(batch, "webhook_body", body)
    raws = [RawMessage(value=json.dumps(m).encode(), topic="t", partition=0, offset=i) for i, m in enumerate(messages)]
    result = batch.ingest_batch_isolating(raws)

    assert (result.events_created, result.dead_lettered) == (3, 1)
    assert sorted(Event.objects.values_list("event_id", flat=True)) == ["ok-0", "ok-1", "ok-2"]
    letter = DeadLetter.objects.get()
    assert (letter.reason_code, letter.offset) == ("ingest_failed", 1)
    assert "RecursionError" in letter.reason
    assert len(result.delivery_batches) == 3


def test_a_database_outage_is_not_dead_lettered_but_raised_for_the_bridge_to_retry(monkeypatch):
    from django.db import OperationalError

    PartnerFactory(tenant_id="acme")

    def down(_messages):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(batch, "ingest_batch", down)
    with pytest.raises(OperationalError):
        batch.ingest_batch_isolating([RawMessage(value=json.dumps(kafka_message("acme")).encode())])
    assert not DeadLetter.objects.exists()
