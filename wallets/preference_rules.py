"""What a cardholder's preferences may be: the one set of checks the partner API (POST and PATCH cardholders) and the
cardholder's preference centre page both apply. Each function returns the clean value or raises ValueError with a
message that can be shown as it is."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import time
from typing import Any

from notifications.models import CustomerChannel
from subscriptions.catalog import OPT_OUT_CATEGORIES

CHANNELS: tuple[str, ...] = tuple(CustomerChannel.values)


@functools.cache
def _time_zones() -> frozenset[str]:
    # available_timezones() walks the tz database on every call; the set does not change while the process runs.
    return frozenset(zoneinfo.available_timezones())


def time_zones() -> list[str]:
    return sorted(_time_zones())


def time_zone_clean(value: str) -> str:
    if value not in _time_zones():
        raise ValueError("An IANA time zone such as Asia/Kolkata.")
    return value


def channel_preferences_clean(value: dict[str, bool]) -> dict[str, bool]:
    unknown = sorted(set(value) - set(CHANNELS))
    if unknown:
        raise ValueError(f"Unknown channels {unknown}; use {list(CHANNELS)}.")
    return value


def category_opt_outs_clean(value: Any) -> dict[str, list[str]]:
    """{category: [channels]}: categories of the catalog that have non-critical customer messages, known channels,
    each once; a category with no channels is dropped."""
    if not isinstance(value, dict):
        raise ValueError('An object of category -> channels, e.g. {"Transactions": ["EMAIL"]}.')
    unknown = sorted(str(k) for k in value if k not in OPT_OUT_CATEGORIES)
    if unknown:
        raise ValueError(f"Unknown categories {unknown}; use {OPT_OUT_CATEGORIES} (critical notices, such as "
                         f"fees, are always sent and have no category to opt out of).")
    clean: dict[str, list[str]] = {}
    for category, channels in value.items():
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise ValueError(f"{category}: a list of channels, e.g. [\"EMAIL\", \"SMS\"].")
        bad = sorted(set(channels) - set(CHANNELS))
        if bad:
            raise ValueError(f"{category}: unknown channels {bad}; use {list(CHANNELS)}.")
        if channels:
            clean[category] = [c for c in CHANNELS if c in channels]
    return clean


def _clock(value: Any, name: str) -> time:
    if not isinstance(value, str):
        raise ValueError(f"{name}: a time such as 22:00.")
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name}: a time such as 22:00, got {value[:20]!r}.") from None
    return parsed.replace(second=0, microsecond=0, tzinfo=None)


def quiet_hours_clean(value: Any) -> dict[str, Any] | None:
    """None (the product's quiet hours), {"enabled": False} (none), or {"enabled": True, "start", "end"} as times
    (a window may cross midnight, e.g. 22:00-07:00)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError('An object such as {"enabled": true, "start": "22:00", "end": "07:00"}, or null for the '
                         "product's quiet hours.")
    unknown = sorted(set(value) - {"enabled", "start", "end"})
    if unknown:
        raise ValueError(f"Unknown fields {unknown}; use enabled, start and end.")
    enabled = value.get("enabled", True)
    if enabled is not True and enabled is not False:
        raise ValueError("enabled: a JSON boolean.")
    if not enabled:
        return {"enabled": False}
    if "start" not in value or "end" not in value:
        raise ValueError("Give start and end, e.g. 22:00 and 07:00.")
    start, end = _clock(value["start"], "start"), _clock(value["end"], "end")
    if start == end:
        raise ValueError("start and end must differ.")
    return {"enabled": True, "start": start, "end": end}
