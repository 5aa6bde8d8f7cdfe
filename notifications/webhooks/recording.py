"""Recording a sent batch: every attempt, and each delivery's outcome (succeeded, retry at, failed) decided by the
retry schedule, in one transaction with the endpoints' health."""

import logging
import time
import uuid
from dataclasses import dataclass

from django.db import transaction

from notifications import retry
from notifications.models import DeliveryStatus
from notifications.webhooks import health, sql
from notifications.webhooks.sender import SendResult
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
    return outcome
