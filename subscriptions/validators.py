"""Field rules for event subscriptions, shared by the partner API serializers, the services, the admin and the
management commands so that every entry point accepts exactly the same values."""

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError

from subscriptions.catalog import ALL_EVENTS, EVENT_CATALOG, SUBSCRIBABLE_EVENT_NAMES, is_advance
from subscriptions.models import PayloadFormat

MAX_RETRIES_MIN, MAX_RETRIES_MAX = 0, 20
RETRY_INTERVAL_MIN, RETRY_INTERVAL_MAX = 1, 24 * 60 * 60
ADVANCE_PERIODS_MAX_COUNT = 10
ADVANCE_PERIOD_MAX_DAYS = 3650
EVENT_NAME_MAX_LENGTH = 64


def default_max_retries() -> int:
    return settings.WEBHOOK_DEFAULT_MAX_RETRIES


def default_retry_interval_seconds() -> int:
    return settings.WEBHOOK_DEFAULT_RETRY_INTERVAL_SECONDS


def validate_event_name(name: str) -> None:
    """The name must be a catalog event or ALL_EVENTS; the error lists the valid names."""
    if name not in SUBSCRIBABLE_EVENT_NAMES:
        raise ValidationError(
            f"Unknown eventName {str(name)[:EVENT_NAME_MAX_LENGTH]!r}. Valid names: "
            + ", ".join(SUBSCRIBABLE_EVENT_NAMES)
            + ".",
            code="unknown_event_name",
        )


def accepts_advance_periods(event_name: str) -> bool:
    """ADVANCE events take a schedule; so does ALL_EVENTS, because it receives the advance events too."""
    return event_name == ALL_EVENTS or is_advance(event_name)


def validate_max_retries(value: int) -> None:
    if not MAX_RETRIES_MIN <= value <= MAX_RETRIES_MAX:
        raise ValidationError(
            f"maxRetries must be between {MAX_RETRIES_MIN} and {MAX_RETRIES_MAX}.", code="out_of_range"
        )


def validate_retry_interval_seconds(value: int) -> None:
    if not RETRY_INTERVAL_MIN <= value <= RETRY_INTERVAL_MAX:
        raise ValidationError(
            f"retryIntervalSeconds must be between {RETRY_INTERVAL_MIN} and {RETRY_INTERVAL_MAX} (one day).",
            code="out_of_range",
        )


def normalize_advance_periods(*, event_name: str, periods: Iterable[int] | None) -> list[int]:
    """Validate a schedule of days-before and return it de-duplicated and sorted descending ([30, 15, 7])."""
    periods = list(periods or [])
    if not periods:
        return []
    if not accepts_advance_periods(event_name):
        advance_names = [d.name for d in EVENT_CATALOG.values() if d.event_type == "ADVANCE"]
        raise ValidationError(
            f"advanceNotificationPeriods applies only to ADVANCE events ({', '.join(advance_names)}) and "
            f"{ALL_EVENTS}; {event_name} is an INSTANT event.",
            code="not_advance_event",
        )
    for value in periods:
        # bool is an int in Python; JSON true is not a number of days.
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= ADVANCE_PERIOD_MAX_DAYS:
            raise ValidationError(
                f"Each advance notification period must be a whole number of days from 1 to "
                f"{ADVANCE_PERIOD_MAX_DAYS}; got {value!r}.",
                code="invalid_period",
            )
    unique = sorted(set(periods), reverse=True)
    if len(unique) > ADVANCE_PERIODS_MAX_COUNT:
        raise ValidationError(
            f"At most {ADVANCE_PERIODS_MAX_COUNT} distinct advance notification periods are allowed.",
            code="too_many_periods",
        )
    return unique


def payload_format_error(value: object) -> str:
    """The message for a payloadFormat that is not one of the allowed values (it names them)."""
    shown = "null" if value is None else (repr(value)[:40] if not isinstance(value, str) else f"'{value[:40]}'")
    return f"{shown} is not a payloadFormat. Allowed values: {', '.join(PayloadFormat.values)}."


def validate_payload_format(value: str) -> None:
    if value not in PayloadFormat.values:
        raise ValidationError(payload_format_error(value), code="invalid_payload_format")
