"""Sending customer messages under the lease protocol (`notifications.leases`): claim, send through the channel
adapter, record the outcome exactly once.

The row is the source of truth (healthchecks' "write the message first, the outcome after"): claimed in a short
transaction (SENDING, a lease, a fresh claim token, the attempt counted); sent outside any transaction (a slow
provider holds no locks); the outcome written only while the claim is still ours, so a worker whose lease expired
and whose row was re-claimed can never overwrite the newer outcome.

Outcomes: SENT; a transient error goes back to PENDING on the customer-message schedule of `notifications.retry`
(HELD if the retry would land in quiet hours) until CUSTOMER_MESSAGE_MAX_ATTEMPTS; a permanent error, or retries
exhausted, is FAILED and may create a fallback on the product's next channel. A body or subject holding a card
number is never sent.

`message_send_batch` returns {message_id: delay_seconds} for every row the caller should enqueue again (retries,
re-held messages and new fallbacks); `message_due_ids` is what the re-enqueue sweep finds."""

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.logging import log_context
from notifications import guards, leases, retry
from notifications.messaging import sql
from notifications.messaging.channels import (
    CardNumberRefused,
    ChannelAdapter,
    TransportError,
    channel_adapter,
    message_card_number_fields,
)
from notifications.messaging.planning import messages_plan
from notifications.messaging.receipts import message_undelivered_follow_up
from notifications.messaging.rendering import Rendered, messages_render
from notifications.messaging.routing import KnownSubjects, message_fallback_plan, subjects_resolve
from notifications.models import CustomerChannel, CustomerMessage, MessageStatus
from notifications.slots import TENANT_THREADS, DurationAverage
from subscriptions.catalog import get_event
from templates.quiet_hours import quiet_hours_end, quiet_window_for
from templates.selectors import quiet_policies_load
from wallets.services.preferences import cardholder_destination_invalidate

logger = logging.getLogger(__name__)

def message_due_by_partner(*, limit: int = 1000, grace_seconds: int | None = None) -> dict[int, list[int]]:
    """Ids of messages that are due and not held by a live lease, oldest due first, per tenant, for the re-enqueue
    sweep (leases.overdue_q: PENDING rows overdue by the grace, HELD rows and expired leases at once)."""
    overdue = leases.overdue_q(sql.MESSAGES, now=timezone.now(), grace_seconds=grace_seconds)
    rows = CustomerMessage.objects.filter(overdue).order_by("next_attempt_at", "id").values_list("partner_id", "pk")
    grouped: dict[int, list[int]] = {}
    for partner_id, pk in rows[:limit]:
        grouped.setdefault(partner_id, []).append(pk)
    return grouped


def message_due_ids(*, limit: int = 1000, grace_seconds: int | None = None) -> list[int]:
    return [pk for ids in message_due_by_partner(limit=limit, grace_seconds=grace_seconds).values() for pk in ids]


def _claim(ids: list[int]) -> list[CustomerMessage]:
    token, claimed = sql.messages_claim(ids)
    if not claimed:
        return []
    return list(
        CustomerMessage.objects.filter(pk__in=claimed, claim_token=token)
        .select_related("event", "event__partner", "cardholder", "template", "product")
        .order_by("id")
    )


def _record(message: CustomerMessage, **fields) -> bool:
    """Write an outcome if this worker still holds the claim; False when another worker took the row over. The text
    rendered for this attempt is written with it (one statement per message)."""
    fields = {**getattr(message, "rendered_now", {}), **fields}
    updated = CustomerMessage.objects.filter(leases.held_by(message.claim_token), pk=message.pk).update(**fields)
    if not updated:
        logger.warning("Claim on message %s was lost (lease expired); outcome not recorded", message.pk)
    return bool(updated)


