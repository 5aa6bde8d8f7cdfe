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

from django.conf import settings
from django.utils import timezone

from config.logging import log_context
from notifications import guards, leases
from notifications.models import WebhookDelivery
from notifications.slots import TENANT_THREADS
from notifications.webhooks import sql
from notifications.webhooks.bodies import bodies_complete
from notifications.webhooks.endpoint_auth import NO_CREDENTIALS, request_credentials
from notifications.webhooks.ratelimit import rate_limit_acquire, window_seconds
from notifications.webhooks.recording import BatchOutcome, record_batch
from notifications.webhooks.sender import OutgoingRequest, SendResult, WebhookSender, get_sender
from notifications.webhooks.signing import webhook_headers
from subscriptions.models import EventSubscription

logger = logging.getLogger(__name__)

# An endpoint whose answers take this long on average is slow: its batches beyond its slots are deferred at
# once. A faster one's batches wait up to ENDPOINT_CAPACITY_WAIT_SECONDS for room instead: re-queueing them would
# cost a Redis round trip and a task each, for a backlog that drains in milliseconds (docs/profiles/).
SLOW_ENDPOINT_SECONDS = 0.25
ENDPOINT_CAPACITY_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class SentBatch:
    """What a batch sent while it held its endpoint's slot, for recording its outcome after giving the slot back."""
    claim_token: uuid.UUID
    claimed: list[sql.Claimed]
    results: dict[int, SendResult]  # delivery id -> the attempt's result (absent: refused, not sent)
    subscriptions: dict[int, EventSubscription]
    refused: dict[int, str]  # delivery id -> why it was not sent
    postponed: dict[int, float]  # delivery id -> seconds until its endpoint's rate limit lets it go (back to PENDING)


def deliver_batch(
    delivery_ids: list[int], subscription_id: int | None = None, claim_token: uuid.UUID | None = None,
    partner_id: int | None = None,
) -> BatchOutcome:
    """Claim, send and record the given deliveries of one endpoint (`subscription_id`; None: not known, so no batch
    slot is taken). Idempotent: ids that are not due or already held are skipped. `claim_token`: the token ingest
    leased them to (the task's own), if any. `partner_id`: the tenant, when known, whose share of the process's
    threads the batch counts against (slots.TENANT_THREADS)."""
    if partner_id is not None and not TENANT_THREADS.enter(partner_id, limit=settings.WORKER_TENANT_MAX_THREADS):
        # The tenant holds its share of this process's threads: come back shortly rather than take another's.
        return BatchOutcome(retrying={}, deferred=list(delivery_ids), defer_seconds=1.0)
    try:
        return _deliver_batch(delivery_ids, subscription_id, claim_token)
    finally:
        if partner_id is not None:
            TENANT_THREADS.leave(partner_id)


def _deliver_batch(
    delivery_ids: list[int], subscription_id: int | None, claim_token: uuid.UUID | None
) -> BatchOutcome:
    sender = get_sender()
    # A few batch slots per endpoint, so that one batch's database work overlaps the next one's requests; counted in
    # batches, not requests, so that short batches (the rest of an ingest batch) neither wait behind full ones nor let
    # a slow endpoint hold more threads (docs/profiles/).
    if subscription_id is not None and not sender.acquire_batch_slot(
        subscription_id, settings.WEBHOOK_ENDPOINT_BATCHES_PER_PROCESS, wait=ENDPOINT_CAPACITY_WAIT_SECONDS,
        slow_after=SLOW_ENDPOINT_SECONDS,
    ):
        # Every slot of this endpoint is taken in this process and it is slow (or none freed up within the wait):
        # leave the rows as they are (PENDING, or leased to this task) rather than tie up a worker thread behind it,
        # and come back about when the backlog ahead will have drained (its slowness x the rounds of in-flight
        # requests queued): coming back sooner only cycled the batch through the queue again (docs/profiles/). At
        # most 30 s, so a recovered endpoint resumes.
        rounds = max(sender.endpoint_load(subscription_id) / settings.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT, 1.0)
        return BatchOutcome(retrying={}, deferred=list(delivery_ids),
                            defer_seconds=min(max(sender.endpoint_slowness(subscription_id) * rounds, 1.0), 30.0))
    try:
        sent = _claim_and_send(sender, delivery_ids, claim_token)
    finally:
        if subscription_id is not None:
            sender.release_batch_slot(subscription_id)
    if sent is None:
        return BatchOutcome(retrying={})
    outcome = record_batch(sent.claim_token, sent.claimed, sent.results, sent.subscriptions, sent.refused)
    outcome.postponed = sent.postponed
    for c in sent.claimed:
        r = sent.results.get(c.delivery_id)
        if r is not None and not r.succeeded:
            with log_context(event_id=c.event_id, delivery_id=c.delivery_id,
                             tenant=sent.subscriptions[c.subscription_id].partner.tenant_id):
                logger.info("Attempt %d failed: %s", c.attempt_number, r.summary)
    return outcome


