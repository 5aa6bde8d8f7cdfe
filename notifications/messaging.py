"""Sending customer messages: claim, send through the channel adapter, record the outcome exactly once.

The row is the source of truth (healthchecks' "write the message first, the outcome after"):

1. claim: in a short transaction, `SELECT … FOR UPDATE SKIP LOCKED` the due rows (PENDING/HELD whose
   `next_attempt_at` has come, or SENDING whose lease expired because a worker died), mark them SENDING with a
   lease and a fresh `claim_token`, count the attempt, commit;
2. send each outside any transaction (a slow provider holds no locks);
3. record: every outcome update is filtered by the claim token, so a worker whose lease expired and was
   re-claimed by another can never overwrite the newer outcome.

Outcomes: SENT; a transient error goes back to PENDING on the `message_retry_delay` schedule (HELD if the retry
would land in quiet hours) until CUSTOMER_MESSAGE_MAX_ATTEMPTS; a permanent error, or retries exhausted, is FAILED
and may create a fallback on the product's next channel. A body or subject holding a card number is never sent.

`message_send_batch` returns {message_id: delay_seconds} for every row the caller should enqueue again (retries,
re-held messages and new fallbacks); `message_due_ids` is what a periodic sweeper re-enqueues."""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from config.logging import log_context
from notifications import guards
from notifications.channels import ChannelAdapter, TransportError, channel_adapter
from notifications.models import CustomerChannel, CustomerMessage, Event, MessageStatus, new_claim_token
from notifications.routing import RoutingPlanner, message_fallback_plan, subjects_resolve
from subscriptions.catalog import get_event
from templates.quiet_hours import quiet_hours_end, quiet_window_of
from templates.selectors import quiet_policies_load
from templates.variables import CARD_VARIABLES, HOLDER_VARIABLES, WALLET_VARIABLES, Subject, sample_context
from wallets.models import Card

logger = logging.getLogger(__name__)

# Delay before attempt n+1 after n failed attempts: 30 s, 2 min, 10 min, 30 min, then every hour.
RETRY_SCHEDULE_SECONDS = (30, 120, 600, 1800, 3600)
# A provider's Retry-After is honoured up to this long.
MAX_RETRY_DELAY_SECONDS = 6 * 60 * 60


def message_retry_delay(*, attempts_made: int, retry_after: float | None = None) -> float:
    """Seconds to wait after `attempts_made` failed attempts (1 = the first send failed).

    RETRY_SCHEDULE_SECONDS[attempts_made - 1] (the last entry repeats), times a jitter in [0.9, 1.1] so that
    messages that failed together (a provider outage) do not come back as one burst; a provider's Retry-After
    wins when it asks for longer, capped at 6 hours. With the default 5 attempts a message is given up about
    45 minutes after its first try (30 s + 2 min + 10 min + 30 min of waiting)."""
    index = min(max(attempts_made, 1), len(RETRY_SCHEDULE_SECONDS)) - 1
    delay = RETRY_SCHEDULE_SECONDS[index] * random.uniform(0.9, 1.1)
    if retry_after is not None and retry_after > delay:
        delay = retry_after
    return float(min(delay, MAX_RETRY_DELAY_SECONDS))


def _due(now: datetime) -> Q:
    return Q(status__in=[MessageStatus.PENDING, MessageStatus.HELD], next_attempt_at__lte=now) | Q(
        status=MessageStatus.SENDING, lease_expires_at__lte=now
    )


def message_due_ids(*, limit: int = 1000, grace_seconds: int | None = None) -> list[int]:
    """Ids of messages that are due and not held by a live lease, oldest due first (for the periodic sweeper).

    PENDING rows must be overdue by `grace_seconds` (default REQUEUE_GRACE_SECONDS), so work that was just
    enqueued is left to its own task; HELD rows (nobody enqueued them for hours) and expired leases count at once."""
    now = timezone.now()
    grace = settings.REQUEUE_GRACE_SECONDS if grace_seconds is None else grace_seconds
    overdue = (
        Q(status=MessageStatus.PENDING, next_attempt_at__lte=now - timedelta(seconds=grace))
        | Q(status=MessageStatus.HELD, next_attempt_at__lte=now)
        | Q(status=MessageStatus.SENDING, lease_expires_at__lte=now)
    )
    return list(
        CustomerMessage.objects.filter(overdue).order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit]
    )


