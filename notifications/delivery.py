"""Webhook delivery: claim due deliveries, sign and send them, record every attempt and the outcome.

Guarantees (docs/delivery.md):
- A delivery is sent by one worker at a time: claiming takes the rows with `FOR UPDATE SKIP LOCKED` and gives them a
  lease (status SENDING until lease_expires_at) and a fresh claim token.
- A delivery is never marked twice: the outcome is written only `WHERE claim_token = <ours>`; a worker whose lease
  expired and was re-claimed by another cannot overwrite the other's result.
- Nothing is lost: the rows are the truth. A task lost from Redis, or a worker killed mid-send, leaves a PENDING row
  or an expired lease, which `due_delivery_ids` finds again.

A delivery's first attempt needs no claim: ingest writes it already leased to the task it enqueues (status SENDING,
the task's claim token, a lease of `queued_lease_seconds()`), so the worker only reads it (`take_leased`). A claim
rewrites every row and its indexes; it was the largest write of the pipeline (docs/profiles/). Retries, re-enqueued
work and tasks that start too late to hold a full sending lease still claim.
"""

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from config.logging import log_context
from notifications import guards, jsoncodec, retry
from notifications.http_sender import OutgoingRequest, SendResult, WebhookSender, get_sender
from notifications.models import DeliveryStatus, WebhookDelivery
from notifications.signing import webhook_headers
from subscriptions.models import EventSubscription

logger = logging.getLogger(__name__)

# Retries due within this many seconds get a Celery countdown task; later ones are found by the periodic sweep.
COUNTDOWN_HORIZON_SECONDS = 15 * 60
# An endpoint whose answers take this long on average is slow: its batches beyond its slots are deferred at
# once. A faster one's batches wait up to ENDPOINT_CAPACITY_WAIT_SECONDS for room instead: re-queueing them would
# cost a Redis round trip and a task each, for a backlog that drains in milliseconds (docs/profiles/).
SLOW_ENDPOINT_SECONDS = 0.25
ENDPOINT_CAPACITY_WAIT_SECONDS = 2.0


def _id_array(ids: list[int]) -> str:
    """A PostgreSQL array literal (cast with ::bigint[] in the statement): psycopg adapts a list element by element
    in Python, which showed in the worker's profile."""
    return "{" + ",".join(map(str, ids)) + "}"


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    attempt_number: int
    event_pk: int
    subscription_id: int
    attempts_before_replay: int = 0
    event_id: str = ""  # the eventId (webhook-id header)
    body: str = ""  # the exact webhook body stored at ingest
    holds_card_number: bool | None = None  # the guard's verdict taken at ingest (None: not taken)

    def refused_by_card_guard(self) -> bool:
        return guards.contains_card_number(self.body) if self.holds_card_number is None else self.holds_card_number


@dataclass(frozen=True)
class DeliveryBatch:
    """One task's worth of deliveries, all to one endpoint; `claim_token` is the token ingest leased them to."""

    subscription_id: int
    delivery_ids: list[int]
    claim_token: uuid.UUID | None = None


def queued_lease_seconds() -> int:
    """The lease ingest gives the task it enqueues: REQUEUE_GRACE_SECONDS to start (how long any queued work is
    trusted to be on its way) plus a full sending lease, which `take_leased` insists on. A task lost from Redis is
    found again by the re-enqueue sweep once this expires."""
    return settings.REQUEUE_GRACE_SECONDS + settings.DELIVERY_LEASE_SECONDS


@dataclass
class BatchOutcome:
    succeeded: int = 0
    retrying: dict[int, float] | None = None  # delivery id -> seconds until its retry is due
    failed: int = 0
    deferred: list[int] | None = None  # ids not claimed because their endpoint is saturated
    claimed: int = 0
    defer_seconds: float = 1.0  # when to try the deferred ids again


