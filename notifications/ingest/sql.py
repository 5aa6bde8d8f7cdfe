"""Every SQL statement of ingest, each with its reason; table names come from the models' metadata.

Ingest writes thousands of rows a second, so its hot statements are plain SQL and COPY: the bridge's profile spent
most of its time in Django compiling INSERTs and building lookups (docs/profiles/)."""

from collections import defaultdict
from dataclasses import dataclass

from django.db import connection

from notifications import jsoncodec
from notifications.ingest.parsing import ParsedMessage
from notifications.models import EntitySequence, Event, RewrittenEvent, TransactionCompletion
from notifications.webhooks.planning import SubscriptionTarget
from subscriptions.models import EventSubscription, Partner

_PARTNERS = connection.ops.quote_name(Partner._meta.db_table)
_SUBSCRIPTIONS = connection.ops.quote_name(EventSubscription._meta.db_table)
_SEQUENCES = connection.ops.quote_name(EntitySequence._meta.db_table)
_EVENTS = connection.ops.quote_name(Event._meta.db_table)
_REWRITTEN = connection.ops.quote_name(RewrittenEvent._meta.db_table)
_COMPLETIONS = connection.ops.quote_name(TransactionCompletion._meta.db_table)


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
            SELECT p.tenant_id, p.id, p.is_active, s.id, s.event_name, s.advance_notification_periods,
                   s.payload_format
              FROM {_PARTNERS} p
                   LEFT JOIN {_SUBSCRIPTIONS} s ON s.partner_id = p.id AND s.is_enabled
             WHERE p.tenant_id = ANY(%s)
             ORDER BY p.id, s.id
            """,  # noqa: S608 - names from the models' metadata
            [list(tenant_ids)],
        )
        for tenant_id, partner_pk, is_active, sub_pk, event_name, periods, payload_format in cursor.fetchall():
            entry = rows.setdefault(tenant_id, [partner_pk, is_active, []])
            if sub_pk is not None:
                entry[2].append(SubscriptionTarget(sub_pk, event_name, periods, payload_format))
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
)
UNPLANNED_COLUMNS = ("event_id", "partner_id", "received_at")


def existing_events(keys: list[tuple[int, str]]) -> dict[tuple[int, str], tuple]:
    """The stored events among `keys` ((partner pk, eventId): event ids are scoped to the tenant), each with what
    tells a repeat from a reuse: (event name, occurred at, entity id, data), as the message carried them when the
    event was stored rewritten (RewrittenEvent). One probe of the unique index per key."""
    if not keys:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT e.partner_id, e.event_id, COALESCE(r.received_name, e.event_name), e.occurred_at, e.entity_id,
                   COALESCE(r.received_data, e.data)
              FROM unnest(%s::bigint[], %s::varchar[]) AS k(partner_id, event_id)
                   JOIN {_EVENTS} e ON e.partner_id = k.partner_id AND e.event_id = k.event_id
                   LEFT JOIN {_REWRITTEN} r ON r.event_id = e.id
            """,  # noqa: S608 - names from the models' metadata
            [[k[0] for k in keys], [k[1] for k in keys]],
        )
        # Django leaves jsonb as text for JSONField to parse; parsed here the same way the message was.
        return {(row[0], row[1]): (*row[2:5], jsoncodec.loads(row[5].encode()) if isinstance(row[5], str) else row[5])
                for row in cursor.fetchall()}


# --- seed 004's once-only rule (notifications/ingest/completions.py) -------------------------------------------------


@dataclass
class TransactionState:
    """A TransactionCompletion row as the batch reads and changes it."""

    status: str
    completed: bool
    completed_event_id: str
    changed: bool = False


def transaction_states_lock(keys: list[tuple[int, str]]) -> dict[tuple[int, str], TransactionState]:
    """The TransactionCompletion rows of `keys` ((partner pk, transactionId), sorted), created when missing, locked
    until the batch's transaction ends. A second bridge's batch with one of these transactions waits here for the
    first one's commit and then reads what it decided: that is what makes the rule hold across bridges."""
    with connection.cursor() as cursor:
        # Waits on a row another bridge inserted and has not committed yet; DO NOTHING keeps its decision.
        cursor.execute(
            f"""
            INSERT INTO {_COMPLETIONS} (partner_id, transaction_id, status, completed, completed_event_id, created_at,
                                        updated_at)
            SELECT k.partner_id, k.transaction_id, '', false, '', now(), now()
              FROM unnest(%s::bigint[], %s::varchar[]) AS k(partner_id, transaction_id)
            ON CONFLICT (partner_id, transaction_id) DO NOTHING
            """,  # noqa: S608 - names from the models' metadata
            [[k[0] for k in keys], [k[1] for k in keys]],
        )
        # Locked in key order, so two bridges cannot deadlock on them.
        cursor.execute(
            f"""
            SELECT c.partner_id, c.transaction_id, c.status, c.completed, c.completed_event_id
              FROM {_COMPLETIONS} c
                   JOIN unnest(%s::bigint[], %s::varchar[]) AS k(partner_id, transaction_id)
                     ON c.partner_id = k.partner_id AND c.transaction_id = k.transaction_id
             ORDER BY c.partner_id, c.transaction_id
               FOR UPDATE OF c
            """,  # noqa: S608 - names from the models' metadata
            [[k[0] for k in keys], [k[1] for k in keys]],
        )
        return {(row[0], row[1]): TransactionState(*row[2:]) for row in cursor.fetchall()}


def transaction_states_save(states: dict[tuple[int, str], TransactionState]) -> None:
    """Write the changed states back (the rows are still locked by transaction_states_lock)."""
    changed = sorted((k, v) for k, v in states.items() if v.changed)
    if not changed:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_COMPLETIONS} AS c
               SET status = v.status, completed = v.completed, completed_event_id = v.completed_event_id,
                   updated_at = now()
              FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[], %s::bool[], %s::varchar[])
                   AS v(partner_id, transaction_id, status, completed, completed_event_id)
             WHERE c.partner_id = v.partner_id AND c.transaction_id = v.transaction_id
            """,  # noqa: S608 - names from the models' metadata
            [[k[0] for k, _ in changed], [k[1] for k, _ in changed], [v.status for _, v in changed],
             [v.completed for _, v in changed], [v.completed_event_id for _, v in changed]],
        )
