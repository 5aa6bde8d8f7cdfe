"""Ops commands of the pipeline, through call_command, including --json and exit codes."""

import io
import json
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.models import DeadLetter, DeliveryStatus, Event, OutboxMessage, WebhookDelivery
from tests.factories import EventSubscriptionFactory, PartnerFactory
from tests.notifications.helpers import kafka_message

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=io.StringIO())
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue()


@pytest.fixture
def acme():
    partner = PartnerFactory(tenant_id="acme")
    EventSubscriptionFactory(partner=partner, event_name="ALL_EVENTS")
    return partner


def test_replay_deliveries_json(acme):
    ingest_batch([RawMessage(value=json.dumps(kafka_message()).encode(), offset=i) for i in range(3)])
    WebhookDelivery.objects.update(status=DeliveryStatus.FAILED)
    with mock.patch("notifications.queue.enqueue_deliveries", return_value=1):
        code, dry = run("replay_deliveries", "--tenant", "acme", "--since", "1h", "--dry-run", "--json")
        assert code == 0
        assert json.loads(dry) == {"matched": 3, "replayed": 0, "tasks": 0, "dry_run": True}
        code, out = run("replay_deliveries", "--tenant", "acme", "--json")
    assert code == 0
    assert json.loads(out)["replayed"] == 3
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PENDING}


def test_replay_deliveries_rejects_bad_arguments(acme):
    with pytest.raises(CommandError, match="Unknown tenant"):
        call_command("replay_deliveries", "--tenant", "nobody")
    with pytest.raises(CommandError, match="neither an ISO"):
        call_command("replay_deliveries", "--since", "last tuesday")


def test_redrive_dead_letters_ingests_fixed_ones_and_reports_the_rest(acme):
    ghost = kafka_message(tenant_id="ghost")
    ingest_batch([RawMessage(value=json.dumps(ghost).encode(), topic="t", partition=0, offset=1),
                  RawMessage(value=b"garbage", topic="t", partition=0, offset=2)])
    assert DeadLetter.objects.count() == 2
    PartnerFactory(tenant_id="ghost")  # the missing tenant now exists: its message can be ingested
    with mock.patch("notifications.queue.enqueue_deliveries"):
        code, out = run("redrive_dead_letters", "--all", "--json")
    report = json.loads(out)
    assert code == 1  # one is still failing
    assert (report["redriven"], report["failed"]) == (1, 1)
    assert Event.objects.filter(event_id=ghost["eventId"]).exists()
    assert DeadLetter.objects.get(offset=1).status == DeadLetter.Status.REDRIVEN
    assert DeadLetter.objects.get(offset=2).status == DeadLetter.Status.OPEN


def test_redrive_uses_the_corrected_payload(acme):
    ingest_batch([RawMessage(value=b'{"eventId": "x"}', topic="t", partition=0, offset=5)])
    letter = DeadLetter.objects.get()
    letter.fixed_value = json.dumps(kafka_message(eventId="fixed-1")).encode()
    letter.save()
    with mock.patch("notifications.queue.enqueue_deliveries"):
        code, _ = run("redrive_dead_letters", "--id", str(letter.pk))
    assert code == 0
    assert Event.objects.filter(event_id="fixed-1").exists()
    assert bytes(DeadLetter.objects.get().raw_value) == b'{"eventId": "x"}'  # evidence kept


def test_publish_event_validates_input(acme):
    with pytest.raises(CommandError, match="Unknown event name"):
        call_command("publish_event", "--tenant", "acme", "--event-name", "NOPE")
    with pytest.raises(CommandError, match="not JSON"):
        call_command("publish_event", "--tenant", "acme", "--event-name", "CARD_RENEWAL", "--data", "{x")
    with pytest.raises(CommandError, match="Unknown tenant"):
        call_command("publish_event", "--tenant", "zzz", "--event-name", "CARD_RENEWAL")


@pytest.mark.e2e
def test_publish_event_reaches_the_topic(acme, kafka_topic, tansu_broker):
    from confluent_kafka import Consumer

    code, out = run("publish_event", "--tenant", "acme", "--event-name", "CARD_RENEWAL", "--entity-id", "card-1",
                    "--data", '{"kitNo": "K1"}', "--json")
    assert code == 0
    event_id = json.loads(out)["eventId"]
    assert OutboxMessage.objects.get(event_id=event_id).published_at is not None
    consumer = Consumer({"bootstrap.servers": tansu_broker.bootstrap, "group.id": "check",
                         "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    consumer.subscribe([kafka_topic])
    message = None
    for _ in range(40):
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            break
    consumer.close()
    payload = json.loads(message.value())
    assert payload["eventId"] == event_id
    assert payload["tenantId"] == "acme"
    assert payload["entityId"] == "card-1"
    assert message.key() == b"card-1"
