"""The one module that enqueues pipeline work on Celery. Redis is only the trigger: the rows in PostgreSQL are the
truth, so every function here may fail (Redis down) without losing anything; the re-enqueue sweep
(`services.requeue_due_work`, every few seconds from beat) finds the rows again.

Tasks are sent by name (the routes in settings.CELERY_TASK_ROUTES still apply), so nothing below the entry points
imports `notifications.tasks`: the tasks call the stages, never the other way round."""

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings

from config.celery_app import app

logger = logging.getLogger(__name__)

# Task names (notifications/tasks.py defines them; tests/test_queue.py checks the two agree).
DELIVER_WEBHOOKS = "notifications.tasks.deliver_webhooks"
SEND_CUSTOMER_MESSAGES = "notifications.tasks.send_customer_messages"
PLAN_CUSTOMER_MESSAGES = "notifications.tasks.plan_customer_messages"
PUBLISH_OUTBOX = "notifications.tasks.publish_outbox"
REQUEUE_DUE_WORK = "notifications.tasks.requeue_due_work"
RECOVER_DELIVERIES = "notifications.tasks.recover_deliveries"
TASK_NAMES = (DELIVER_WEBHOOKS, SEND_CUSTOMER_MESSAGES, PLAN_CUSTOMER_MESSAGES, PUBLISH_OUTBOX, REQUEUE_DUE_WORK,
              RECOVER_DELIVERIES)

MESSAGE_TASK_BATCH = 50
# Customer-facing events per planning task: planning has a fixed cost per batch (its queries, the COPY, the commit),
# and at 50 events a batch the messaging process spent ~1.5 times the CPU per event it spends at 200 (docs/
# benchmarks.md, "Issue 20"). The messages a task plans beyond one sending batch go to sending tasks of their own
# (tasks.plan_customer_messages), so no task sends more than MESSAGE_TASK_BATCH.
PLANNING_TASK_BATCH = 200
# Retries due within this many seconds get a Celery countdown task; later ones are found by the periodic sweep (a
# long countdown would sit unacknowledged in a worker's memory for hours).
COUNTDOWN_HORIZON_SECONDS = 15 * 60


@dataclass(frozen=True)
class DeliveryBatch:
    """One deliver_webhooks task's work: deliveries to one subscription's endpoint; `claim_token` is the token they
    are leased to when ingest wrote them leased to this task (None: the task claims them itself)."""

    subscription_id: int
    delivery_ids: list[int]
    claim_token: uuid.UUID | None = None
    partner_id: int | None = None  # the tenant, when known: the worker bounds the threads one tenant holds


def delivery_batch_size() -> int:
    """Deliveries per task: each task costs a claim, a record and a commit, whatever its size (docs/benchmarks.md)."""
    return settings.WEBHOOK_DELIVERY_BATCH_SIZE


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _send(name: str, args: list, countdown: float | None = None) -> None:
    app.send_task(name, args=args, countdown=countdown)


def enqueue_delivery_batches(batches: Iterable[DeliveryBatch], countdown: float | None = None) -> int:
    """One task per batch, each carrying its endpoint's subscription id and the token its rows are leased to."""
    tasks = 0
    try:
        for batch in batches:
            token = str(batch.claim_token) if batch.claim_token else None
            _send(DELIVER_WEBHOOKS, [batch.delivery_ids, batch.subscription_id, token, batch.partner_id], countdown)
            tasks += 1
    except Exception:
        logger.warning("Could not enqueue deliveries; the re-enqueue sweep will pick them up (once their lease, if "
                       "any, expires)", exc_info=True)
    return tasks


def enqueue_deliveries(
    by_subscription: dict[int, list[int]], countdown: float | None = None, partner_id: int | None = None
) -> int:
    """Task-sized batches per endpoint (unleased: each task claims its rows), so a slow endpoint's tasks never carry
    a healthy endpoint's deliveries."""
    size = delivery_batch_size()
    return enqueue_delivery_batches(
        (DeliveryBatch(subscription_id, chunk, None, partner_id) for subscription_id, ids in by_subscription.items()
         for chunk in _chunks(ids, size)),
        countdown,
    )