def _quiet_until(message: CustomerMessage, at: datetime) -> datetime | None:
    """End of the cardholder's quiet hours if `at` falls inside them (urgent events are never held)."""
    definition = get_event(message.event.event_name)
    if definition is None or definition.urgent or message.cardholder is None:
        return None
    if message.channel == CustomerChannel.IN_APP:  # storing in the inbox disturbs nobody
        return None
    subject = subjects_resolve([message.event])[0]
    product = subject.product if subject is not None else None
    policy = quiet_policies_load(product_ids=[product.pk]).get(product.pk) if product is not None else None
    window = quiet_window_for(policy=policy, cardholder=message.cardholder)
    return quiet_hours_end(now=at, tz_name=message.cardholder.timezone, window=window)


def _fail(
    message: CustomerMessage, *, error: str, now: datetime, fallback: bool, skip_reason: str = "",
    error_code: str = "", dead_destination: bool = False, **fields,
) -> dict:
    """FAILED, plus (in the same transaction) the invalid mark of a destination the provider called dead and the
    fallback message; returns {fallback_id: delay} if one was made."""
    with transaction.atomic():
        if not _record(
            message, status=MessageStatus.FAILED, last_error=error[:500], skip_reason=skip_reason,
            provider_error_code=error_code, lease_expires_at=None, finished_at=now, **fields,
        ):
            return {}
        if dead_destination and message.cardholder_id:
            # Before the fallback is planned, so routing already skips this destination.
            cardholder_destination_invalidate(cardholder_id=message.cardholder_id, channel=message.channel,
                                              recipient=message.recipient, reason=error, error_code=error_code)
        if not fallback:
            return {}
        backup = message_fallback_plan(failed=message, now=now)
        if backup is None:
            return {}
        backup.save()
    logger.info("Message %s failed for good; falling back to %s message %s", message.pk, backup.channel, backup.pk)
    return {backup.pk: max(0.0, (backup.next_attempt_at - now).total_seconds())}


def _refuse(message: CustomerMessage) -> dict[int, float]:
    """A field of the message holds a card number: FAILED with the reason and no fallback (the other channels would
    carry the same data); its text is stored masked."""
    logger.error("Message %s refused: its text contains a card number", message.pk)
    return _fail(message, error=guards.REFUSAL_REASON, skip_reason=guards.REFUSAL_REASON, now=timezone.now(),
                 fallback=False, subject=guards.mask_card_numbers(message.subject),
                 body=guards.mask_card_numbers(message.body),
                 html_body=guards.mask_card_numbers(message.html_body))


# Successful sends are recorded in groups, one statement each (sql.messages_record_sent): at most RECORD_GROUP_SIZE
# messages, and none waits more than RECORD_GROUP_SECONDS (plus the send in progress) for its record. One statement
# per message was most of the messaging worker's database time (docs/profiles/). The bound also bounds what a worker
# killed mid-chunk sends again once its lease expires (at-least-once): the group, where it was one message.
RECORD_GROUP_SIZE = 20
RECORD_GROUP_SECONDS = 0.1


class _SentGroup:
    """Messages of one claim (`token`) their provider accepted, whose record is not written yet."""

    def __init__(self, token: uuid.UUID) -> None:
        self.token = token
        self.waiting: list[tuple[CustomerMessage, str]] = []
        self.first_at = 0.0

    def add(self, message: CustomerMessage, provider_message_id: str) -> None:
        if not self.waiting:
            self.first_at = time.monotonic()
        self.waiting.append((message, provider_message_id[:200]))

    def due(self) -> bool:
        return bool(self.waiting) and (len(self.waiting) >= RECORD_GROUP_SIZE
                                       or time.monotonic() - self.first_at >= RECORD_GROUP_SECONDS)

    def flush(self) -> dict[int, float]:
        """SENT for each waiting message still held, or the provider's receipt when it overtook us (a status
        callback can arrive before this write): then an UNDELIVERED receipt's consequences are this worker's to
        draw (`receipts.message_undelivered_follow_up`), in the transaction that records it."""
        waiting, self.waiting = self.waiting, []
        if not waiting:
            return {}
        now = timezone.now()
        sent = [sql.SentMessage(message_id=m.pk, provider_message_id=provider_id, rendered=_rendered_text(m))
                for m, provider_id in waiting]
        follow_ups: dict[int, float] = {}
        with transaction.atomic():
            written = sql.messages_record_sent(self.token, sent, now)
            for message, provider_id in waiting:
                if message.pk not in written:
                    logger.warning("Claim on message %s was lost (lease expired); outcome not recorded", message.pk)
                    continue
                message.status, message.provider_error_code = written[message.pk]
                message.provider_message_id = provider_id
                if message.status == MessageStatus.UNDELIVERED:
                    follow_ups.update(message_undelivered_follow_up(message, now=now))
        return follow_ups


