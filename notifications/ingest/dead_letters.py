"""Dead letters: a message that cannot be ingested is kept whole (raw bytes, topic, partition, offset, key) with the
reason, and the bridge moves on. Nothing is dropped silently. The raw bytes stay as they came (the evidence; never
logged); the reason, which quotes parts of the message, is stored and logged with card numbers masked."""

import logging

from notifications import guards
from notifications.ingest.parsing import InvalidMessage, ParsedMessage, RawMessage, parse_message
from notifications.ingest.sql import Tenant
from notifications.models import DeadLetter
from subscriptions.models import Partner

logger = logging.getLogger(__name__)


def dead_letter(raw: RawMessage, code: str, reason: str) -> DeadLetter:
    """An unsaved dead letter for `raw`."""
    return DeadLetter(
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key,
        raw_value=raw.value or b"",
        reason_code=code,
        reason=guards.mask_card_numbers(reason),
    )


def tenant_problem(parsed: ParsedMessage, partner: Partner | Tenant | None) -> InvalidMessage | None:
    if partner is None or not partner.is_active:
        state = "unknown" if partner is None else "inactive"
        return InvalidMessage("unknown_tenant", f"Tenant {parsed.tenant_id!r} is {state}.")
    return None


def check_message(raw: RawMessage) -> InvalidMessage | None:
    """Why this message would be dead-lettered, or None if it would be ingested (used before a re-drive)."""
    try:
        parsed = parse_message(raw)
    except InvalidMessage as exc:
        return exc
    return tenant_problem(parsed, Partner.objects.filter(tenant_id=parsed.tenant_id).first())


def dead_letters_store(dead: list[DeadLetter]) -> None:
    """Write the batch's dead letters (in its transaction); a position already dead-lettered is kept as it is."""
    if dead:
        DeadLetter.objects.bulk_create(dead, ignore_conflicts=True)


def dead_letters_log(dead: list[DeadLetter]) -> None:
    for d in dead:
        logger.warning("Dead-lettered %s[%s]@%s (%s): %s", d.topic, d.partition, d.offset, d.reason_code, d.reason)