def _claim(ids: list[int]) -> list[CustomerMessage]:
    now = timezone.now()
    with transaction.atomic():
        claimable = list(
            CustomerMessage.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids)
            .filter(_due(now))
            .values_list("pk", flat=True)
        )
        if not claimable:
            return []
        token = new_claim_token()
        CustomerMessage.objects.filter(pk__in=claimable).update(
            status=MessageStatus.SENDING,
            claim_token=token,
            lease_expires_at=now + timedelta(seconds=settings.CUSTOMER_MESSAGE_LEASE_SECONDS),
            attempt_count=F("attempt_count") + 1,
        )
    return list(
        CustomerMessage.objects.filter(pk__in=claimable, claim_token=token)
        .select_related("event", "event__partner", "cardholder")
        .order_by("id")
    )


def _record(message: CustomerMessage, **fields) -> bool:
    """Write an outcome if this worker still holds the claim; False when another worker took the row over."""
    updated = CustomerMessage.objects.filter(
        pk=message.pk, claim_token=message.claim_token, status=MessageStatus.SENDING
    ).update(**fields)
    if not updated:
        logger.warning("Claim on message %s was lost (lease expired); outcome not recorded", message.pk)
    return bool(updated)


def _quiet_until(message: CustomerMessage, at: datetime) -> datetime | None:
    """End of the cardholder's quiet hours if `at` falls inside them (urgent events are never held)."""
    definition = get_event(message.event.event_name)
    if definition is None or definition.urgent or message.cardholder is None:
        return None
    subject = subjects_resolve([message.event])[0]
    product = subject.product if subject is not None else None
    policy = quiet_policies_load(product_ids=[product.pk]).get(product.pk) if product is not None else None
    return quiet_hours_end(now=at, tz_name=message.cardholder.timezone, window=quiet_window_of(policy))


def _fail(message: CustomerMessage, *, error: str, now: datetime, fallback: bool, skip_reason: str = "") -> dict:
    """FAILED, plus the fallback message in the same transaction; returns {fallback_id: delay} if one was made."""
    with transaction.atomic():
        if not _record(
            message, status=MessageStatus.FAILED, last_error=error[:500], skip_reason=skip_reason,
            lease_expires_at=None,
        ):
            return {}
        if not fallback:
            return {}
        backup = message_fallback_plan(failed=message, now=now)
        if backup is None:
            return {}
        backup.save()
    logger.info("Message %s failed for good; falling back to %s message %s", message.pk, backup.channel, backup.pk)
    return {backup.pk: max(0.0, (backup.next_attempt_at - now).total_seconds())}


def _send_one(message: CustomerMessage, adapters: dict[str, ChannelAdapter]) -> dict[int, float]:
    if guards.contains_card_number(f"{message.subject}\n{message.body}"):
        logger.error("Message %s refused: its text contains a card number", message.pk)
        return _fail(message, error=guards.REFUSAL_REASON, skip_reason=guards.REFUSAL_REASON,
                     now=timezone.now(), fallback=False)
    try:
        if message.channel not in adapters:
            adapters[message.channel] = channel_adapter(message.channel)
        result = adapters[message.channel].send(message)
    except TransportError as exc:
        error = exc
    except Exception as exc:  # an adapter bug or misconfiguration must not lose the row: retry it
        logger.exception("Channel %s crashed on message %s", message.channel, message.pk)
        error = TransportError(f"{type(exc).__name__}: {exc}", permanent=False)
    else:
        _record(
            message, status=MessageStatus.SENT, provider_message_id=result.provider_message_id[:200],
            sent_at=timezone.now(), last_error="", lease_expires_at=None,
        )
        logger.info("Message %s sent via %s (%s)", message.pk, message.channel, result.provider_message_id)
        return {}

    now = timezone.now()
    attempts = message.attempt_count
    if error.permanent:
        logger.warning("Message %s failed permanently: %s", message.pk, error.message)
        return _fail(message, error=error.message, now=now, fallback=True)
    if attempts >= settings.CUSTOMER_MESSAGE_MAX_ATTEMPTS:
        logger.warning("Message %s gave up after %s attempts: %s", message.pk, attempts, error.message)
        return _fail(message, error=f"{error.message} (gave up after {attempts} attempts)", now=now, fallback=True)
    delay = message_retry_delay(attempts_made=attempts, retry_after=error.retry_after)
    next_at = now + timedelta(seconds=delay)
    held_until = _quiet_until(message, next_at)
    status = MessageStatus.PENDING
    if held_until is not None:
        status, next_at, delay = MessageStatus.HELD, held_until, (held_until - now).total_seconds()
    if not _record(message, status=status, next_attempt_at=next_at, last_error=error.message[:500],
                   lease_expires_at=None):
        return {}
    logger.info("Message %s failed (attempt %s), retry in %.0f s: %s", message.pk, attempts, delay, error.message)
    return {message.pk: delay}


