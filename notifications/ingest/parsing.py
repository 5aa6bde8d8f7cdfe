"""Parsing one Kafka message against the topic contract of DESIGN.md: every way a message can be wrong is an
InvalidMessage with a code and a readable reason, which ingest turns into a dead letter."""

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.utils.dateparse import parse_datetime

from notifications import guards, jsoncodec
from subscriptions.catalog import get_event

REQUIRED_FIELDS = ("eventId", "eventName", "tenantId", "occurredAt", "data")
MAX_ID_LENGTH = 128


@dataclass(frozen=True)
class RawMessage:
    """What ingest needs of a Kafka message."""

    value: bytes | None
    topic: str = ""
    partition: int = -1
    offset: int = -1
    key: bytes | None = None
    timestamp_ms: int | None = None


class InvalidMessage(Exception):
    """Why a message cannot be ingested. The reason quotes parts of the message (an unknown eventName), so it is
    kept with card numbers masked: it is stored, logged and printed."""

    def __init__(self, code: str, reason: str):
        reason = guards.mask_card_numbers(reason)
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class ParsedMessage:
    raw: RawMessage
    event_id: str
    event_name: str
    tenant_id: str
    occurred_at: datetime
    data: dict
    entity_id: str



def _require_string(payload: dict, name: str, max_length: int = MAX_ID_LENGTH) -> str:
    value = payload.get(name)
    if not isinstance(value, str):
        raise InvalidMessage("mistyped_field", f"'{name}' must be a string, got {type(value).__name__}.")
    if not value.strip():
        raise InvalidMessage("missing_field", f"'{name}' must not be empty.")
    if len(value) > max_length:
        raise InvalidMessage("mistyped_field", f"'{name}' is longer than {max_length} characters.")
    return value


# JSON escapes of NUL (PostgreSQL text cannot hold it) and of UTF-16 surrogates (a lone one cannot be encoded as
# UTF-8). Raw bytes cannot carry either (strict UTF-8 decoding and the JSON grammar refuse them), so only messages
# with such an escape need the full walk; a correctly paired surrogate escape (an emoji) passes it.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"the number {text[:40]} is out of range")
    return number


def _check_storable_text(payload: dict) -> None:
    """Refuse NUL characters and lone surrogates anywhere in the message: one such message would otherwise fail
    the whole batch's transaction on every retry (a poison pill)."""
    stack: list = [payload]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and _UNSTORABLE.search(item):
            raise InvalidMessage("unstorable_text", "The message holds a NUL character or an unpaired UTF-16 "
                                 "surrogate (\\u0000, \\ud800…), which cannot be stored or sent as UTF-8 JSON.")


def parse_message(raw: RawMessage) -> ParsedMessage:
    """Validate one message against DESIGN.md's topic contract; raises InvalidMessage with a readable reason."""
    value = raw.value
    if value is None:
        raise InvalidMessage("empty", "The message has no value (tombstone or empty message).")
    if len(value) > settings.KAFKA_MAX_MESSAGE_BYTES:
        raise InvalidMessage(
            "oversized", f"The message is {len(value)} bytes; the limit is {settings.KAFKA_MAX_MESSAGE_BYTES}."
        )
    try:
        payload = jsoncodec.loads(value, parse_constant=_reject_constant, parse_float=_finite_float)
    except UnicodeDecodeError as exc:
        raise InvalidMessage("not_utf8", f"The message is not UTF-8: {exc}.") from None
    except (ValueError, RecursionError) as exc:  # incl. NaN/Infinity and integers of more than 4,300 digits
        raise InvalidMessage("not_json", f"The message is not JSON: {exc}.") from None
    if not isinstance(payload, dict):
        raise InvalidMessage("not_an_object", f"The message is JSON {type(payload).__name__}, not an object.")
    if _SUSPECT_ESCAPE.search(value):
        _check_storable_text(payload)
    missing = [name for name in REQUIRED_FIELDS if name not in payload or payload[name] is None]
    if missing:
        raise InvalidMessage("missing_field", f"Required field(s) missing: {', '.join(missing)}.")
    event_id = _require_string(payload, "eventId")
    event_name = _require_string(payload, "eventName", 64)
    tenant_id = _require_string(payload, "tenantId", 64)
    occurred_raw = _require_string(payload, "occurredAt", 64)
    try:
        occurred_at = parse_datetime(occurred_raw)
    except ValueError:
        occurred_at = None
    if occurred_at is None:
        raise InvalidMessage("mistyped_field", f"'occurredAt' is not an ISO 8601 date-time: {occurred_raw!r}.")
    if occurred_at.tzinfo is None:
        raise InvalidMessage("mistyped_field", "'occurredAt' must carry a time zone (e.g. 'Z' or '+05:30').")
    try:
        occurred_at.astimezone(UTC)  # 0001-01-01T00:00+01:00 is a valid string but no representable instant
    except OverflowError:
        raise InvalidMessage("mistyped_field", f"'occurredAt' is out of range: {occurred_raw!r}.") from None
    if not isinstance(payload["data"], dict):
        raise InvalidMessage("mistyped_field", f"'data' must be an object, got {type(payload['data']).__name__}.")
    entity_id = payload.get("entityId")
    if entity_id is not None:
        entity_id = _require_string(payload, "entityId")
    if get_event(event_name) is None:
        raise InvalidMessage("unknown_event_name", f"Unknown eventName {event_name!r}; see GET /event-types/.")
    return ParsedMessage(raw, event_id, event_name, tenant_id, occurred_at, payload["data"], entity_id or "")
