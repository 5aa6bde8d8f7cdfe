"""Per-endpoint rate limits (`rateLimitPerSecond`): the one place that decides whether a request may go now.

The state is shared by every worker process on every host: a sliding-window log in Redis, updated by one Lua script
(atomic: no two workers can both take the last slot). Each granted request is a timestamp in a sorted set; a request
is granted only while fewer than `limit` timestamps lie within the window. Unlike a token bucket (which lets a full
bucket plus its refill through within one second, up to twice the limit), a sliding window never lets more than
`limit` requests start within any window-long span, which is the promise partners are given.

The window is one second plus WEBHOOK_RATE_LIMIT_MARGIN_MS: a request is granted a moment before it leaves, and two
requests granted one second apart can reach the endpoint less than a second apart when the first one is delayed
on its way (the event loop, the network). The margin absorbs that, at the price of running slightly under the limit.

Times come from Redis (`TIME`), the one clock every host shares. When Redis cannot be reached nothing is granted:
the deliveries wait (the limit is a promise) and are tried again a second later."""

import logging
import uuid
from dataclasses import dataclass

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# KEYS[1]: the endpoint's log. ARGV: limit, window (µs), requests wanted, a nonce for unique members.
# Returns {granted, microseconds until the next slot frees (0 if one is free now)}.
_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit, window, wanted = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
local granted = math.max(0, math.min(wanted, limit - used))
for i = 1, granted do
    redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. i)
end
if granted > 0 then
    redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
end
local wait = 0
if used + granted >= limit then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    wait = tonumber(oldest[2]) + window - now
end
return {granted, wait}
"""

UNAVAILABLE_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class Grant:
    granted: int  # requests that may be sent now
    retry_after: float  # seconds until the next request may go (0.0 when one may go now)


_client: redis.Redis | None = None
_script = None


def _sliding_window():
    global _client, _script
    if _script is None:
        _client = redis.Redis.from_url(settings.WEBHOOK_RATE_LIMIT_REDIS_URL, socket_timeout=2,
                                       socket_connect_timeout=2)
        _script = _client.register_script(_SLIDING_WINDOW)
    return _script


def window_seconds() -> float:
    return 1.0 + settings.WEBHOOK_RATE_LIMIT_MARGIN_MS / 1000


def rate_limit_acquire(*, subscription_id: int, limit: int, wanted: int) -> Grant:
    """Take up to `wanted` of the endpoint's `limit` requests per second; the caller sends that many now and
    leaves the rest waiting for `retry_after` seconds."""
    if wanted <= 0:
        return Grant(0, 0.0)
    key = f"{settings.WEBHOOK_RATE_LIMIT_KEY_PREFIX}:{subscription_id}"
    try:
        granted, wait_us = _sliding_window()(
            keys=[key], args=[limit, int(window_seconds() * 1_000_000), wanted, uuid.uuid4().hex])
    except redis.RedisError:
        logger.warning("Rate limiter unavailable; endpoint %s waits %.0f s", subscription_id,
                       UNAVAILABLE_RETRY_SECONDS, exc_info=True)
        return Grant(0, UNAVAILABLE_RETRY_SECONDS)
    return Grant(int(granted), max(int(wait_us), 0) / 1_000_000)