def _rendered_text(message: CustomerMessage) -> tuple[str, str, str, datetime] | None:
    """The text rendered for this attempt (written with its outcome), or None when an earlier attempt's is kept."""
    now = getattr(message, "rendered_now", None)
    if not now:
        return None
    return now["subject"], now["body"], now["html_body"], now["rendered_at"]


def _send_one(
    message: CustomerMessage, adapters: dict[str, ChannelAdapter], rendered: Rendered | None, sent: _SentGroup
) -> dict[int, float]:
    """Send one claimed message; a success joins `sent` (recorded with its group), any other outcome is written
    now. Returns {message id: delay} to enqueue again (a retry, a re-held message or a fallback)."""
    if rendered is not None:
        if rendered.error:
            # The partner's template failed for this message only: it is not sent, and its fallback channel is tried.
            return _fail(message, error=rendered.error, skip_reason=rendered.skip_reason, now=timezone.now(),
                         fallback=True)
        message.subject, message.body, message.rendered_at = rendered.subject, rendered.body, timezone.now()
        message.html_body = rendered.html
        # Written with this attempt's outcome (_record), so a retry sends the same text without rendering again.
        message.rendered_now = {"subject": message.subject, "body": message.body, "html_body": message.html_body,
                                "rendered_at": message.rendered_at}
    if message_card_number_fields(message):
        return _refuse(message)
    try:
        if message.channel not in adapters:
            adapters[message.channel] = channel_adapter(message.channel)
        result = adapters[message.channel].send(message)
    except CardNumberRefused:
        return _refuse(message)
    except TransportError as exc:
        error = exc
    except Exception as exc:  # an adapter bug or misconfiguration must not lose the row: retry it
        logger.exception("Channel %s crashed on message %s", message.channel, message.pk)
        error = TransportError(f"{type(exc).__name__}: {exc}", permanent=False)
    else:
        logger.info("Message %s sent via %s (%s)", message.pk, message.channel, result.provider_message_id)
        sent.add(message, result.provider_message_id)
        return {}

    now = timezone.now()
    attempts = message.attempt_count
    if error.permanent:
        logger.warning("Message %s failed permanently: %s", message.pk, error.message)
        return _fail(message, error=error.message, now=now, fallback=True, error_code=error.error_code,
                     dead_destination=error.invalid_destination)
    if not retry.has_retries_left(attempts_made=attempts, max_retries=settings.CUSTOMER_MESSAGE_MAX_ATTEMPTS - 1):
        logger.warning("Message %s gave up after %s attempts: %s", message.pk, attempts, error.message)
        return _fail(message, error=f"{error.message} (gave up after {attempts} attempts)", now=now, fallback=True,
                     error_code=error.error_code)
    delay = retry.retry_delay_seconds(retry.MESSAGE_SCHEDULE, retry_number=attempts, retry_after=error.retry_after)
    next_at = now + timedelta(seconds=delay)
    held_until = _quiet_until(message, next_at)
    status = MessageStatus.PENDING
    if held_until is not None:
        status, next_at, delay = MessageStatus.HELD, held_until, (held_until - now).total_seconds()
    if not _record(message, status=status, next_attempt_at=next_at, last_error=error.message[:500],
                   provider_error_code=error.error_code, lease_expires_at=None):
        return {}
    logger.info("Message %s failed (attempt %s), retry in %.0f s: %s", message.pk, attempts, delay, error.message)
    return {message.pk: delay}


