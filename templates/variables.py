"""Template variables: the one place that decides which names a template of an event may use, and their values.

A template may use the event's catalog variables plus fields derived from the cardholder, card, wallet and
product the event is about. `template_variables(event_name)` is the allowed set (checked when a template is
saved); `template_context(...)` fills every allowed name for one event (absent values become ""), so a template
that was accepted at save time always renders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

from subscriptions.catalog import EVENT_CATALOG, EventDefinition, get_event
from wallets.models import Card, Cardholder, Product, Wallet

# Derived variables: name -> description. They are grouped by what the event is about.
HOLDER_VARIABLES = {
    "cardholderName": "Cardholder's full name",
    "firstName": "Cardholder's first name",
    "customerId": "Cardholder id (the partner's customer id)",
}
CARD_VARIABLES = {
    "kitNo": "Card kit number",
    "last4": "Last four digits of the card number",
    "maskedCardNumber": 'Masked card number, e.g. "XXXX XXXX XXXX 1234"',
    "expiryDate": "Card expiry date (YYYY-MM-DD)",
    "daysLeft": "Days until the expiry/inactivation date the event is about (or until card expiry)",
}
WALLET_VARIABLES = {
    "balance": "Wallet balance (the event's value, else the current balance)",
    "currency": "Currency code",
}
COMMON_VARIABLES = {
    "productName": "Card product name",
    "partnerName": "Issuer (partner) name",
    "eventName": "Catalog event name",
    "occurredAt": "When the event happened, in the cardholder's time zone (e.g. 12 Feb 2026, 16:00)",
}

# Values used by previews and by the trial render that validates a template on save.
_SAMPLE_VALUES: dict[str, Any] = {
    "kitNo": "K0001234",
    "cardId": "5b1f0e7c-3a57-4c0e-9a51-1d0f3c2e9b10",
    "last4": "1234",
    "maskedCardNumber": "XXXX XXXX XXXX 1234",
    "customerId": "CUST00042",
    "cardholderName": "Asha Verma",
    "firstName": "Asha",
    "amount": "125.50",
    "currency": "INR",
    "merchantName": "Chai Point",
    "balance": "874.50",
    "transactionId": "TXN-20260212-0001",
    "transactionType": "AUTHORIZATION",
    "status": "APPROVED",
    "declineReason": "Insufficient balance",
    "previousStatus": "ACTIVE",
    "newStatus": "LOCKED",
    "reason": "Requested by the cardholder",
    "walletId": "0c9f3a59-2f4e-4a7c-8d62-5b3f1e9a7c21",
    "expiryDate": "2029-02-28",
    "inactivationDate": "2026-03-14",
    "lastActivityAt": "2025-08-14",
    "daysBefore": 7,
    "daysLeft": 7,
    "late": False,
    "previousLast4": "9876",
    "walletProvider": "Google Pay",
    "otp": "482913",
    "purpose": "online purchase",
    "kycStatus": "FULL_KYC",
    "field": "email",
    "feeType": "ANNUAL",
    "dueDate": "2026-03-01",
    "comment": "",
    "channel": "PARTNER_API",
    "productName": "Acme Travel Card",
    "partnerName": "Acme Fintech",
    "occurredAt": "12 Feb 2026, 16:00",
}


def _is_card_event(definition: EventDefinition) -> bool:
    return "kitNo" in definition.variables


def _is_wallet_event(definition: EventDefinition) -> bool:
    return _is_card_event(definition) or "walletId" in definition.variables


def template_variables(event_name: str) -> dict[str, str]:
    """Allowed variable names for templates of this event -> description (empty for an unknown event)."""
    definition = get_event(event_name)
    if definition is None:
        return {}
    allowed = {name: description for name, (_type, description) in definition.variables.items()}
    allowed.update(HOLDER_VARIABLES)
    if _is_card_event(definition):
        allowed.update(CARD_VARIABLES)
    if _is_wallet_event(definition):
        allowed.update(WALLET_VARIABLES)
    allowed.update(COMMON_VARIABLES)
    return allowed


def customer_facing_event_names() -> list[str]:
    return [name for name, definition in EVENT_CATALOG.items() if definition.customer_facing]


def sample_context(event_name: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """A full context of plausible values for previews and for the trial render on save."""
    definition = get_event(event_name)
    context: dict[str, Any] = {}
    for name in template_variables(event_name):
        if name in _SAMPLE_VALUES:
            context[name] = _SAMPLE_VALUES[name]
            continue
        json_type = definition.variables.get(name, ("string", ""))[0] if definition else "string"
        context[name] = {"integer": 3, "boolean": False}.get(json_type, f"<{name}>")
    context["eventName"] = event_name
    for name, value in (overrides or {}).items():
        if name in context:
            context[name] = value
    return context


@dataclass(frozen=True)
class Subject:
    """What an event is about, as resolved by routing (any part may be missing)."""

    cardholder: Cardholder | None
    card: Card | None = None
    wallet: Wallet | None = None
    product: Product | None = None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _days_until(value: Any, today: date) -> int | None:
    if isinstance(value, date):
        return (value - today).days
    if isinstance(value, str) and value:
        try:
            return (date.fromisoformat(value[:10]) - today).days
        except ValueError:
            return None
    return None


def template_context(
    *, event_name: str, data: dict[str, Any], subject: Subject, occurred_at: datetime | None = None,
    partner_name: str = "",
) -> dict[str, Any]:
    """Values for every allowed variable of the event: the event's data first, then the database, else ""."""
    allowed = template_variables(event_name)
    holder, card, wallet, product = subject.cardholder, subject.card, subject.wallet, subject.product
    zone = _zone(holder.timezone if holder else "UTC")
    today = timezone.now().astimezone(zone).date()

    derived: dict[str, Any] = {"eventName": event_name, "partnerName": partner_name}
    if holder is not None:
        derived.update(
            cardholderName=holder.name, firstName=(holder.name.split() or [""])[0], customerId=holder.external_id
        )
    if card is not None:
        derived.update(kitNo=card.kit_no, last4=card.last4, expiryDate=card.expiry_date.isoformat(),
                       cardId=str(card.card_id))
    if wallet is not None:
        derived.update(balance=str(wallet.balance), currency=wallet.currency, walletId=str(wallet.wallet_id))
    if product is not None:
        derived["productName"] = product.name
    if occurred_at is not None:
        derived["occurredAt"] = occurred_at.astimezone(zone).strftime("%d %b %Y, %H:%M")

    context: dict[str, Any] = {}
    for name in allowed:
        value = data.get(name)
        if value is None or value == "":
            value = derived.get(name, "")
        context[name] = value
    if "firstName" in allowed and not context.get("firstName") and context.get("cardholderName"):
        context["firstName"] = str(context["cardholderName"]).split()[0]
    # The masked number is always built from the last four digits, never from anything longer.
    if "maskedCardNumber" in allowed:
        last4 = str(context.get("last4") or "")[-4:]
        context["maskedCardNumber"] = f"XXXX XXXX XXXX {last4}" if last4 else ""
    if "daysLeft" in allowed:
        days = data.get("daysBefore")
        if days is None:
            days = _days_until(data.get("expiryDate") or data.get("inactivationDate"), today)
        if days is None and card is not None:
            days = _days_until(card.expiry_date, today)
        context["daysLeft"] = "" if days is None else days
    return context
