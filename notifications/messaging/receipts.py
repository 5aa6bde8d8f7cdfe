"""Delivery receipts: what a provider says about a message after it accepted it.

An SMS provider posts the final status of each message to its StatusCallback (channels/sms.py asks for it and reads
it); here it becomes DELIVERED or UNDELIVERED, with the provider's error code and the time (`receipt_at`,
`finished_at`). An UNDELIVERED message is treated like a permanent failure that came late: a destination the
provider called dead is marked on the cardholder, and the next channel of the product's fallback order is tried.

The receipt and the worker's own record of the send may arrive in either order (messaging/sql.py explains how one
statement each keeps that safe); whichever of the two makes the message UNDELIVERED draws the consequences, once."""

from __future__ import annotations

import enum
import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from notifications import queue
from notifications.messaging import sql
from notifications.messaging.channels.sms import DEAD_NUMBER_RECEIPT_CODES
from notifications.messaging.routing import message_fallback_plan
from notifications.models import CustomerChannel, CustomerMessage, MessageStatus
from wallets.services.preferences import cardholder_destination_invalidate

logger = logging.getLogger(__name__)


class ReceiptOutcome(enum.Enum):
    APPLIED = "applied"  # the message moved to DELIVERED / UNDELIVERED
    KEPT = "kept"  # recorded; the worker's record of the send will apply it
    IGNORED = "ignored"  # a status on the way (queued, sent …) or a repeated receipt: nothing to do
    NOT_FOUND = "not_found"  # no such message, or it was sent under another provider id


def receipt_marks_destination_dead(*, channel: str, error_code: str) -> bool:
    """Whether an UNDELIVERED receipt with this code says the destination itself is dead."""
    return channel == CustomerChannel.SMS and error_code in DEAD_NUMBER_RECEIPT_CODES


def message_undelivered_follow_up(message: CustomerMessage, *, now: datetime) -> dict[int, float]:
    """An UNDELIVERED message's consequences, in one transaction: a dead destination marked on the cardholder, then
    the fallback on the next channel (which routing now plans past the marked one). Returns {fallback_id: delay}."""
    with transaction.atomic():
        if message.cardholder_id and receipt_marks_destination_dead(channel=message.channel,
                                                                    error_code=message.provider_error_code):
            cardholder_destination_invalidate(
                cardholder_id=message.cardholder_id, channel=message.channel, recipient=message.recipient,
                reason=f"The provider reported the destination unreachable ({message.provider_error_code})",
                error_code=message.provider_error_code,
            )
        backup = message_fallback_plan(failed=message, now=now)
        if backup is None:
            return {}
        backup.save()
    logger.info("Message %s was not delivered; falling back to %s message %s", message.pk, backup.channel, backup.pk)
    return {backup.pk: max(0.0, (backup.next_attempt_at - now).total_seconds())}


def message_receipt_record(
    *, message_id: int, provider_message_id: str, status: str, error_code: str = ""
) -> ReceiptOutcome:
    """Apply a provider's receipt (`status` DELIVERED or UNDELIVERED, "" for a status on the way) to a message."""
    if not CustomerMessage.objects.filter(pk=message_id).exists():
        return ReceiptOutcome.NOT_FOUND
    if status not in (MessageStatus.DELIVERED, MessageStatus.UNDELIVERED):
        return ReceiptOutcome.IGNORED
    now = timezone.now()
    with transaction.atomic():
        status_now = sql.message_receipt_write(message_id=message_id, provider_message_id=provider_message_id,
                                               status=status, error_code=error_code, at=now)
        if status_now is None:
            other_id = (CustomerMessage.objects.filter(pk=message_id).exclude(provider_message_id="")
                        .exclude(provider_message_id=provider_message_id).exists())
            return ReceiptOutcome.NOT_FOUND if other_id else ReceiptOutcome.IGNORED
        if status_now != status:
            return ReceiptOutcome.KEPT
        message = CustomerMessage.objects.select_related("event", "cardholder").get(pk=message_id)
        follow_ups = message_undelivered_follow_up(message, now=now) if status == MessageStatus.UNDELIVERED else {}
        if follow_ups:
            transaction.on_commit(lambda: queue.schedule_message_follow_ups(follow_ups, message.partner_id))
    logger.info("Message %s: receipt %s %s", message_id, status, error_code)
    return ReceiptOutcome.APPLIED
