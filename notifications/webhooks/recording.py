"""Recording a sent batch: every attempt, and each delivery's outcome (succeeded, retry at, failed) decided by the
retry schedule, in one transaction with the endpoints' health and the DELIVERY_ATTEMPT_EXHAUSTED events of the
deliveries that failed for good."""

import logging
import time
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from notifications import retry
from notifications.models import DeliveryStatus, Event, WebhookDelivery
from notifications.outbox import outbox_add_many, outbox_message
from notifications.webhooks import health, sql
from notifications.webhooks.sender import SendResult
from subscriptions.catalog import OPERATIONAL_EVENT_NAMES
from subscriptions.models import EventSubscription

logger = logging.getLogger(__name__)


@dataclass
class BatchOutcome:
    succeeded: int = 0
    retrying: dict[int, float] | None = None  # delivery id -> seconds until its retry is due
    failed: int = 0
    deferred: list[int] | None = None  # ids not claimed because their endpoint is saturated
    claimed: int = 0
    defer_seconds: float = 1.0  # when to try the deferred ids again
    postponed: dict[int, float] | None = None  # ids back to PENDING for their endpoint's rate limit -> seconds


def record_batch(
    claim_token: uuid.UUID,
    claimed: list[sql.Claimed],
    results: dict[int, SendResult],
    subscriptions: dict[int, EventSubscription],
    refused: dict[int, str],
) -> BatchOutcome:
    """Write attempts and outcomes in one transaction; only rows still holding our claim token are updated."""
    # Times travel as Unix seconds, turned into timestamps by the statement (isoformat() per value showed in the
    # worker's profile).
    now = time.time()
    outcome = BatchOutcome(retrying={}, claimed=len(claimed))
    attempts: list[tuple] = []
    rows: list[tuple] = []  # sql.OUTCOME_KEYS
    exhausted: list[tuple[sql.Claimed, SendResult]] = []
    for c in claimed:
        sub = subscriptions[c.subscription_id]
        if c.delivery_id in refused:
            rows.append((c.delivery_id, DeliveryStatus.FAILED, now, None, refused[c.delivery_id], now,
                         c.attempt_number))
            outcome.failed += 1
            continue
        r = results[c.delivery_id]
        attempts.append((c.delivery_id, c.attempt_number, r.started_at.timestamp(), r.duration_ms, r.status_code,
                         r.response_excerpt.replace("\x00", "\ufffd"), r.error_class, r.error_message, r.succeeded))
        error = r.summary
        retry_number = c.attempt_number - c.attempts_before_replay
        if r.succeeded:
            rows.append((c.delivery_id, DeliveryStatus.SUCCEEDED, now, r.status_code, "", now, c.attempt_number))
            outcome.succeeded += 1
        elif r.status_code == 410 or not retry.has_retries_left(attempts_made=retry_number,
                                                                 max_retries=sub.max_retries):
            rows.append((c.delivery_id, DeliveryStatus.FAILED, now, r.status_code, error, now, c.attempt_number))
            outcome.failed += 1
            exhausted.append((c, r))
        else:
            delay = retry.retry_delay_seconds(
                retry.webhook_schedule(retry_interval_seconds=sub.retry_interval_seconds),
                retry_number=retry_number, retry_after=r.retry_after,
            )
            rows.append((c.delivery_id, DeliveryStatus.PENDING, now + delay, r.status_code, error, None,
                         c.attempt_number))
            outcome.retrying[c.delivery_id] = delay
    with transaction.atomic():
        written = sql.record_outcomes(claim_token=claim_token, delivery_ids=[c.delivery_id for c in claimed],
                                      attempts=attempts, outcomes=rows)
        if written != len(rows):
            logger.warning("%d deliveries were re-claimed by another worker; their outcome was not overwritten",
                           len(rows) - written)
        health.record_outcomes(claimed=claimed, results=results, subscriptions=subscriptions)
        if exhausted:
            _publish_exhausted(exhausted, subscriptions, all_written=written == len(rows))
    return outcome


def _publish_exhausted(exhausted: list[tuple[sql.Claimed, SendResult]], subscriptions: dict[int, EventSubscription],
                       *, all_written: bool) -> None:
    """DELIVERY_ATTEMPT_EXHAUSTED for each delivery whose last attempt failed, once: its eventId is derived from the
    delivery and the attempt, so a repeat is absorbed by the outbox. Not for the operational events themselves (a
    failing endpoint's news failing elsewhere must not start a chain of news)."""
    names = dict(Event.objects.filter(pk__in=[c.event_pk for c, _ in exhausted]).values_list("pk", "event_name"))
    if not all_written:
        # Some rows were re-claimed by another worker meanwhile: only those that really ended FAILED here count.
        ours = set(WebhookDelivery.objects.filter(pk__in=[c.delivery_id for c, _ in exhausted],
                                                  status=DeliveryStatus.FAILED).values_list("pk", flat=True))
        exhausted = [(c, r) for c, r in exhausted if c.delivery_id in ours]
    messages = []
    for c, r in exhausted:
        event_name = names.get(c.event_pk, "")
        if event_name in OPERATIONAL_EVENT_NAMES:
            continue
        sub = subscriptions[c.subscription_id]
        messages.append(outbox_message(
            tenant_id=sub.partner.tenant_id, event_name="DELIVERY_ATTEMPT_EXHAUSTED",
            event_id=f"exhausted-{c.delivery_id}-{c.attempt_number}", entity_id="", occurred_at=timezone.now(),
            data={"subscriptionEventName": sub.event_name, "destination": sub.destination, "eventId": c.event_id,
                  "eventName": event_name, "deliveryId": c.delivery_id, "attempts": c.attempt_number,
                  "lastStatusCode": r.status_code, "lastError": r.summary[:300]},
        ))
    outbox_add_many(messages=messages)
