"""Trying a customer message by hand (`manage.py send_test_notification`): render one message for a card with
sample event data and send it now, bypassing the queue and quiet hours; nothing is stored."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from notifications import guards
from notifications.messaging.channels import TransportError, channel_adapter, message_card_number_fields
from notifications.messaging.rendering import message_render
from notifications.messaging.routing import RoutingPlanner
from notifications.models import CustomerChannel, Event, MessageStatus
from subscriptions.catalog import get_event
from templates.variables import CARD_VARIABLES, HOLDER_VARIABLES, WALLET_VARIABLES, Subject, sample_context
from wallets.models import Card


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
    if row.status in (MessageStatus.PENDING, MessageStatus.HELD):
        rendered = message_render(row, subject=subject)
        row.subject, row.body = rendered.subject, rendered.body
        if rendered.error:
            row.status, row.skip_reason, row.last_error = MessageStatus.FAILED, rendered.skip_reason, rendered.error
    outcome = {"channel": channel, "recipient": row.recipient, "locale": row.locale, "subject": row.subject,
               "body": row.body}
    if row.status in (MessageStatus.SKIPPED, MessageStatus.FAILED):
        reason = row.skip_reason + (f": {row.last_error}" if row.last_error else "")
        return TestSendOutcome(**outcome, sent=False, error=reason, permanent=True)
    held_until = row.next_attempt_at if row.status == MessageStatus.HELD else None
    if message_card_number_fields(row):
        # Printed to the operator's terminal: shown masked, like everything else that holds a card number.
        masked = {"subject": guards.mask_card_numbers(row.subject), "body": guards.mask_card_numbers(row.body)}
        return TestSendOutcome(**(outcome | masked), sent=False, error=guards.REFUSAL_REASON, permanent=True)
    try:
        result = channel_adapter(channel).send(row)
    except TransportError as exc:
        return TestSendOutcome(**outcome, sent=False, error=exc.message, permanent=exc.permanent,
                               held_until=held_until)
    return TestSendOutcome(**outcome, sent=True, provider_message_id=result.provider_message_id,
                           held_until=held_until)
