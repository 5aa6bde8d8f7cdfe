"""Throttle failed partner-API authentications per client IP (token guessing).

The rate is `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["failed_auth"]` (e.g. "20/min"). Counters live in the shared
Django cache (Redis), so every web process sees the same count. The window is fixed (counter per IP per window,
incremented atomically); at most twice the rate can slip through around a window boundary, which is fine for
slowing down guessing of 256-bit tokens. If the cache is down the throttle fails open: authentication itself does
not depend on it."""

import logging
import time

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)

SCOPE = "failed_auth"
KEY_PREFIX = "throttle:failed-auth"


class FailedAuthThrottle(SimpleRateThrottle):
    """Not a view throttle: the authentication class asks `wait()` before checking a token and calls
    `record_failure()` after a failed check."""

    scope = SCOPE

    def __init__(self) -> None:
        # Read the rate on every use, so a changed REST_FRAMEWORK setting (tests, reload) applies at once.
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(SCOPE)
        self.num_requests, self.duration = self.parse_rate(self.rate) if self.rate else (None, None)

    def get_cache_key(self, request, view) -> str:
        window = int(time.time() // self.duration)
        return f"{KEY_PREFIX}:{self.get_ident(request)}:{window}"

    def _seconds_left_in_window(self) -> float:
        return self.duration - (time.time() % self.duration)

    def wait(self, request=None) -> float | None:
        """Seconds until this client may try again, or None when it is not blocked."""
        if not self.num_requests or request is None:
            return None
        try:
            failures = cache.get(self.get_cache_key(request, None), 0)
        except Exception:
            logger.warning("Failed-auth throttle unavailable (cache error); not throttling", exc_info=True)
            return None
        if failures < self.num_requests:
            return None
        return max(1.0, self._seconds_left_in_window())

    def record_failure(self, request) -> None:
        if not self.num_requests:
            return
        key = self.get_cache_key(request, None)
        try:
            # add() is a no-op when the key exists; incr() is atomic in Redis, so concurrent failures all count.
            cache.add(key, 0, timeout=self.duration + 1)
            failures = cache.incr(key)
        except Exception:
            logger.warning("Failed-auth throttle unavailable (cache error); failure not counted", exc_info=True)
            return
        if failures == self.num_requests:
            logger.warning(
                "Client %s reached %s failed authentications; throttled for this window",
                self.get_ident(request),
                self.rate,
            )

    def client_ident(self, request) -> str:
        return self.get_ident(request)


class PartnerScopedThrottle(SimpleRateThrottle):
    """A view throttle per partner (tenant), for operations that cost us real work per call: the view names its
    `throttle_scope` and the rate is `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]` (e.g. "30/min"; missing or
    empty = not throttled). Every token of a tenant shares the count, so a tenant cannot multiply its share by issuing
    tokens, and one tenant's calls never use up another's. Fails open if the cache is down, like FailedAuthThrottle."""

    def __init__(self) -> None:
        # The rate depends on the view's scope, so it is read in allow_request (also picks up changed settings).
        self.rate = None

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, "throttle_scope", None)
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) if self.scope else None
        if not self.rate:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.warning("Partner throttle %s unavailable (cache error); not throttling", self.scope, exc_info=True)
            return True

    def get_cache_key(self, request, view) -> str | None:
        partner = getattr(request.user, "partner", None)
        if partner is None:
            return None
        return f"throttle:{self.scope}:partner:{partner.pk}"