def _claim_and_send(
    sender: WebhookSender, delivery_ids: list[int], claim_token: uuid.UUID | None
) -> SentBatch | None:
    """The part of a batch that holds its endpoint's slot: claim the rows, sign and send. None if nothing was due."""
    claimed: list[sql.Claimed] = []
    if claim_token is None:
        claim_token = leases.new_token()
    else:
        claimed, disabled = sql.take_leased(delivery_ids, claim_token)
        if disabled:
            leases.release_leased(sql.DELIVERIES, disabled, claim_token)
        taken = {c.delivery_id for c in claimed}.union(disabled)
        delivery_ids = [i for i in delivery_ids if i not in taken]
    if delivery_ids:
        claimed += sql.claim_deliveries(delivery_ids, claim_token)
    if not claimed:
        return None
    claimed = bodies_complete(claimed)  # bodies in a payloadFormat ingest did not render
    subscriptions = sql.subscriptions_by_id({c.subscription_id for c in claimed})
    secrets = {sid: sub.signing_secrets() for sid, sub in subscriptions.items()}
    credentials = {sid: request_credentials(sub) for sid, sub in subscriptions.items()}
    refused: dict[int, str] = {}
    sendable: list[sql.Claimed] = []
    for c in claimed:
        if c.refused_by_card_guard():
            refused[c.delivery_id] = guards.REFUSAL_REASON
            logger.error("Refused to send delivery %s: its body holds a card number", c.delivery_id,
                         extra={"event_id": c.event_id, "delivery_id": c.delivery_id})
            continue
        sendable.append(c)
    postponed: dict[int, float] = {}
    if any(sub.rate_limit_per_second for sub in subscriptions.values()):
        sendable, postponed = _within_rate_limits(sendable, subscriptions, claim_token)
        claimed = [c for c in claimed if c.delivery_id not in postponed]
    timestamp = int(time.time())
    requests: list[OutgoingRequest] = []
    for c in sendable:
        body = c.body.encode()
        sub = subscriptions[c.subscription_id]
        signed = webhook_headers(secrets[sub.pk], c.event_id, body, timestamp)
        extra = credentials[sub.pk]
        requests.append(
            OutgoingRequest(
                subscription_id=sub.pk,
                url=sub.destination,
                # Custom headers first: the signature headers always win (their names are refused as custom ones).
                headers=signed if extra is NO_CREDENTIALS else {**extra.headers, **signed},
                body=body,
                oauth=extra.oauth,
                client_certificate=extra.client_certificate,
            )
        )
    sent_ids = [c.delivery_id for c in sendable]
    results = dict(zip(sent_ids, sender.send_many(requests), strict=True)) if requests else {}
    return SentBatch(claim_token, claimed, results, subscriptions, refused, postponed)


def _within_rate_limits(
    sendable: list[sql.Claimed], subscriptions: dict[int, EventSubscription], claim_token: uuid.UUID
) -> tuple[list[sql.Claimed], dict[int, float]]:
    """The deliveries their endpoints' rate limits let go now, and the rest (id -> seconds to wait), which are put
    back to PENDING, due when their turn comes: a limited endpoint's backlog waits in the database, never in a
    worker thread, and never fails for it. Each wave of `limit` deliveries is due one window after the previous one,
    so the backlog comes back about when it can go rather than all at once."""
    by_endpoint: dict[int, list[sql.Claimed]] = {}
    kept: list[sql.Claimed] = []
    for c in sendable:
        if subscriptions[c.subscription_id].rate_limit_per_second:
            by_endpoint.setdefault(c.subscription_id, []).append(c)
        else:
            kept.append(c)
    waiting: dict[int, float] = {}
    rows: list[tuple[int, int, float]] = []
    now = time.time()
    for subscription_id, rows_of_endpoint in by_endpoint.items():
        limit = subscriptions[subscription_id].rate_limit_per_second
        grant = rate_limit_acquire(subscription_id=subscription_id, limit=limit, wanted=len(rows_of_endpoint))
        kept += rows_of_endpoint[:grant.granted]
        for position, c in enumerate(rows_of_endpoint[grant.granted:]):
            delay = grant.retry_after + (position // limit) * window_seconds()
            waiting[c.delivery_id] = delay
            rows.append((c.delivery_id, c.attempt_number - 1, now + delay))
    sql.postpone_deliveries(claim_token=claim_token, rows=rows)
    return kept, waiting


def due_delivery_ids(*, limit: int = 5000, grace_seconds: int | None = None) -> dict[int, list[int]]:
    """Open deliveries of enabled subscriptions that no worker holds and whose time has come, grouped by
    subscription, for the re-enqueue sweep (leases.overdue_q)."""
    rows = (
        WebhookDelivery.objects.filter(subscription__is_enabled=True)
        .filter(leases.overdue_q(sql.DELIVERIES, now=timezone.now(), grace_seconds=grace_seconds))
        .order_by("next_attempt_at")
        .values_list("subscription_id", "id")[:limit]
    )
    grouped: dict[int, list[int]] = {}
    for subscription_id, delivery_id in rows:
        grouped.setdefault(subscription_id, []).append(delivery_id)
    return grouped
