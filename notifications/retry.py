"""The retry schedule: the one place that decides when a failed webhook attempt or customer message is tried again.

Retry n (n = 1, 2, …) of a schedule waits

    base * factor**(n-1), capped at `cap_seconds`, times a random jitter in [0.9, 1.1]

The jitter spreads work that failed together (an endpoint or provider outage) so it does not come back as one burst.
A `Retry-After` answer (429/503) is honoured when it asks for longer, bounded by `retry_after_cap_seconds`.

- Webhooks: base = the subscription's `retryConfig.retryIntervalSeconds`, factor 2, cap
  WEBHOOK_MAX_RETRY_DELAY_SECONDS (6 h), which also bounds Retry-After. Base 60 s gives about 1, 2, 4, 8, 16 min, …
  `maxRetries` counts retries after the first attempt (1 + maxRetries attempts in all).
- Customer messages: base 30 s, factor 4, cap 1 h: 30 s, 2 min, 8 min, 32 min, then hourly, until
  CUSTOMER_MESSAGE_MAX_ATTEMPTS attempts in all (5 by default: given up about 42 minutes after the first try). A
  provider's Retry-After is honoured up to 6 h."""

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from django.conf import settings

MESSAGE_RETRY_AFTER_CAP_SECONDS = 6 * 60 * 60


@dataclass(frozen=True)
class RetrySchedule:
    base_seconds: float
    factor: float
    cap_seconds: float
    retry_after_cap_seconds: float


def webhook_schedule(*, retry_interval_seconds: int) -> RetrySchedule:
    cap = settings.WEBHOOK_MAX_RETRY_DELAY_SECONDS
    return RetrySchedule(base_seconds=retry_interval_seconds, factor=2, cap_seconds=cap, retry_after_cap_seconds=cap)


MESSAGE_SCHEDULE = RetrySchedule(
    base_seconds=30, factor=4, cap_seconds=60 * 60, retry_after_cap_seconds=MESSAGE_RETRY_AFTER_CAP_SECONDS
)


def retry_delay_seconds(schedule: RetrySchedule, *, retry_number: int, retry_after: float | None = None) -> float:
    """Seconds to wait before retry `retry_number` (1 = the first retry, after the first attempt failed)."""
    scheduled = min(schedule.base_seconds * schedule.factor ** max(retry_number - 1, 0), schedule.cap_seconds)
    delay = scheduled * random.uniform(0.9, 1.1)
    if retry_after is not None and retry_after > delay:
        delay = retry_after
    return float(min(delay, schedule.retry_after_cap_seconds))


def has_retries_left(*, attempts_made: int, max_retries: int) -> bool:
    return attempts_made < 1 + max_retries


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