def message_send_batch(*, message_ids: list[int]) -> dict[int, float]:
    """Claim the due messages among `message_ids`, send them and record each outcome once.

    Returns {message_id: delay_seconds} for every message to enqueue again: retries, messages re-held for quiet
    hours and new fallback messages. Messages not due or claimed by another worker are left alone."""
    requeue: dict[int, float] = {}
    adapters: dict[str, ChannelAdapter] = {}
    ids = list(dict.fromkeys(message_ids))
    chunk = max(1, settings.CUSTOMER_MESSAGE_CLAIM_CHUNK)
    # Claim in chunks so every lease covers only the sends that follow it.
    for start in range(0, len(ids), chunk):
        for message in _claim(ids[start : start + chunk]):
            with log_context(message_id=message.pk, event_id=message.event.event_id,
                             tenant=message.event.partner.tenant_id):
                requeue.update(_send_one(message, adapters))
    return requeue


@dataclass(frozen=True)
class TestSendOutcome:
    channel: str
    recipient: str
    locale: str
    subject: str
    body: str
    sent: bool
    provider_message_id: str = ""
    error: str = ""
    permanent: bool = False
    held_until: datetime | None = None


class TestSendError(ValueError):
    """A bad argument to message_send_test (unknown kit, event or channel)."""


def message_send_test(
    *, kit_no: str, event_name: str, channel: str, locale: str | None = None, tenant_id: str | None = None
) -> TestSendOutcome:
    """Render one message for a card with sample event data and send it now, bypassing the queue and quiet
    hours (nothing is stored). Product switches, opt-outs, contact data and templates apply as in routing."""
    channel = channel.upper()
    if channel not in CustomerChannel.values:
        raise TestSendError(f"Unknown channel {channel!r}; use one of {', '.join(CustomerChannel.values)}.")
    definition = get_event(event_name)
    if definition is None:
        raise TestSendError(f"Unknown event {event_name!r}; see subscriptions/catalog.py for the names.")
    if not definition.customer_facing:
        raise TestSendError(f"{event_name} is not customer-facing: no customer message is sent for it.")
    cards = Card.objects.filter(kit_no=kit_no).select_related("partner", "wallet__cardholder", "wallet__product")
    if tenant_id:
        cards = cards.filter(partner__tenant_id=tenant_id)
    found = list(cards[:10])
    if not found:
        raise TestSendError(f"No card with kit {kit_no!r}" + (f" for tenant {tenant_id!r}." if tenant_id else "."))
    if len(found) > 1:
        tenants = ", ".join(sorted(c.partner.tenant_id for c in found))
        raise TestSendError(f"Kit {kit_no!r} exists for several tenants ({tenants}); pass --tenant.")
    card = found[0]
    holder = card.wallet.cardholder
    if locale:
        holder.locale = locale  # in memory only: try another language without touching the cardholder
    derived = set(CARD_VARIABLES) | set(HOLDER_VARIABLES) | set(WALLET_VARIABLES) | {"walletId", "cardId"}
    data = {k: v for k, v in sample_context(event_name).items() if k in definition.variables and k not in derived}
    data["kitNo"] = card.kit_no
    event = Event(
        event_id=f"test-{uuid.uuid4()}", event_name=event_name, event_type=definition.event_type,
        partner=card.partner, occurred_at=timezone.now(), data=data, body="",
    )
    subject = Subject(holder, card, card.wallet, card.wallet.product)
    planner = RoutingPlanner(events=[event], subjects=[subject], now=timezone.now())
    row = planner.message(event=event, definition=definition, subject=subject, channel=channel)
    outcome = {"channel": channel, "recipient": row.recipient, "locale": row.locale, "subject": row.subject,
               "body": row.body}
    if row.status in (MessageStatus.SKIPPED, MessageStatus.FAILED):
        reason = row.skip_reason + (f": {row.last_error}" if row.last_error else "")
        return TestSendOutcome(**outcome, sent=False, error=reason, permanent=True)
    held_until = row.next_attempt_at if row.status == MessageStatus.HELD else None
    if guards.contains_card_number(f"{row.subject}\n{row.body}"):
        return TestSendOutcome(**outcome, sent=False, error=guards.REFUSAL_REASON, permanent=True)
    try:
        result = channel_adapter(channel).send(row)
    except TransportError as exc:
        return TestSendOutcome(**outcome, sent=False, error=exc.message, permanent=exc.permanent,
                               held_until=held_until)
    return TestSendOutcome(**outcome, sent=True, provider_message_id=result.provider_message_id,
                           held_until=held_until)
