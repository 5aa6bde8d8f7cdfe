"""The lease protocol: how a worker takes rows of an outbox table (webhook deliveries, customer messages) to send,
so that every row is sent by one worker at a time, its outcome is written once, and nothing is lost.

A row waits in a waiting status (PENDING, or HELD for quiet hours) until `next_attempt_at`. To send it, a worker
*claims* it: status SENDING, a fresh `claim_token`, `lease_expires_at` = now + the table's lease, attempt counted.
Rows may also be written already leased to the task that will send them (ingest does this for first attempts), and
that task *takes* them without writing anything, as long as a full lease lies ahead. The outcome is written only
to rows still holding the writer's token (`held_by`), so a worker whose lease expired and whose rows another worker
re-claimed can never overwrite the newer outcome. A task lost from Redis or a worker killed mid-send leaves a due
or expired row, which the re-enqueue sweep finds (`overdue_q`).

Statements reach every row through its primary key (unnest + LATERAL): given the statistics of a young or
fast-growing table, the planner otherwise intersected the indexes of every open row (docs/profiles/)."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Model, Q

SENDING = "SENDING"


@dataclass(frozen=True)
class LeasedTable:
    """A table whose rows are sent under this protocol (columns status, next_attempt_at, lease_expires_at,
    claim_token, attempt_count)."""

    model: type[Model]
    waiting_statuses: tuple[str, ...]
    lease_setting: str  # the setting that holds the lease length in seconds
    # Waiting statuses the re-enqueue sweep takes at once, without the grace given to work just enqueued (HELD rows:
    # nobody enqueued them when they were held).
    no_grace_statuses: tuple[str, ...] = ()
    # An extra condition a row `w` must meet to be claimed (e.g. its subscription is enabled).
    claim_guard: str = ""

    @property
    def table(self) -> str:
        return connection.ops.quote_name(self.model._meta.db_table)

    def lease_seconds(self) -> int:
        return getattr(settings, self.lease_setting)


def id_array(ids: list[int]) -> str:
    """A PostgreSQL array literal (cast with ::bigint[] in the statement): psycopg adapts a list element by element
    in Python, which showed in the worker's profile."""
    return "{" + ",".join(map(str, ids)) + "}"


def new_token() -> uuid.UUID:
    return uuid.uuid4()


def queued_lease_seconds(leased: LeasedTable) -> int:
    """The lease given to rows written leased to the task enqueued for them: REQUEUE_GRACE_SECONDS for the task to
    start (how long any queued work is trusted to be on its way) plus a full sending lease, which `take_statement`
    insists on. A task lost from Redis is found again by the re-enqueue sweep once this expires."""
    return settings.REQUEUE_GRACE_SECONDS + leased.lease_seconds()


def claim_statement(leased: LeasedTable, *, returning: str) -> str:
    """UPDATE … RETURNING `returning` (columns of `d`): claims the rows among %(ids)s that are due, whose lease
    expired, or that are already leased to %(token)s (their lease is renewed); rows locked by another transaction are
    skipped (SKIP LOCKED), never waited for. Parameters: `claim_params`."""
    waiting = ", ".join(f"'{status}'" for status in leased.waiting_statuses)
    guard = f"AND ({leased.claim_guard})" if leased.claim_guard else ""
    # Table names from the model's metadata, statuses from code: nothing here comes from input.
    return f"""
        UPDATE {leased.table} AS d
           SET status = '{SENDING}', claim_token = %(token)s, attempt_count = d.attempt_count + 1,
               lease_expires_at = %(now)s + make_interval(secs => %(lease)s)
          FROM unnest(%(ids)s::bigint[]) AS x(id)
               CROSS JOIN LATERAL (
                   SELECT w.id FROM {leased.table} w
                    WHERE w.id = x.id
                      AND ((w.status IN ({waiting}) AND w.next_attempt_at <= %(now)s)
                           OR (w.status = '{SENDING}' AND (w.lease_expires_at < %(now)s OR w.claim_token = %(token)s)))
                      {guard}
                      FOR UPDATE SKIP LOCKED) AS picked
         WHERE d.id = picked.id
        RETURNING {returning}"""  # noqa: S608


def claim_params(leased: LeasedTable, ids: list[int], token: uuid.UUID, now: datetime) -> dict:
    # The application clock, not the database's: next_attempt_at is written from Python too.
    return {"token": token, "lease": leased.lease_seconds(), "ids": id_array(ids), "now": now}


def take_condition(alias: str) -> str:
    """The rows leased to %(token)s with a full lease (%(lease)s seconds) still ahead: the task they were leased to
    may send them without writing anything first. Parameters: `claim_params`."""
    return (f"{alias}.claim_token = %(token)s AND {alias}.status = '{SENDING}' "
            f"AND {alias}.lease_expires_at >= %(now)s + make_interval(secs => %(lease)s)")


def release_leased(leased: LeasedTable, ids: list[int], token: uuid.UUID) -> int:
    """Back to the first waiting status: rows leased to `token` that will not be sent now."""
    return leased.model.objects.filter(pk__in=ids, claim_token=token, status=SENDING).update(
        status=leased.waiting_statuses[0], claim_token=None, lease_expires_at=None
    )


def held_by(token: uuid.UUID) -> Q:
    """Rows still leased to `token`: the only rows whose outcome its holder may write."""
    return Q(claim_token=token, status=SENDING)


def held_by_sql(alias: str) -> str:
    """`held_by` in SQL, for statements that write outcomes; the token is %(token)s."""
    return f"{alias}.claim_token = %(token)s AND {alias}.status = '{SENDING}'"


def overdue_q(leased: LeasedTable, *, now: datetime, grace_seconds: int | None = None) -> Q:
    """Rows no worker holds whose time has come, for the re-enqueue sweep. Waiting rows must be overdue by
    `grace_seconds` (default REQUEUE_GRACE_SECONDS), so work just enqueued is left to its own task."""
    grace = settings.REQUEUE_GRACE_SECONDS if grace_seconds is None else grace_seconds
    graced = [s for s in leased.waiting_statuses if s not in leased.no_grace_statuses]
    due = Q(status__in=graced, next_attempt_at__lte=now - timedelta(seconds=grace))
    if leased.no_grace_statuses:
        due |= Q(status__in=leased.no_grace_statuses, next_attempt_at__lte=now)
    return due | Q(status=SENDING, lease_expires_at__lt=now)
