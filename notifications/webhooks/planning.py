"""Which subscriptions receive an event, and the delivery rows ingest writes for them: the interface between ingest
and webhook delivery.

Deliveries are cut into task-sized batches per endpoint and written already leased to the task that will send them
(`leases`), so a first attempt needs no claim; `queue.enqueue_delivery_batches` then sends one task per batch."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from notifications import leases, queue
from notifications.models import DeliveryStatus, Event
from notifications.webhooks.sql import DELIVERIES
from subscriptions.catalog import ALL_EVENTS, OPERATIONAL_EVENT_NAMES

# The columns of a delivery row as ingest writes it (COPY order; a test checks they are all the model's).
DELIVERY_COLUMNS = (
    "id", "event_id", "subscription_id", "partner_id", "status", "attempt_count", "attempts_before_replay",
    "next_attempt_at", "lease_expires_at", "claim_token", "last_status_code", "last_error", "created_at",
    "completed_at",
)


@dataclass(frozen=True)
class SubscriptionTarget:
    """What matching needs of an enabled subscription."""

    pk: int
    event_name: str
    advance_notification_periods: list[int]
    payload_format: str = "standard"  # which body its deliveries send (webhooks.formats)


def subscription_wants(subscription: SubscriptionTarget, *, event_name: str, event_type: str, data: dict) -> bool:
    if subscription.event_name not in (event_name, ALL_EVENTS):
        return False
    # An operational event about a subscription never goes to that subscription: a failing endpoint would otherwise
    # be sent news of its own failure, fail again and feed itself (one subscription per eventName: the name is it).
    if event_name in OPERATIONAL_EVENT_NAMES and data.get("subscriptionEventName") == subscription.event_name:
        return False
    # An advance notice goes only to subscriptions that asked for its period (when they named periods).
    days_before = data.get("daysBefore") if event_type == Event.EventType.ADVANCE else None
    periods = subscription.advance_notification_periods
    return not (days_before is not None and periods and days_before not in periods)


def leased_delivery_rows(
    targets: dict[int, list[tuple[int, int]]], *, delivery_ids: Iterator[int], now: datetime
) -> tuple[list[tuple], list[queue.DeliveryBatch]]:
    """Rows (DELIVERY_COLUMNS) for `targets` (subscription pk -> [(event pk, partner pk)]), in task-sized batches per
    endpoint, each batch leased to a token of its own; and the batches to enqueue after commit."""
    size = queue.delivery_batch_size()
    lease_until = now + timedelta(seconds=leases.queued_lease_seconds(DELIVERIES))
    rows: list[tuple] = []
    batches: list[queue.DeliveryBatch] = []
    for subscription_id, wanted in targets.items():
        for start in range(0, len(wanted), size):
            token, ids = leases.new_token(), []
            for event_pk, partner_id in wanted[start : start + size]:
                ids.append(next(delivery_ids))
                rows.append((ids[-1], event_pk, subscription_id, partner_id, DeliveryStatus.SENDING, 0, 0, now,
                             lease_until, token, None, "", now, None))
            batches.append(queue.DeliveryBatch(subscription_id, ids, token, wanted[0][1]))
    return rows, batches
