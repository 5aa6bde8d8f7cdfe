"""Operational Celery tasks: the heartbeat that /readyz and `manage.py status` read.

Beat sends `heartbeat` every OPS_HEARTBEAT_INTERVAL_SECONDS (schedule entry `worker-heartbeat`):
- the beat process records `beat` at the moment it publishes the task (hook below), so a stopped beat shows even
  while workers are fine;
- whichever worker executes it records `worker:<hostname>`, so a stopped worker (or a stuck `default` queue) shows
  even while beat is fine.
Module imported by `notifications.tasks` so that autodiscovery registers it in workers and beat alike.
"""

import logging
import os
from datetime import timedelta

from celery import shared_task
from celery.signals import before_task_publish
from django.db import DatabaseError, close_old_connections, connection

from notifications import heartbeats

logger = logging.getLogger(__name__)

HEARTBEAT_TASK = "notifications.ops_tasks.heartbeat"
# Worker hostnames change with every restart; rows older than this are forgotten.
STALE_WORKER_ROWS_AFTER = timedelta(days=1)


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
