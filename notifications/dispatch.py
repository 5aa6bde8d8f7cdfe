"""Turning database rows into Celery tasks: the only code that enqueues pipeline work. Redis is only the trigger,
so every function here may fail (Redis down) without losing anything: the periodic sweep finds the rows again."""

import logging
from collections import defaultdict

from django.conf import settings

from notifications.delivery import COUNTDOWN_HORIZON_SECONDS, DeliveryBatch, due_delivery_ids

logger = logging.getLogger(__name__)

DELIVERY_TASK_BATCH = 100  # default of settings.WEBHOOK_DELIVERY_BATCH_SIZE
MESSAGE_TASK_BATCH = 50


def _chunks(items: list[int], size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def delivery_batch_size() -> int:
    """Deliveries per task: each task costs a claim, a record and a commit, whatever its size (docs/benchmarks.md)."""
    return getattr(settings, "WEBHOOK_DELIVERY_BATCH_SIZE", DELIVERY_TASK_BATCH)


def enqueue_deliveries(by_subscription: dict[int, list[int]], countdown: float | None = None) -> int:
    """One task per endpoint per chunk, so a slow endpoint's tasks never carry a healthy endpoint's deliveries."""
    from notifications.tasks import deliver_webhooks

    tasks = 0
    try:
        for subscription_id, ids in by_subscription.items():
            endpoint_key = str(subscription_id) if subscription_id else None
            for chunk in _chunks(ids, delivery_batch_size()):
                deliver_webhooks.apply_async(args=[chunk, endpoint_key], countdown=countdown)
                tasks += 1
    except Exception:
        logger.warning("Could not enqueue deliveries; the re-enqueue sweep will pick them up", exc_info=True)
    return tasks


def enqueue_delivery_batches(batches: list[DeliveryBatch]) -> int:
    """One task per batch (ingest made them one endpoint's and task-sized), carrying the token it leased them to."""
    from notifications.tasks import deliver_webhooks

    tasks = 0
    try:
        for batch in batches:
            token = str(batch.claim_token) if batch.claim_token else None
            deliver_webhooks.apply_async(args=[batch.delivery_ids, str(batch.subscription_id), token])
            tasks += 1
    except Exception:
        logger.warning("Could not enqueue deliveries; the re-enqueue sweep will pick them up once their lease "
                       "expires", exc_info=True)
    return tasks


def enqueue_messages(message_ids: list[int], countdown: float | None = None) -> int:
    from notifications.tasks import send_customer_messages

    tasks = 0
    try:
        for chunk in _chunks(list(message_ids), MESSAGE_TASK_BATCH):
            send_customer_messages.apply_async(args=[chunk], countdown=countdown)
            tasks += 1
    except Exception:
        logger.warning("Could not enqueue customer messages; the re-enqueue sweep will pick them up", exc_info=True)
    return tasks


def schedule_retries(retrying: dict[int, float], endpoint_key: str | None) -> None:
    """Countdown tasks for retries due soon; later ones are left to the periodic sweep (a long countdown would sit
    unacknowledged in a worker's memory for hours)."""
    by_delay: dict[int, list[int]] = defaultdict(list)
    for delivery_id, delay in retrying.items():
        if delay <= COUNTDOWN_HORIZON_SECONDS:
            by_delay[int(delay) + 1].append(delivery_id)
    for delay, ids in by_delay.items():
        enqueue_deliveries({int(endpoint_key) if endpoint_key else 0: ids}, countdown=delay)


def schedule_message_follow_ups(follow_ups: dict[int, float]) -> None:
    by_delay: dict[int, list[int]] = defaultdict(list)
    for message_id, delay in follow_ups.items():
        if delay <= COUNTDOWN_HORIZON_SECONDS:
            by_delay[int(delay) + 1].append(message_id)  # rounded up: a task that arrives early finds nothing due
    for delay, ids in by_delay.items():
        enqueue_messages(ids, countdown=delay)


def requeue_due_work() -> dict:
    deliveries = due_delivery_ids()
    delivery_tasks = enqueue_deliveries(deliveries)
    from notifications import messaging

    message_tasks = enqueue_messages(messaging.message_due_ids())
    found = sum(len(v) for v in deliveries.values())
    if found:
        logger.info("Re-enqueued %d overdue deliveries in %d tasks", found, delivery_tasks)
    return {"deliveries": found, "delivery_tasks": delivery_tasks, "message_tasks": message_tasks}