@dataclass(frozen=True)
class SentBatch:
    """What a batch sent while it held its endpoint's slot, for recording its outcome after giving the slot back."""
    claim_token: uuid.UUID
    claimed: list[Claimed]
    results: dict[int, SendResult]  # delivery id -> the attempt's result (absent: refused, not sent)
    subscriptions: dict[int, EventSubscription]
    refused: dict[int, str]  # delivery id -> why it was not sent


def claim_deliveries(delivery_ids: list[int], claim_token: uuid.UUID) -> list[Claimed]:
    """Claim the due, enabled, unleased ones among `delivery_ids`, and those already leased to `claim_token` (their
    lease is renewed); others are skipped silently."""
    if not delivery_ids:
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        # One round trip claims the rows and reads what is sent (eventId and body) with them. Every row is reached
        # through its primary key (unnest + LATERAL): given the statistics of a young or fast-growing table, the
        # planner otherwise intersected the indexes of every open delivery of the endpoint (docs/profiles/).
        cursor.execute(
            """
            WITH claimed AS (
                UPDATE notifications_webhookdelivery AS d
                   SET status = 'SENDING', claim_token = %(token)s, attempt_count = d.attempt_count + 1,
                       lease_expires_at = %(now)s + make_interval(secs => %(lease)s)
                  FROM unnest(%(ids)s::bigint[]) AS x(id)
                       CROSS JOIN LATERAL (
                           SELECT w.id FROM notifications_webhookdelivery w
                            WHERE w.id = x.id
                              AND ((w.status = 'PENDING' AND w.next_attempt_at <= %(now)s)
                                   OR (w.status = 'SENDING'
                                       AND (w.lease_expires_at < %(now)s OR w.claim_token = %(token)s)))
                              AND EXISTS (SELECT 1 FROM subscriptions_eventsubscription s
                                           WHERE s.id = w.subscription_id AND s.is_enabled)
                              FOR UPDATE SKIP LOCKED) AS picked
                 WHERE d.id = picked.id
                RETURNING d.id, d.attempt_count, d.event_id, d.subscription_id, d.attempts_before_replay
            )
            SELECT c.id, c.attempt_count, c.event_id, c.subscription_id, c.attempts_before_replay, e.event_id, e.body,
                   e.holds_card_number
              FROM claimed c
                   CROSS JOIN LATERAL (SELECT event_id, body, holds_card_number FROM notifications_event
                                        WHERE id = c.event_id LIMIT 1) AS e
             ORDER BY c.id
            """,
            # The application clock, not the database's: next_attempt_at is written from Python too.
            {"token": claim_token, "lease": settings.DELIVERY_LEASE_SECONDS, "ids": _id_array(delivery_ids),
             "now": timezone.now()},
        )
        return [Claimed(*row) for row in cursor.fetchall()]


def take_leased(delivery_ids: list[int], claim_token: uuid.UUID) -> tuple[list[Claimed], list[int]]:
    """The deliveries among `delivery_ids` that ingest leased to `claim_token` and that still have a full sending
    lease ahead (DELIVERY_LEASE_SECONDS, as a claim would give): this task may send them without writing anything
    first. Also returns the ids leased to it whose subscription was disabled meanwhile (`release_leased`)."""
    if not delivery_ids:
        return [], []
    with connection.cursor() as cursor:
        # Primary-key lookups only, for the reason given in claim_deliveries.
        cursor.execute(
            """
            SELECT d.id, d.attempt_count + 1, d.event_id, d.subscription_id, d.attempts_before_replay,
                   e.event_id, e.body, e.holds_card_number, s.is_enabled
              FROM unnest(%(ids)s::bigint[]) AS x(id)
                   CROSS JOIN LATERAL (SELECT * FROM notifications_webhookdelivery WHERE id = x.id LIMIT 1) AS d
                   CROSS JOIN LATERAL (SELECT event_id, body, holds_card_number FROM notifications_event
                                        WHERE id = d.event_id LIMIT 1) AS e
                   JOIN subscriptions_eventsubscription s ON s.id = d.subscription_id
             WHERE d.claim_token = %(token)s AND d.status = 'SENDING'
               AND d.lease_expires_at >= %(now)s + make_interval(secs => %(lease)s)
             ORDER BY d.id
            """,
            {"token": claim_token, "lease": settings.DELIVERY_LEASE_SECONDS, "ids": _id_array(delivery_ids),
             "now": timezone.now()},
        )
        rows = cursor.fetchall()
    return [Claimed(*row[:8]) for row in rows if row[8]], [row[0] for row in rows if not row[8]]