def enqueue_messages(message_ids: list[int], countdown: float | None = None, partner_id: int | None = None) -> int:
    """Task-sized batches of one tenant's messages (`partner_id`: the worker bounds the threads one tenant's batches
    hold; None for work of unknown tenants, which is not bounded)."""
    tasks = 0
    try:
        for chunk in _chunks(list(message_ids), MESSAGE_TASK_BATCH):
            _send(SEND_CUSTOMER_MESSAGES, [chunk, partner_id], countdown)
            tasks += 1
    except Exception:
        logger.warning("Could not enqueue customer messages; the re-enqueue sweep will pick them up", exc_info=True)
    return tasks


def enqueue_message_planning(by_partner: dict[int, list[int]], countdown: float | None = None) -> int:
    """Task-sized batches of one tenant's customer-facing events whose messages are still to be planned."""
    tasks = 0
    try:
        for partner_id, event_ids in by_partner.items():
            for chunk in _chunks(list(event_ids), PLANNING_TASK_BATCH):
                _send(PLAN_CUSTOMER_MESSAGES, [chunk, partner_id], countdown)
                tasks += 1
    except Exception:
        logger.warning("Could not enqueue message planning; the re-enqueue sweep will pick it up", exc_info=True)
    return tasks


def enqueue_messages_by_partner(by_partner: dict[int, list[int]], countdown: float | None = None) -> int:
    return sum(enqueue_messages(ids, countdown, partner_id) for partner_id, ids in by_partner.items() if ids)


def _by_delay(delays: dict[int, float]) -> dict[int, list[int]]:
    """Ids due within the countdown horizon, grouped by whole seconds of delay, rounded up: a task that arrives early
    finds nothing due."""
    grouped: dict[int, list[int]] = defaultdict(list)
    for item_id, delay in delays.items():
        if delay <= COUNTDOWN_HORIZON_SECONDS:
            grouped[int(delay) + 1].append(item_id)
    return grouped


def schedule_retries(retrying: dict[int, float], subscription_id: int, partner_id: int | None = None) -> None:
    """Countdown tasks for one endpoint's retries due soon; later ones are left to the re-enqueue sweep."""
    for delay, ids in _by_delay(retrying).items():
        enqueue_deliveries({subscription_id: ids}, countdown=delay, partner_id=partner_id)


def schedule_postponed(postponed: dict[int, float], subscription_id: int, partner_id: int | None = None) -> None:
    """Countdown tasks for a rate-limited endpoint's waiting deliveries, one per wave (delays to a tenth of a
    second): rounding up to whole seconds, as for retries, would leave the endpoint idle for part of every second."""
    waves: dict[float, list[int]] = defaultdict(list)
    for delivery_id, delay in postponed.items():
        if delay <= COUNTDOWN_HORIZON_SECONDS:
            waves[round(delay + 0.05, 1)].append(delivery_id)
    for delay, ids in waves.items():
        enqueue_deliveries({subscription_id: ids}, countdown=delay, partner_id=partner_id)


def schedule_message_follow_ups(follow_ups: dict[int, float], partner_id: int | None = None) -> None:
    """Countdown tasks for one tenant's retries, re-held messages and fallbacks due soon."""
    for delay, ids in _by_delay(follow_ups).items():
        enqueue_messages(ids, countdown=delay, partner_id=partner_id)


def defer_delivery_batch(batch: DeliveryBatch, seconds: float) -> None:
    """Send a batch again in `seconds` (its endpoint is saturated in this process); its rows stay leased to its
    token."""
    enqueue_delivery_batches([batch], countdown=seconds)


def trigger_outbox_publish() -> None:
    try:
        _send(PUBLISH_OUTBOX, [])
    except Exception:  # Redis down: the periodic publish-outbox beat task picks the rows up.
        logger.warning("Could not enqueue the outbox publish; the beat task will publish it", exc_info=True)


def trigger_requeue_due_work() -> None:
    """Ask for a re-enqueue sweep now (e.g. a subscription was re-enabled) instead of at the next beat tick."""
    try:
        _send(REQUEUE_DUE_WORK, [])
    except Exception:
        logger.warning("Could not enqueue the re-enqueue sweep; beat runs it within seconds", exc_info=True)


def enqueue_recover_job(job_id: int) -> None:
    """Run a partner's recover job (Redis down: the re-enqueue sweep finds the queued job)."""
    try:
        _send(RECOVER_DELIVERIES, [job_id])
    except Exception:
        logger.warning("Could not enqueue recover job %s; the re-enqueue sweep will", job_id, exc_info=True)
