"""Kafka client configuration in one place (confluent-kafka)."""

from confluent_kafka import Consumer, Producer
from django.conf import settings


def producer_config(**overrides) -> dict:
    return {
        "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
        "enable.idempotence": True,
        "linger.ms": 5,
        "message.timeout.ms": 30000,
        **overrides,
    }


def make_producer(**overrides) -> Producer:
    return Producer(producer_config(**overrides))


def consumer_config(group_id: str, **overrides) -> dict:
    return {
        "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
        "group.id": group_id,
        # Offsets are committed by hand, only after the database transaction for the batch committed.
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": settings.KAFKA_SESSION_TIMEOUT_MS,
        "heartbeat.interval.ms": max(500, settings.KAFKA_SESSION_TIMEOUT_MS // 6),
        "max.poll.interval.ms": 300000,
        "fetch.wait.max.ms": settings.KAFKA_FETCH_WAIT_MAX_MS,
        "fetch.min.bytes": settings.KAFKA_FETCH_MIN_BYTES,
        "queued.max.messages.kbytes": 65536,
        **overrides,
    }


def make_consumer(group_id: str, **overrides) -> Consumer:
    return Consumer(consumer_config(group_id, **overrides))