def release_leased(delivery_ids: list[int], claim_token: uuid.UUID) -> int:
    """Back to PENDING: deliveries leased to `claim_token` that will not be sent now (their subscription is
    disabled; re-enabling it sends what is PENDING)."""
    return WebhookDelivery.objects.filter(
        pk__in=delivery_ids, claim_token=claim_token, status=DeliveryStatus.SENDING
    ).update(status=DeliveryStatus.PENDING, claim_token=None, lease_expires_at=None)


def _record(
    claim_token: uuid.UUID,
    claimed: list[Claimed],
    results: dict[int, SendResult],
    subscriptions: dict[int, EventSubscription],
    refused: dict[int, str],
) -> BatchOutcome:
    """Write attempts and outcomes in one transaction; only rows still holding our claim token are updated."""
    # Times travel as Unix seconds, turned into timestamps by the statement (isoformat() per value showed in the
    # worker's profile).
    now = time.time()
    outcome = BatchOutcome(retrying={}, claimed=len(claimed))
    attempts: list[tuple] = []
    rows: list[tuple] = []  # (id, status, next attempt at, last status code, last error, completed at, attempt)
    for c in claimed:
        sub = subscriptions[c.subscription_id]
        if c.delivery_id in refused:
            reason = refused[c.delivery_id]
            rows.append((c.delivery_id, DeliveryStatus.FAILED, now, None, reason, now, c.attempt_number))
            outcome.failed += 1
            continue
        r = results[c.delivery_id]
        attempts.append((c.delivery_id, c.attempt_number, r.started_at.timestamp(), r.duration_ms, r.status_code,
                         r.response_excerpt.replace("\x00", "\ufffd"), r.error_class, r.error_message, r.succeeded))
        error = r.summary
        if r.succeeded:
            rows.append((c.delivery_id, DeliveryStatus.SUCCEEDED, now, r.status_code, "", now, c.attempt_number))
            outcome.succeeded += 1
        elif r.status_code == 410 or not retry.has_retries_left(
            attempts_made=c.attempt_number - c.attempts_before_replay, max_retries=sub.max_retries
        ):
            rows.append((c.delivery_id, DeliveryStatus.FAILED, now, r.status_code, error, now, c.attempt_number))
            outcome.failed += 1
        else:
            delay = retry.retry_delay_seconds(
                retry_number=c.attempt_number - c.attempts_before_replay,
                base_interval=sub.retry_interval_seconds,
                retry_after=r.retry_after,
            )
            rows.append((c.delivery_id, DeliveryStatus.PENDING, now + delay, r.status_code, error, None,
                         c.attempt_number))
            outcome.retrying[c.delivery_id] = delay
    with transaction.atomic():
        with connection.cursor() as cursor:
            # One statement: every attempt is logged (even if our lease was lost meanwhile: it happened), and the
            # outcome is written only to rows still holding our claim token. The rows travel as two JSON documents:
            # serialising them is C code, where array parameters were escaped element by element in Python.
            cursor.execute(
                """
                WITH attempts AS (
                    INSERT INTO notifications_deliveryattempt
                           (delivery_id, attempt_number, started_at, duration_ms, status_code, response_body,
                            error_class, error_message, succeeded)
                    SELECT a.delivery_id, a.attempt_number, to_timestamp(a.started_at), a.duration_ms, a.status_code,
                           a.response_body, a.error_class, a.error_message, a.succeeded
                      FROM json_to_recordset(%s::json) AS a(delivery_id bigint, attempt_number int,
                           started_at float8, duration_ms int, status_code int, response_body text,
                           error_class text, error_message text, succeeded bool)
                    ON CONFLICT DO NOTHING
                )
                UPDATE notifications_webhookdelivery AS d
                   SET status = v.status, next_attempt_at = to_timestamp(v.next_at), last_status_code = v.code,
                       last_error = v.err, completed_at = to_timestamp(v.completed), lease_expires_at = NULL,
                       claim_token = NULL, attempt_count = v.attempt
                  FROM json_to_recordset(%s::json) AS v(id bigint, status text, next_at float8, code int,
                                                         err text, completed float8, attempt int)
                 WHERE d.id = v.id AND d.id = ANY(%s::bigint[]) AND d.claim_token = %s
                """,
                [_json_rows(attempts, _ATTEMPT_KEYS), _json_rows(rows, _OUTCOME_KEYS),
                 _id_array([c.delivery_id for c in claimed]), claim_token],
            )
            if cursor.rowcount != len(rows):
                logger.warning("%d deliveries were re-claimed by another worker; their outcome was not overwritten",
                               len(rows) - cursor.rowcount)
        from notifications import endpoint_health

        endpoint_health.record_outcomes(claimed=claimed, results=results, subscriptions=subscriptions)
    return outcome


