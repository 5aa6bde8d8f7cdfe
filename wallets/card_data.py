"""Keeping full card numbers and CVVs out of the platform at the door.

The platform stores only a card's last four digits. A partner-API body that carries a field named like a card
number, CVV or PIN, or any value with a run of 12 or more digits (single spaces or dashes between the digits allowed),
is refused with a 400 before anything is stored, logged or emitted. Twelve is stricter than the 13-19 digits of a real
card number on purpose: it leaves no room for a truncated or reformatted number to slip through."""

import re
from collections.abc import Iterable, Mapping
from typing import Any

from rest_framework import serializers

# One space or dash between digits covers how card numbers are written ("4111 1111 …", "4111-1111-…") without
# catching date ranges in free text ("2026-01-01 - 2026-02-01").
LONG_DIGIT_RUN = re.compile(r"(?<!\d)(?:\d[ -]?){11,}\d(?!\d)")
# A canonical UUID (walletId, cardId, an idempotency key) may hold long digit runs by chance; it is not card data.
UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
CARD_DATA_MESSAGE = "Full card numbers, CVVs and PINs must never be sent; send the last four digits (`last4`) only."
LONG_NUMBER_MESSAGE = "This value contains a run of 12 or more digits, which looks like a card number."

# Field names normalised to lowercase letters and digits only ("card_number", "cardNumber" -> "cardnumber").
_FORBIDDEN_FIELD_NAMES = frozenset(
    {
        "pan",
        "cardnumber",
        "cardno",
        "fullcardnumber",
        "primaryaccountnumber",
        "number",
        "cvv",
        "cvv2",
        "cvc",
        "cvc2",
        "cvn",
        "securitycode",
        "cardsecuritycode",
        "pin",
        "track1",
        "track2",
        "trackdata",
    }
)


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def looks_like_card_number(value: str) -> bool:
    """True when `value` holds 12 or more consecutive digits (optionally separated by single spaces or dashes)
    and is not a canonical UUID."""
    return LONG_DIGIT_RUN.search(value) is not None and UUID_PATTERN.match(value) is None


def card_data_errors(data: Mapping[str, Any], *, exempt: Iterable[str] = ()) -> dict[str, list[str]]:
    """Field errors for every key of `data` named like card data or whose string value looks like a card number.

    `exempt` names fields whose own validation already bounds their digits (an E.164 phone number has up to 15)."""
    exempt = set(exempt)
    errors: dict[str, list[str]] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            continue
        if _normalise(key) in _FORBIDDEN_FIELD_NAMES:
            errors[key] = [CARD_DATA_MESSAGE]
        elif key not in exempt and isinstance(value, str) and looks_like_card_number(value):
            errors[key] = [LONG_NUMBER_MESSAGE]
    return errors


class RejectCardDataMixin:
    """For input serializers: refuse card data before field validation, so it never reaches a service or a log.

    Set `card_data_exempt_fields` to the (camelCase) fields allowed to hold long digit runs."""

    card_data_exempt_fields: tuple[str, ...] = ()

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = card_data_errors(data, exempt=self.card_data_exempt_fields)
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