def message_send_batch(*, message_ids: list[int], known: KnownSubjects | None = None) -> dict[int, float]:
    """Claim the due messages among `message_ids`, send them and record each outcome once. `known`: what the
    task's events are about, when its planning resolved them (routing.subjects_resolve).

    Returns {message_id: delay_seconds} for every message to enqueue again: retries, messages re-held for quiet
    hours and new fallback messages. Messages not due or claimed by another worker are left alone."""
    requeue: dict[int, float] = {}
    adapters: dict[str, ChannelAdapter] = {}
    ids = list(dict.fromkeys(message_ids))
    chunk = max(1, settings.CUSTOMER_MESSAGE_CLAIM_CHUNK)
    # Claim in chunks so every lease covers only the sends that follow it.
    for start in range(0, len(ids), chunk):
        claimed = _claim(ids[start : start + chunk])
        if not claimed:
            continue
        rendered = messages_render(claimed, known)
        sent = _SentGroup(claimed[0].claim_token)  # one claim: the chunk's messages share its token
        try:
            for message in claimed:
                if sent.due():
                    requeue.update(sent.flush())
                with log_context(message_id=message.pk, event_id=message.event.event_id,
                                 tenant=message.event.partner.tenant_id):
                    requeue.update(_send_one(message, adapters, rendered.get(message.pk), sent))
        finally:
            requeue.update(sent.flush())
    return requeue


# How long each tenant's message batches take in this process: a deferred batch comes back about when one of the
# tenant's running batches will have finished.
_TENANT_BATCH_SECONDS = DurationAverage()


@dataclass
class TenantBatchOutcome:
    follow_ups: dict[int, float] = field(default_factory=dict)  # message id -> seconds until it is due
    deferred: bool = False  # nothing done now: the tenant holds its share of the threads; send the batch again
    defer_seconds: float = 1.0
    to_send: list[int] = field(default_factory=list)  # due now, beyond this batch's `send_at_most`: for other tasks


def _plan_and_send(message_ids: list[int], event_ids: list[int], send_at_most: int | None) -> TenantBatchOutcome:
    known: KnownSubjects = {}  # planning resolves each event's cardholder and card; rendering reuses them
    due = [*message_ids, *(messages_plan(event_ids=event_ids, known=known) if event_ids else [])]
    here, later = (due[:send_at_most], due[send_at_most:]) if send_at_most is not None else (due, [])
    return TenantBatchOutcome(follow_ups=message_send_batch(message_ids=here, known=known), to_send=later)


def message_send_tenant_batch(
    *, partner_id: int | None, message_ids: list[int] = (), event_ids: list[int] = (), send_at_most: int | None = None
) -> TenantBatchOutcome:
    """Plan the messages of one tenant's customer-facing `event_ids` and send them (at most `send_at_most` here: the
    rest come back in `to_send`), and send its `message_ids`, within the tenant's share of this process's threads
    (slots.TENANT_THREADS): one tenant's flood, slow templates or slow provider account cannot take the threads the
    other tenants' messages and webhooks need."""
    message_ids, event_ids = list(message_ids), list(event_ids)
    if partner_id is None:
        return _plan_and_send(message_ids, event_ids, send_at_most)
    if not TENANT_THREADS.enter(partner_id, limit=settings.WORKER_TENANT_MAX_THREADS):
        # At most 30 s, so a tenant whose batches were slow resumes soon after they speed up.
        seconds = min(max(_TENANT_BATCH_SECONDS.seconds(partner_id), 1.0), 30.0)
        return TenantBatchOutcome(deferred=True, defer_seconds=seconds)
    started = _TENANT_BATCH_SECONDS.started(partner_id)
    try:
        return _plan_and_send(message_ids, event_ids, send_at_most)
    finally:
        _TENANT_BATCH_SECONDS.finished(partner_id, started)
        TENANT_THREADS.leave(partner_id)