_ATTEMPT_KEYS = ("delivery_id", "attempt_number", "started_at", "duration_ms", "status_code", "response_body",
                 "error_class", "error_message", "succeeded")
_OUTCOME_KEYS = ("id", "status", "next_at", "code", "err", "completed", "attempt")


def _json_rows(rows: list[tuple], keys: tuple[str, ...]) -> str:
    """Rows as a JSON array of objects, for json_to_recordset()."""
    return jsoncodec.dumps([dict(zip(keys, row, strict=True)) for row in rows])


def deliver_batch(
    delivery_ids: list[int], endpoint_key: str | None = None, claim_token: uuid.UUID | None = None
) -> BatchOutcome:
    """Claim, send and record the given deliveries. Idempotent: ids that are not due or already held are skipped.
    `claim_token`: the token ingest leased them to (the task's own), if any."""
    sender = get_sender()
    # A few batch slots per endpoint, so that one batch's database work overlaps the next one's requests; counted in
    # batches, not requests, so that short batches (the rest of an ingest batch) neither wait behind full ones nor let
    # a slow endpoint hold more threads (docs/profiles/).
    if endpoint_key is not None and not sender.acquire_batch_slot(
        endpoint_key, settings.WEBHOOK_ENDPOINT_BATCHES_PER_PROCESS, wait=ENDPOINT_CAPACITY_WAIT_SECONDS,
        slow_after=SLOW_ENDPOINT_SECONDS,
    ):
        # Every slot of this endpoint is taken in this process and it is slow (or none freed up within the wait):
        # leave the rows as they are (PENDING, or leased to this task) rather than tie up a worker thread behind it,
        # and come back about when the backlog ahead will have drained (its slowness x the rounds of in-flight
        # requests queued): coming back sooner only cycled the batch through the queue again (docs/profiles/). At
        # most 30 s, so a recovered endpoint resumes.
        rounds = max(sender.endpoint_load(endpoint_key) / settings.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT, 1.0)
        return BatchOutcome(retrying={}, deferred=list(delivery_ids),
                            defer_seconds=min(max(sender.endpoint_slowness(endpoint_key) * rounds, 1.0), 30.0))
    try:
        sent = _claim_and_send(sender, delivery_ids, claim_token)
    finally:
        if endpoint_key is not None:
            sender.release_batch_slot(endpoint_key)
    if sent is None:
        return BatchOutcome(retrying={})
    outcome = _record(sent.claim_token, sent.claimed, sent.results, sent.subscriptions, sent.refused)
    for c in sent.claimed:
        r = sent.results.get(c.delivery_id)
        if r is not None and not r.succeeded:
            with log_context(event_id=c.event_id, delivery_id=c.delivery_id,
                             tenant=sent.subscriptions[c.subscription_id].partner.tenant_id):
                logger.info("Attempt %d failed: %s", c.attempt_number, r.summary)
    return outcome


