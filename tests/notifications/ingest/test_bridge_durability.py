"""Nothing is lost when Redis forgets, a worker dies mid-send, or the bridge is killed mid-stream."""

import signal
import sys
import time

import pytest
import redis

from notifications.models import DeliveryStatus, Event, WebhookDelivery
from tests.factories import EventSubscriptionFactory, PartnerFactory
from tests.fixtures.processes import wait_until
from tests.notifications.helpers import kafka_message

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FAST_RECOVERY = {"DELIVERY_LEASE_SECONDS": "3", "REQUEUE_INTERVAL_SECONDS": "1", "REQUEUE_GRACE_SECONDS": "1"}


def succeeded() -> int:
    return WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count()


def test_worker_killed_and_redis_flushed_mid_run_lose_nothing(
    kafka_topic, tansu_broker, webhook_receiver, start_worker, start_bridge, start_process, settings, tmp_path
):
    acme = PartnerFactory(tenant_id="acme")
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", destination=webhook_receiver.url())
    webhook_receiver.respond = lambda request: (204, {}, 0.3)  # slow enough to catch the worker mid-send
    messages = [kafka_message() for _ in range(40)]
    worker = start_worker(concurrency=2, **FAST_RECOVERY)
    start_bridge(**FAST_RECOVERY)
    tansu_broker.produce(kafka_topic, messages)

    webhook_receiver.wait_for_count(3, timeout=40)
    worker.signal(signal.SIGKILL)
    redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # every queued task is gone
    assert succeeded() < 40

    start_worker(concurrency=4, **FAST_RECOVERY)
    start_beat(start_process, tmp_path)
    wait_until(lambda: succeeded() == 40, 90, message="every delivery to succeed after the crash")
    assert set(webhook_receiver.ids()) == {m["eventId"] for m in messages}
    assert WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).count() == 0


def start_beat(start_process, tmp_path):
    """The real beat: its re-enqueue sweep finds work whose task was lost."""
    return start_process("celery-beat", [sys.executable, "-m", "celery", "-A", "config.celery_app", "beat",
                                         "-s", str(tmp_path / "beat-schedule"), "-l", "INFO"], **FAST_RECOVERY)


def test_bridge_killed_mid_stream_loses_nothing_and_repeats_are_absorbed(
    kafka_topic, tansu_broker, webhook_receiver, start_worker, start_bridge, start_process, tmp_path
):
    acme = PartnerFactory(tenant_id="acme")
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", destination=webhook_receiver.url())
    messages = [kafka_message(entityId=f"card-{i % 7}") for i in range(600)]
    tansu_broker.produce(kafka_topic, messages, keys=[m["entityId"] for m in messages])
    start_worker(**FAST_RECOVERY)
    # A kill between the batch's commit and its enqueue leaves deliveries without a task: beat's sweep finds them.
    start_beat(start_process, tmp_path)
    bridge = start_bridge(batch_size=10, **FAST_RECOVERY)
    wait_until(lambda: Event.objects.count() >= 50, 60, message="the bridge to ingest some events")
    bridge.signal(signal.SIGKILL)
    assert Event.objects.count() < 600

    start_bridge(batch_size=100, **FAST_RECOVERY)
    wait_until(lambda: succeeded() == 600, 90, message="every event delivered after the restart")
    assert Event.objects.count() == 600
    assert WebhookDelivery.objects.count() == 600
    assert set(webhook_receiver.ids()) == {m["eventId"] for m in messages}
    # Per-entity sequences have no gaps or repeats despite the crash.
    for entity in {m["entityId"] for m in messages}:
        sequences = list(Event.objects.filter(entity_id=entity).order_by("sequence").values_list("sequence", flat=True))
        assert sequences == list(range(1, len(sequences) + 1))


def test_sigterm_finishes_the_batch_commits_and_exits_zero(kafka_topic, tansu_broker, start_bridge):
    PartnerFactory(tenant_id="acme")
    messages = [kafka_message() for _ in range(30)]
    tansu_broker.produce(kafka_topic, messages)
    bridge = start_bridge(batch_size=5)
    wait_until(lambda: Event.objects.count() == 30, 60, message="all events ingested")
    assert bridge.stop() == 0
    assert "stopped after 30 messages" in bridge.output()
    # Offsets are committed asynchronously batch by batch and confirmed on stop: the group's next bridge starts
    # after the last message instead of re-reading any.
    successor = start_bridge(batch_size=5)
    wait_until(lambda: "Assigned partitions" in successor.output(), 60, message="the successor assigned")
    time.sleep(2)  # time to fetch anything left uncommitted (it would be re-read at once)
    assert successor.stop() == 0
    assert "stopped after 0 messages" in successor.output()


def test_two_bridges_in_one_group_share_the_partitions(kafka_topic, tansu_broker, start_bridge):
    PartnerFactory(tenant_id="acme")
    first, second = start_bridge(batch_size=20), start_bridge(batch_size=20)
    messages = [kafka_message(entityId=f"e{i}") for i in range(300)]
    tansu_broker.produce(kafka_topic, messages, keys=[m["entityId"] for m in messages])
    wait_until(lambda: Event.objects.count() == 300, 90, message="all events ingested")
    wait_until(lambda: "Assigned partitions" in first.output() and "Assigned partitions" in second.output(), 30,
               message="both bridges assigned")
    assert Event.objects.count() == 300  # each event once, whoever read it
    assigned = [line for b in (first, second) for line in b.output().splitlines() if "Assigned partitions" in line]
    assert len(assigned) >= 2


def test_a_worker_keeps_delivering_after_its_database_connections_are_cut(
    kafka_topic, tansu_broker, webhook_receiver, start_worker, start_bridge
):
    """PostgreSQL restarted or failed over: every connection the worker held is gone. Each task must start on a
    working connection (Celery alone would keep the broken one for thousands of tasks)."""
    from django.db import connection

    acme = PartnerFactory(tenant_id="acme")
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", destination=webhook_receiver.url())
    start_worker(concurrency=2, CONN_MAX_AGE="600")
    start_bridge()
    first = [kafka_message() for _ in range(10)]
    tansu_broker.produce(kafka_topic, first)
    wait_until(lambda: succeeded() == 10, 60, message="the first deliveries")

    with connection.cursor() as cursor:  # every other backend of the test database: the worker's and the bridge's
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    second = [kafka_message() for _ in range(10)]
    tansu_broker.produce(kafka_topic, second)
    wait_until(lambda: succeeded() == 20, 60, message="deliveries after the connections were cut")
    assert set(webhook_receiver.ids()) == {m["eventId"] for m in first + second}
