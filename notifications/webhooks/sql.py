"""Every SQL statement of webhook delivery, each with its reason. Table names come from the models' metadata.

The hot path (claim, take, record) is plain SQL because the worker's profile showed Django building these queries
and psycopg adapting their parameters as a large part of the CPU per delivery (docs/profiles/)."""

import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import JSONField
from django.utils import timezone

from notifications import guards, jsoncodec, leases
from notifications.models import DeliveryAttempt, DeliveryStatus, Event, EventBody, WebhookDelivery
from subscriptions.models import EventSubscription, PayloadFormat

_SUBSCRIPTIONS = connection.ops.quote_name(EventSubscription._meta.db_table)
_EVENTS = connection.ops.quote_name(Event._meta.db_table)
_ATTEMPTS = connection.ops.quote_name(DeliveryAttempt._meta.db_table)
_BODIES = connection.ops.quote_name(EventBody._meta.db_table)
_STANDARD = PayloadFormat.STANDARD.value

DELIVERIES = leases.LeasedTable(
    model=WebhookDelivery,
    waiting_statuses=(DeliveryStatus.PENDING.value,),
    lease_setting="DELIVERY_LEASE_SECONDS",
    # A disabled subscription's deliveries wait (PENDING) until it is enabled again.
    claim_guard=f"EXISTS (SELECT 1 FROM {_SUBSCRIPTIONS} s WHERE s.id = w.subscription_id AND s.is_enabled)",  # noqa: S608
)


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker may send now, with what is sent."""

    delivery_id: int
    attempt_number: int
    event_pk: int
    subscription_id: int
    attempts_before_replay: int = 0
    event_id: str = ""  # the eventId (webhook-id header)
    body: str | None = ""  # the exact webhook body stored at ingest, in the subscription's format (None: not stored)
    holds_card_number: bool | None = None  # the guard's verdict taken at ingest (None: not taken)
    payload_format: str = _STANDARD

    def refused_by_card_guard(self) -> bool:
        """The body (the verdict taken at ingest, else checked now) or the webhook-id header (the eventId; the other
        headers are a constant, a Unix time and the signature) holds a card number."""
        in_body = guards.contains_card_number(self.body) if self.holds_card_number is None else self.holds_card_number
        return in_body or guards.contains_card_number(self.event_id)


# The body of the subscription's format: the standard one is on the event, the others are EventBody rows (NULL
# when none was stored: webhooks.bodies renders it then). The condition on the subscription alone becomes a one-time
# filter of the lateral scan, so a standard subscription's delivery does not probe the EventBody index at all.
_FORMAT_BODY = f"""
    CASE WHEN s.payload_format = '{_STANDARD}' THEN e.body ELSE b.body END,
    CASE WHEN s.payload_format = '{_STANDARD}' THEN e.holds_card_number ELSE b.holds_card_number END,
    s.payload_format"""
_FORMAT_BODY_JOIN = f"""LEFT JOIN LATERAL (SELECT body, holds_card_number FROM {_BODIES}
                                       WHERE s.payload_format <> '{_STANDARD}' AND event_id = e.id
                                             AND payload_format = s.payload_format LIMIT 1) AS b ON true"""  # noqa: S608

# Claim and read what is sent (eventId and body) in one round trip; the event is reached by primary key.
_CLAIM_SQL = f"""
    WITH claimed AS ({leases.claim_statement(
        DELIVERIES, returning="d.id, d.attempt_count, d.event_id, d.subscription_id, d.attempts_before_replay")})
    SELECT c.id, c.attempt_count, c.event_id, c.subscription_id, c.attempts_before_replay, e.event_id,{_FORMAT_BODY}
      FROM claimed c
           CROSS JOIN LATERAL (SELECT id, event_id, body, holds_card_number FROM {_EVENTS}
                                WHERE id = c.event_id LIMIT 1) AS e
           JOIN {_SUBSCRIPTIONS} s ON s.id = c.subscription_id
           {_FORMAT_BODY_JOIN}
     ORDER BY c.id
"""  # noqa: S608 - names from the models' metadata

# Rows leased at ingest are only read: a claim rewrites every row and its indexes, the largest write of the
# pipeline (docs/profiles/). `is_enabled` tells which were disabled meanwhile (they are released, not sent).
_TAKE_SQL = f"""
    SELECT d.id, d.attempt_count + 1, d.event_id, d.subscription_id, d.attempts_before_replay,
           e.event_id,{_FORMAT_BODY}, s.is_enabled
      FROM unnest(%(ids)s::bigint[]) AS x(id)
           CROSS JOIN LATERAL (SELECT * FROM {DELIVERIES.table} WHERE id = x.id LIMIT 1) AS d
           CROSS JOIN LATERAL (SELECT id, event_id, body, holds_card_number FROM {_EVENTS}
                                WHERE id = d.event_id LIMIT 1) AS e
           JOIN {_SUBSCRIPTIONS} s ON s.id = d.subscription_id
           {_FORMAT_BODY_JOIN}
     WHERE {leases.take_condition("d")}
     ORDER BY d.id