def subscriptions_by_id(ids: set[int]) -> dict[int, EventSubscription]:
    """`EventSubscription.objects.in_bulk(ids)` in plain SQL, every column, for the batch being sent: Django building
    that query cost ~340 µs of worker CPU per batch (docs/profiles/). The partner is loaded only to log a failure."""
    fields = EventSubscription._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    # Names from the model's own metadata, the ids bound as a parameter.
    statement = f"SELECT {columns} FROM {EventSubscription._meta.db_table} WHERE id = ANY(%s::bigint[])"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(statement, [_id_array(sorted(ids))])
        rows = cursor.fetchall()
    names = [f.attname for f in fields]
    return {row[0]: EventSubscription.from_db(connection.alias, names, row) for row in rows}


def _claim_and_send(
    sender: WebhookSender, delivery_ids: list[int], claim_token: uuid.UUID | None
) -> SentBatch | None:
    """The part of a batch that holds its endpoint's slot: claim the rows, sign and send. None if nothing was due."""
    claimed: list[Claimed] = []
    if claim_token is None:
        claim_token = uuid.uuid4()
    else:
        claimed, disabled = take_leased(delivery_ids, claim_token)
        if disabled:
            release_leased(disabled, claim_token)
        taken = {c.delivery_id for c in claimed}.union(disabled)
        delivery_ids = [i for i in delivery_ids if i not in taken]
    if delivery_ids:
        claimed += claim_deliveries(delivery_ids, claim_token)
    if not claimed:
        return None
    subscriptions = subscriptions_by_id({c.subscription_id for c in claimed})
    secrets = {sid: sub.signing_secrets() for sid, sub in subscriptions.items()}
    timestamp = int(time.time())
    requests: list[OutgoingRequest] = []
    sent_ids: list[int] = []
    refused: dict[int, str] = {}
    for c in claimed:
        if c.refused_by_card_guard():
            refused[c.delivery_id] = guards.REFUSAL_REASON
            logger.error("Refused to send delivery %s: its body holds a card number", c.delivery_id,
                         extra={"event_id": c.event_id, "delivery_id": c.delivery_id})
            continue
        body = c.body.encode()
        sub = subscriptions[c.subscription_id]
        requests.append(
            OutgoingRequest(
                endpoint_key=str(sub.pk),
                url=sub.destination,
                headers=webhook_headers(secrets[sub.pk], c.event_id, body, timestamp),
                body=body,
            )
        )
        sent_ids.append(c.delivery_id)
    results = dict(zip(sent_ids, sender.send_many(requests), strict=True)) if requests else {}
    return SentBatch(claim_token, claimed, results, subscriptions, refused)


def due_delivery_ids(*, limit: int = 5000, grace_seconds: int | None = None) -> dict[int, list[int]]:
    """Open deliveries no worker holds whose time has come, grouped by subscription, for the periodic re-enqueue
    sweep. PENDING rows must be overdue by `grace_seconds`, so freshly queued work is left to its own task."""
    now = timezone.now()
    grace_seconds = settings.REQUEUE_GRACE_SECONDS if grace_seconds is None else grace_seconds
    rows = (
        WebhookDelivery.objects.filter(subscription__is_enabled=True)
        .filter(
            Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now - timedelta(seconds=grace_seconds))
            | Q(status=DeliveryStatus.SENDING, lease_expires_at__lt=now)
        )
        .order_by("next_attempt_at")
        .values_list("subscription_id", "id")[:limit]
    )
    grouped: dict[int, list[int]] = {}
    for subscription_id, delivery_id in rows:
        grouped.setdefault(subscription_id, []).append(delivery_id)
    return grouped
