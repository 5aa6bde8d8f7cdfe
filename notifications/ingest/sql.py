"""Every SQL statement of ingest, each with its reason; table names come from the models' metadata.

Ingest writes thousands of rows a second, so its hot statements are plain SQL and COPY: the bridge's profile spent
most of its time in Django compiling INSERTs and building lookups (docs/profiles/)."""

from collections import defaultdict
from dataclasses import dataclass

from django.db import connection

from notifications import jsoncodec
from notifications.ingest.parsing import ParsedMessage
from notifications.models import EntitySequence, Event
from notifications.webhooks.planning import SubscriptionTarget
from subscriptions.models import EventSubscription, Partner

_PARTNERS = connection.ops.quote_name(Partner._meta.db_table)
_SUBSCRIPTIONS = connection.ops.quote_name(EventSubscription._meta.db_table)
_SEQUENCES = connection.ops.quote_name(EntitySequence._meta.db_table)
_EVENTS = connection.ops.quote_name(Event._meta.db_table)


@dataclass(frozen=True)
class Tenant:
    """What ingest needs of a partner: its key, whether it is active, its enabled subscriptions."""

    pk: int
    is_active: bool
    subscriptions: tuple[SubscriptionTarget, ...]


def tenants_load(tenant_ids: set[str]) -> dict[str, Tenant]:
    """The batch's tenants with their enabled subscriptions, in one statement of plain SQL: at a steady 1,000
    events/s the ORM building these lookups was a third of the bridge's time (docs/profiles/). Read for every batch,
    never cached: a subscription created a moment ago gets the next event."""
    if not tenant_ids:
        return {}
    rows: dict[str, list] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT p.tenant_id, p.id, p.is_active, s.id, s.event_name, s.advance_notification_periods
              FROM {_PARTNERS} p
                   LEFT JOIN {_SUBSCRIPTIONS} s ON s.partner_id = p.id AND s.is_enabled
             WHERE p.tenant_id = ANY(%s)
             ORDER BY p.id, s.id
            """,  # noqa: S608 - names from the models' metadata
            [list(tenant_ids)],
        )
        for tenant_id, partner_pk, is_active, sub_pk, event_name, periods in cursor.fetchall():
            entry = rows.setdefault(tenant_id, [partner_pk, is_active, []])
            if sub_pk is not None:
                entry[2].append(SubscriptionTarget(sub_pk, event_name, periods))
    return {tenant_id: Tenant(pk, active, tuple(subs)) for tenant_id, (pk, active, subs) in rows.items()}


def sequences_allocate(parsed: list[ParsedMessage], partners: dict[str, Tenant]) -> list[int | None]:
    """Per-tenant, per-entity sequence numbers 1, 2, 3… in batch (= partition) order, in one statement."""
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for p in parsed:
        if p.entity_id:
            counts[(partners[p.tenant_id].pk, p.entity_id)] += 1
    if not counts:
        return [None] * len(parsed)
    keys = sorted(counts)  # a fixed order keeps two concurrent bridges from deadlocking on the rows
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_SEQUENCES} (partner_id, entity_id, last_sequence)
            SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::int[])
            ON CONFLICT (partner_id, entity_id)
            DO UPDATE SET last_sequence = {_SEQUENCES}.last_sequence + EXCLUDED.last_sequence
            RETURNING partner_id, entity_id, last_sequence
            """,  # noqa: S608 - names from the models' metadata
            [[k[0] for k in keys], [k[1] for k in keys], [counts[k] for k in keys]],
        )
        last = {(row[0], row[1]): row[2] for row in cursor.fetchall()}
    next_seq = {k: last[k] - counts[k] + 1 for k in keys}
    sequences: list[int | None] = []
    for p in parsed:
        if p.entity_id:
            k = (partners[p.tenant_id].pk, p.entity_id)
            sequences.append(next_seq[k])
            next_seq[k] += 1
        else:
            sequences.append(None)
    return sequences


# The columns ingest writes for every event and delivery, in COPY order (tests check they are all the model's).
EVENT_COLUMNS = (
    "id", "event_id", "event_name", "event_type", "partner_id", "occurred_at", "entity_id", "sequence", "data", "body",
    "holds_card_number", "received_at", "source_topic", "source_partition", "source_offset", "source_timestamp",
    "messages_planned",
)


def existing_events(keys: list[tuple[int, str]]) -> dict[tuple[int, str], tuple]:
    """The stored events among `keys` ((partner pk, eventId): event ids are scoped to the tenant), each with what
    tells a repeat from a reuse: (event name, occurred at, entity id, data). One probe of the unique index per key."""
    if not keys:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT e.partner_id, e.event_id, e.event_name, e.occurred_at, e.entity_id, e.data
              FROM unnest(%s::bigint[], %s::varchar[]) AS k(partner_id, event_id)
                   JOIN {_EVENTS} e ON e.partner_id = k.partner_id AND e.event_id = k.event_id
            """,  # noqa: S608 - names from the models' metadata
            [[k[0] for k in keys], [k[1] for k in keys]],
        )
        # Django leaves jsonb as text for JSONField to parse; parsed here the same way the message was.
        return {(row[0], row[1]): (*row[2:5], jsoncodec.loads(row[5].encode()) if isinstance(row[5], str) else row[5])
                for row in cursor.fetchall()}
