"""The webhook retry schedule: the one place that decides when a failed attempt is tried again.

A subscription's retryConfig gives `maxRetries` (retries after the first attempt, so 1 + maxRetries attempts in all)
and `retryIntervalSeconds` (the base interval). Retry n (n = 1, 2, …) waits

    base * 2**(n-1), capped at WEBHOOK_MAX_RETRY_DELAY_SECONDS (6 h), times a random jitter in [0.9, 1.1]

so base 60 s gives about 1 min, 2 min, 4 min, 8 min, 16 min, … The jitter spreads retries of many deliveries that
failed together (an endpoint outage) so they don't return as one burst. A `Retry-After` answer (429/503) is honoured
when it asks for longer, still bounded by the cap."""

import random

from django.conf import settings


def retry_delay_seconds(*, retry_number: int, base_interval: int, retry_after: float | None = None) -> float:
    cap = settings.WEBHOOK_MAX_RETRY_DELAY_SECONDS
    delay = min(base_interval * (2 ** max(retry_number - 1, 0)), cap) * random.uniform(0.9, 1.1)
    if retry_after is not None and retry_after > delay:
        delay = retry_after
    return float(min(delay, cap))


def has_retries_left(*, attempts_made: int, max_retries: int) -> bool:
    return attempts_made < 1 + max_retries


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import time

    return max(0.0, when.timestamp() - time.time())
