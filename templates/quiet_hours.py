"""Quiet hours: when a non-urgent customer message must wait until the cardholder's morning.

A product's `QuietHoursPolicy` decides the window; without one the `CUSTOMER_QUIET_HOURS` setting ("22:00-08:00",
empty = none) applies. Times are the cardholder's local time (`Cardholder.timezone`, UTC when unknown)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from templates.models import QuietHoursPolicy
from wallets.models import Cardholder

QuietWindow = tuple[time, time]


def parse_quiet_window(value: str) -> QuietWindow | None:
    """"22:00-08:00" -> (22:00, 08:00); "" -> None. Raises ValueError for anything else."""
    value = (value or "").strip()
    if not value:
        return None
    start_text, sep, end_text = value.partition("-")
    if not sep:
        raise ValueError(f"Quiet hours must look like 22:00-08:00, got {value!r}")
    start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    if start == end:
        raise ValueError("Quiet hours start and end must differ")
    return start, end


def default_quiet_window() -> QuietWindow | None:
    return parse_quiet_window(settings.CUSTOMER_QUIET_HOURS)


def quiet_window_of(policy: QuietHoursPolicy | None) -> QuietWindow | None:
    """The window a product uses: its own policy, else the platform default."""
    if policy is None:
        return default_quiet_window()
    return (policy.start, policy.end) if policy.enabled else None


def quiet_window_for(*, policy: QuietHoursPolicy | None, cardholder: Cardholder | None) -> QuietWindow | None:
    """The window that applies to a cardholder: their own (set through the partner API or the preference centre:
    a window, or none at all) before their product's."""
    if cardholder is not None and cardholder.quiet_hours_enabled is not None:
        if not cardholder.quiet_hours_enabled:
            return None
        start, end = cardholder.quiet_hours_start, cardholder.quiet_hours_end
        if start is not None and end is not None and start != end:
            return start, end
    return quiet_window_of(policy)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_hours_end(*, now: datetime, tz_name: str, window: QuietWindow | None) -> datetime | None:
    """If `now` falls inside the window in that time zone, the (UTC) moment the window ends; else None."""
    if window is None:
        return None
    start, end = window
    zone = _zone(tz_name)
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:  # same-day window, e.g. 13:00-15:00
        inside, end_day = start <= clock < end, local.date()
    else:  # crosses midnight, e.g. 22:00-08:00
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)