"""  # noqa: S608 - names from the models' metadata

# One statement records a batch: every attempt is logged (even if our lease was lost meanwhile: it happened), and
# outcomes are written only to rows still holding our token. Rows travel as two JSON documents: serialising them is
# C code, where array parameters were escaped element by element in Python. Times travel as Unix seconds.
_RECORD_SQL = f"""
    WITH attempts AS (
        INSERT INTO {_ATTEMPTS}
               (delivery_id, attempt_number, started_at, duration_ms, status_code, response_body,
                error_class, error_message, succeeded)
        SELECT a.delivery_id, a.attempt_number, to_timestamp(a.started_at), a.duration_ms, a.status_code,
               a.response_body, a.error_class, a.error_message, a.succeeded
          FROM json_to_recordset(%(attempts)s::json) AS a(delivery_id bigint, attempt_number int,
               started_at float8, duration_ms int, status_code int, response_body text,
               error_class text, error_message text, succeeded bool)
        ON CONFLICT DO NOTHING
    )
    UPDATE {DELIVERIES.table} AS d
       SET status = v.status, next_attempt_at = to_timestamp(v.next_at), last_status_code = v.code,
           last_error = v.err, completed_at = to_timestamp(v.completed), lease_expires_at = NULL,
           claim_token = NULL, attempt_count = v.attempt
      FROM json_to_recordset(%(outcomes)s::json) AS v(id bigint, status text, next_at float8, code int,
                                                     err text, completed float8, attempt int)
     WHERE d.id = v.id AND d.id = ANY(%(ids)s::bigint[]) AND {leases.held_by_sql("d")}
"""  # noqa: S608 - names from the models' metadata

ATTEMPT_KEYS = ("delivery_id", "attempt_number", "started_at", "duration_ms", "status_code", "response_body",
                "error_class", "error_message", "succeeded")
OUTCOME_KEYS = ("id", "status", "next_at", "code", "err", "completed", "attempt")


def claim_deliveries(delivery_ids: list[int], claim_token: uuid.UUID) -> list[Claimed]:
    """Claim the due, enabled, unleased ones among `delivery_ids`, and those already leased to `claim_token` (their
    lease is renewed); others are skipped silently."""
    if not delivery_ids:
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, leases.claim_params(DELIVERIES, delivery_ids, claim_token, timezone.now()))
        return [Claimed(*row) for row in cursor.fetchall()]


def take_leased(delivery_ids: list[int], claim_token: uuid.UUID) -> tuple[list[Claimed], list[int]]:
    """The deliveries among `delivery_ids` leased to `claim_token` with a full sending lease ahead, and the ids
    leased to it whose subscription was disabled meanwhile."""
    if not delivery_ids:
        return [], []
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_SQL, leases.claim_params(DELIVERIES, delivery_ids, claim_token, timezone.now()))
        rows = cursor.fetchall()
    return [Claimed(*row[:9]) for row in rows if row[9]], [row[0] for row in rows if not row[9]]


def record_outcomes(*, claim_token: uuid.UUID, delivery_ids: list[int], attempts: list[tuple],
                    outcomes: list[tuple]) -> int:
    """Insert `attempts` (ATTEMPT_KEYS tuples) and write `outcomes` (OUTCOME_KEYS tuples) to the rows still leased
    to `claim_token`; returns how many outcomes were written."""
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL, {
            "attempts": _json_rows(attempts, ATTEMPT_KEYS), "outcomes": _json_rows(outcomes, OUTCOME_KEYS),
            "ids": leases.id_array(delivery_ids), "token": claim_token,
        })
        return cursor.rowcount


def _json_rows(rows: list[tuple], keys: tuple[str, ...]) -> str:
    """Rows as a JSON array of objects, for json_to_recordset()."""
    return jsoncodec.dumps([dict(zip(keys, row, strict=True)) for row in rows])


def subscriptions_by_id(ids: set[int]) -> dict[int, EventSubscription]:
    """`EventSubscription.objects.in_bulk(ids)` in plain SQL, every column, for the batch being sent: Django building
    that query cost ~340 µs of worker CPU per batch (docs/profiles/). The partner is loaded only to log a failure."""
    fields = EventSubscription._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    statement = f"SELECT {columns} FROM {_SUBSCRIPTIONS} WHERE id = ANY(%s::bigint[])"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(statement, [leases.id_array(sorted(ids))])
        rows = cursor.fetchall()
    names = [f.attname for f in fields]
    # Django's own queries convert JSON columns from text; so must this one (the delivery options are JSON).
    json_columns = [(i, f) for i, f in enumerate(fields) if isinstance(f, JSONField)]
    if json_columns:
        rows = [list(row) for row in rows]
        for row in rows:
            for i, f in json_columns:
                if isinstance(row[i], str):
                    row[i] = f.from_db_value(row[i], None, connection)
    return {row[0]: EventSubscription.from_db(connection.alias, names, row) for row in rows}


# Deliveries a rate-limited endpoint cannot take now wait in the table, not in a worker: back to PENDING, due when a
# slot frees, the attempt given back (a take did not count it; a claim did). Only rows still leased to us.
_POSTPONE_SQL = f"""
    UPDATE {DELIVERIES.table} AS d
       SET status = '{DeliveryStatus.PENDING.value}', claim_token = NULL, lease_expires_at = NULL,
           attempt_count = v.attempts, next_attempt_at = to_timestamp(v.next_at)
      FROM json_to_recordset(%(rows)s::json) AS v(id bigint, attempts int, next_at float8)
     WHERE d.id = v.id AND {leases.held_by_sql("d")}
"""  # noqa: S608 - names from the models' metadata


def postpone_deliveries(*, claim_token: uuid.UUID, rows: list[tuple[int, int, float]]) -> int:
    """Put (delivery id, attempts made, due at as Unix seconds) rows leased to `claim_token` back to PENDING."""
    if not rows:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_POSTPONE_SQL, {"rows": _json_rows(rows, ("id", "attempts", "next_at")), "token": claim_token})
        return cursor.rowcount
