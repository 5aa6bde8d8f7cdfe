"""Planning a tenant's customer messages in the messaging worker: which channels and templates each customer-facing
event gets (`routing`), written once per event.

Ingest writes a customer-facing event as not planned yet and enqueues its planning; routing is several
times the cost of ingesting an event, and a tenant flooding customer-facing events would otherwise slow the bridge
for everyone. Here the work counts against the tenant's share of the worker's threads like its other batches.

Exactly once: ingest writes an UnplannedEvent row with each customer-facing event, and the planning transaction
deletes the rows of exactly the events it then plans (a second task for the same events finds nothing to delete).
A lost planning task leaves its rows behind, which the re-enqueue sweep finds (`events_unplanned_by_partner`)."""

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from notifications import bulk
from notifications.messaging.routing import ROUTED_EVENT_FIELDS, KnownSubjects, plan_customer_messages
from notifications.models import Event, MessageStatus, UnplannedEvent

_UNPLANNED = connection.ops.quote_name(UnplannedEvent._meta.db_table)
# Through each event's primary key; a row already deleted makes a repeated task a no-op. Concurrent tasks for the
# same event: the second waits on the row lock and then finds it gone.
_CLAIM_SQL = f"""
    DELETE FROM {_UNPLANNED} AS u
     USING unnest(%s::bigint[]) AS x(id)
     WHERE u.event_id = x.id
    RETURNING u.event_id
"""  # noqa: S608 - names from the models' metadata


def messages_plan(*, event_ids: list[int], known: KnownSubjects | None = None) -> list[int]:
    """Plan the messages of the customer-facing events among `event_ids` not planned yet; returns the ids of the
    messages to send now (PENDING; HELD ones wait for the end of quiet hours). `known`: the task's resolved subjects
    (routing.subjects_resolve), filled in here for the sending that follows."""
    if not event_ids:
        return []
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, ["{" + ",".join(map(str, event_ids)) + "}"])
            claimed = [pk for (pk,) in cursor.fetchall()]
        if not claimed:
            return []
        # Only what routing reads: the stored bodies and the rest were a quarter of the events' loading.
        events = list(Event.objects.filter(pk__in=claimed).only(*ROUTED_EVENT_FIELDS).order_by("id"))
        rows = plan_customer_messages(events, known=known)
        bulk.copy_insert(rows)
    return [row.pk for row in rows if row.status == MessageStatus.PENDING]


def events_unplanned_by_partner(*, limit: int = 1000, grace_seconds: int | None = None) -> dict[int, list[int]]:
    """Customer-facing events whose planning task was lost (planning not done `grace_seconds` after ingest), per
    tenant, for the re-enqueue sweep."""
    grace = settings.REQUEUE_GRACE_SECONDS if grace_seconds is None else grace_seconds
    rows = (
        UnplannedEvent.objects.filter(received_at__lte=timezone.now() - timedelta(seconds=grace))
        .order_by("received_at")
        .values_list("partner_id", "event_id")[:limit]
    )
    grouped: dict[int, list[int]] = {}
    for partner_id, pk in rows:
        grouped.setdefault(partner_id, []).append(pk)
    return grouped
