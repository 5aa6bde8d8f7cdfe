"""Celery tasks: thin entry points that take ids and call one service. The database is the source of truth; a task
lost from Redis (flushed, worker killed) is found again by the re-enqueue sweep, so every task here is idempotent
and acknowledged late. Nothing below this module imports it: work is enqueued by name through `notifications.queue`.

The heartbeat: beat sends `heartbeat` every OPS_HEARTBEAT_INTERVAL_SECONDS (schedule entry `worker-heartbeat`);
the beat process records `beat` at the moment it publishes the task (hook below), so a stopped beat shows even while
workers are fine; whichever worker executes it records `worker:<hostname>`, so a stopped worker (or a stuck
`default` queue) shows even while beat is fine. /readyz and `manage.py status` read them."""

import logging
import os
import uuid
from datetime import date, timedelta

from celery import shared_task
from celery.signals import before_task_publish
from django.db import DatabaseError, close_old_connections, connection

from notifications import outbox, queue, services
from notifications.messaging.sending import message_send_tenant_batch
from notifications.ops import heartbeats
from notifications.sweep.run import sweep_run
from notifications.webhooks.delivery import deliver_batch

logger = logging.getLogger(__name__)

HEARTBEAT_TASK = "notifications.tasks.heartbeat"
# Worker hostnames change with every restart; rows older than this are forgotten.
STALE_WORKER_ROWS_AFTER = timedelta(days=1)


@shared_task(name=queue.DELIVER_WEBHOOKS, acks_late=True, ignore_result=True)
def deliver_webhooks(delivery_ids: list[int], subscription_id: int, claim_token: str | None = None,
                     partner_id: int | None = None) -> dict:
    """Send one endpoint's batch of deliveries (leased to `claim_token` at ingest, if given); schedule the retries
    it asks for, and come back for a batch deferred because its endpoint is saturated in this process."""
    token = uuid.UUID(claim_token) if claim_token else None
    outcome = deliver_batch(delivery_ids, subscription_id=subscription_id, claim_token=token, partner_id=partner_id)
    queue.schedule_retries(outcome.retrying or {}, subscription_id, partner_id)
    # Rate-limited deliveries wait as PENDING rows: a countdown task comes back for them when their turn is due.
    queue.schedule_postponed(outcome.postponed or {}, subscription_id, partner_id)
    if outcome.deferred:
        queue.defer_delivery_batch(queue.DeliveryBatch(subscription_id, outcome.deferred, token, partner_id),
                                   outcome.defer_seconds)
    return {"claimed": outcome.claimed, "succeeded": outcome.succeeded, "failed": outcome.failed,
            "deferred": len(outcome.deferred or ()), "postponed": len(outcome.postponed or ())}


@shared_task(name=queue.SEND_CUSTOMER_MESSAGES, acks_late=True, ignore_result=True)
def send_customer_messages(message_ids: list[int], partner_id: int | None = None) -> int:
    """Send one tenant's batch of messages; schedule what comes next (retries, quiet hours, fallbacks), and come
    back for a batch deferred because the tenant holds its share of this process's threads."""
    outcome = message_send_tenant_batch(message_ids=message_ids, partner_id=partner_id)
    queue.schedule_message_follow_ups(outcome.follow_ups, partner_id)
    if outcome.deferred:
        queue.enqueue_messages(message_ids, countdown=outcome.defer_seconds, partner_id=partner_id)
    return len(message_ids)


@shared_task(name=queue.PLAN_CUSTOMER_MESSAGES, acks_late=True, ignore_result=True)
def plan_customer_messages(event_ids: list[int], partner_id: int) -> int:
    """Plan the customer messages of one tenant's batch of customer-facing events, and send those due now: one
    sending batch's worth here, the rest in sending tasks of their own."""
    outcome = message_send_tenant_batch(event_ids=event_ids, partner_id=partner_id,
                                        send_at_most=queue.MESSAGE_TASK_BATCH)
    queue.enqueue_messages(outcome.to_send, partner_id=partner_id)
    queue.schedule_message_follow_ups(outcome.follow_ups, partner_id)
    if outcome.deferred:
        queue.enqueue_message_planning({partner_id: event_ids}, countdown=outcome.defer_seconds)
    return len(event_ids)


@shared_task(name=queue.REQUEUE_DUE_WORK, acks_late=True, ignore_result=True)
def requeue_due_work() -> dict:
    """Beat, every few seconds: re-enqueue due work that no worker holds (Redis lost it, a worker died)."""
    return services.requeue_due_work()


@shared_task(name=queue.RECOVER_DELIVERIES, acks_late=True, ignore_result=True)
def recover_deliveries(job_id: int) -> dict | None:
    """A partner's recover job (POST …/event-subscriptions/{eventName}/recover)."""
    job = services.recover_job_run(job_id=job_id)
    return None if job is None else {"matched": job.matched, "replayed": job.replayed}


@shared_task(name=queue.PUBLISH_OUTBOX, acks_late=True, ignore_result=True)
def publish_outbox() -> int:
    return outbox.outbox_publish_pending()


# An hour, well below the Redis visibility timeout (2 h); a run cut short loses nothing (each page commits and the
# next run catches up).
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=55 * 60, time_limit=60 * 60)
def run_advance_sweep(run_date: str | None = None) -> dict:
    """Daily advance-notification sweep (beat entry `advance-notification-sweep`)."""
    return sweep_run(run_date=date.fromisoformat(run_date) if run_date else None).as_dict()


@shared_task(name=HEARTBEAT_TASK, bind=True, ignore_result=True, acks_late=False)
def heartbeat(self, source: str = "") -> str:
    """Record that a worker consumed the `default` queue just now."""
    name = f"{heartbeats.WORKER_PREFIX}{self.request.hostname or 'unknown'}"
    heartbeats.heartbeat_record(name=name, details={"pid": os.getpid(), "source": source})
    heartbeats.heartbeat_prune_stale(prefix=heartbeats.WORKER_PREFIX, older_than=STALE_WORKER_ROWS_AFTER)
    return name


@before_task_publish.connect
def record_beat_tick(sender: str | None = None, body=None, **kwargs) -> None:
    """In the beat process: the heartbeat entry is being sent, so the scheduler is alive.

    Celery beat has no per-tick hook of its own; publishing the beat entry (kwargs source="beat") is the tick.
    A database error must never stop beat from scheduling the rest, so it is only logged."""
    if sender != HEARTBEAT_TASK or not _sent_by_beat(body):
        return
    try:
        if not connection.in_atomic_block:
            close_old_connections()  # beat holds one long-lived connection; drop it if PostgreSQL restarted
        heartbeats.heartbeat_record(name=heartbeats.BEAT, details={"pid": os.getpid()})
    except DatabaseError:
        logger.warning("Could not record the beat heartbeat", exc_info=True)


def _sent_by_beat(body) -> bool:
    # Task protocol 2: body = (args, kwargs, embed); protocol 1: a dict with "kwargs".
    if isinstance(body, tuple | list) and len(body) >= 2 and isinstance(body[1], dict):
        return body[1].get("source") == "beat"
    if isinstance(body, dict):
        return (body.get("kwargs") or {}).get("source") == "beat"
    return False
