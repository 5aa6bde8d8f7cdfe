"""Celery tasks: thin wrappers that take ids and call one service. The database is the source of truth; a task
lost from Redis (flushed, worker killed) is found again by `requeue_due_work`, so every task here is idempotent and
acknowledged late."""

import logging
import uuid
from datetime import date

from celery import shared_task

from notifications import delivery, dispatch, outbox

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def deliver_webhooks(delivery_ids: list[int], endpoint_key: str | None = None, claim_token: str | None = None) -> dict:
    """Send one endpoint's batch of deliveries (leased to `claim_token` at ingest, if given); schedule the retries
    it asks for."""
    token = uuid.UUID(claim_token) if claim_token else None
    outcome = delivery.deliver_batch(delivery_ids, endpoint_key=endpoint_key, claim_token=token)
    dispatch.schedule_retries(outcome.retrying or {}, endpoint_key=endpoint_key)
    if outcome.deferred:
        # The endpoint is saturated in this process: come back shortly instead of holding a thread. The rows stay
        # leased to this token; coming back too late for a full lease, the task renews it with a claim.
        deliver_webhooks.apply_async(args=[outcome.deferred, endpoint_key, claim_token],
                                     countdown=outcome.defer_seconds)
    return {"claimed": outcome.claimed, "succeeded": outcome.succeeded, "failed": outcome.failed}


@shared_task(acks_late=True, ignore_result=True)
def send_customer_messages(message_ids: list[int]) -> int:
    from notifications import messaging

    follow_ups = messaging.message_send_batch(message_ids=message_ids)
    dispatch.schedule_message_follow_ups(follow_ups)
    return len(message_ids)


@shared_task(acks_late=True, ignore_result=True)
def requeue_due_work() -> dict:
    """Beat, every few seconds: re-enqueue due work that no worker holds (Redis lost it, a worker died)."""
    return dispatch.requeue_due_work()


@shared_task(acks_late=True, ignore_result=True)
def publish_outbox() -> int:
    return outbox.outbox_publish_pending()


# An hour, well below the Redis visibility timeout (2 h); a run cut short loses nothing (each page commits and the
# next run catches up).
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=55 * 60, time_limit=60 * 60)
def run_advance_sweep(run_date: str | None = None) -> dict:
    """Daily advance-notification sweep (beat entry `advance-notification-sweep`)."""
    from notifications import advance

    report = advance.sweep_run(run_date=date.fromisoformat(run_date) if run_date else None)
    return report.as_dict()
