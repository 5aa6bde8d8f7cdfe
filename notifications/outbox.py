"""The transactional outbox: how this service's own producers (wallet and card changes, the daily sweep, endpoint
health) put events on the notification topic.

A producer calls `publish_event` (or `outbox_add_many`) inside the transaction of its business change; the row is
written with the change and published to Kafka after commit, so the event exists if and only if the change does. A
beat task publishes whatever the after-commit step missed (Redis or Kafka down)."""

import json
import logging
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications import queue
from notifications.kafka import make_producer
from notifications.models import OutboxMessage
from subscriptions.catalog import get_event
from subscriptions.models import EventSubscription, Partner

logger = logging.getLogger(__name__)


def build_kafka_message(
    *, event_id: str, event_name: str, tenant_id: str, occurred_at: datetime, data: dict, entity_id: str = ""
) -> dict:
    """The message shape of DESIGN.md's topic contract."""
    message = {
        "eventId": event_id,
        "eventName": event_name,
        "tenantId": tenant_id,
        "occurredAt": occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    if entity_id:
        message["entityId"] = entity_id
    return message


def outbox_message(
    *, tenant_id: str, event_name: str, event_id: str, entity_id: str, data: dict, occurred_at: datetime
) -> OutboxMessage:
    """An unsaved outbox row for one event, keyed by its entity (per-entity ordering on the topic)."""
    payload = build_kafka_message(
        event_id=event_id, event_name=event_name, tenant_id=tenant_id, occurred_at=occurred_at, data=data,
        entity_id=entity_id,
    )
    return OutboxMessage(
        event_id=event_id, topic=settings.KAFKA_NOTIFICATION_TOPIC, key=entity_id or event_id, payload=payload,
        created_at=occurred_at,
    )


def publish_event(
    *,
    partner: Partner,
    event_name: str,
    data: dict,
    entity_id: str = "",
    occurred_at: datetime | None = None,
    event_id: str | None = None,
) -> OutboxMessage:
    """Emit an event onto the notification topic, atomically with the caller's database change."""
    row = outbox_event(
        partner=partner, event_name=event_name, data=data, entity_id=entity_id, occurred_at=occurred_at,
        event_id=event_id,
    )
    row.save(force_insert=True)
    transaction.on_commit(queue.trigger_outbox_publish)
    return row


def outbox_event(
    *,
    partner: Partner,
    event_name: str,
    data: dict,
    entity_id: str = "",
    occurred_at: datetime | None = None,
    event_id: str | None = None,
) -> OutboxMessage:
    """The unsaved row `publish_event` writes (a catalog event, a fresh eventId unless given, the data as JSON
    sees it); `publish_events` writes many of them in one statement."""
    if get_event(event_name) is None:
        raise ValueError(f"Unknown event name {event_name!r}: add it to subscriptions.catalog first.")
    now = timezone.now()
    row = outbox_message(
        tenant_id=partner.tenant_id, event_name=event_name, event_id=event_id or str(uuid.uuid4()),
        entity_id=entity_id, data=json.loads(json.dumps(data, default=str)), occurred_at=occurred_at or now,
    )
    row.created_at = now
    return row


def publish_events(*, messages: list[OutboxMessage]) -> None:
    """Bulk variant of publish_event for rows built with `outbox_event`: one INSERT, in the caller's transaction, and
    one publish nudge after commit. A duplicate eventId raises, as it does in publish_event."""
    if messages:
        OutboxMessage.objects.bulk_create(messages)
        transaction.on_commit(queue.trigger_outbox_publish)


def publish_endpoint_event(
    *, subscription: EventSubscription, event_name: str, data: dict, event_id: str | None = None
) -> OutboxMessage:
    """Emit an operational event (ENDPOINT_DISABLED, ENDPOINT_ENABLED, ENDPOINT_RECOVERED,
    DELIVERY_ATTEMPT_EXHAUSTED) about `subscription`, atomically with the caller's change. Its data names the
    subscription, and delivery planning never sends an event about a subscription to that subscription itself
    (webhooks.planning.subscription_wants), so a failing endpoint cannot feed itself."""
    return publish_event(
        partner=subscription.partner, event_name=event_name, event_id=event_id,
        data={"subscriptionEventName": subscription.event_name, "destination": subscription.destination, **data},
    )


def outbox_add_many(*, messages: list[OutboxMessage]) -> None:
    """Bulk variant of publish_event for rows built with `outbox_message`, in the caller's transaction.

    ignore_conflicts: a row with the same (deterministic) eventId means the event was already emitted once."""
    if messages:
        OutboxMessage.objects.bulk_create(messages, batch_size=1000, ignore_conflicts=True)
        transaction.on_commit(queue.trigger_outbox_publish)


def outbox_publish_pending(*, limit: int = 500, flush_timeout: float = 10.0) -> int:
    """Publish unpublished outbox rows to Kafka and mark those the broker acknowledged. Returns the count."""
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(published_at__isnull=True)
            .order_by("created_at", "id")[:limit]
        )
        if not rows:
            return 0
        producer = make_producer()
        acked: set[int] = set()
        errors: dict[int, str] = {}

        def on_delivery(err, msg, row_id):
            if err is None:
                acked.add(row_id)
            else:
                errors[row_id] = str(err)

        for row in rows:
            producer.produce(
                row.topic,
                key=row.key.encode(),
                value=json.dumps(row.payload, separators=(",", ":")).encode(),
                on_delivery=lambda err, msg, rid=row.pk: on_delivery(err, msg, rid),
            )
        producer.flush(flush_timeout)
        now = timezone.now()
        OutboxMessage.objects.filter(pk__in=acked).update(published_at=now)
        for row in rows:
            if row.pk not in acked:
                OutboxMessage.objects.filter(pk=row.pk).update(
                    publish_attempts=row.publish_attempts + 1, last_error=errors.get(row.pk, "timeout")[:500]
                )
    return len(acked)
