"""How many of a worker process's threads one tenant, and one endpoint, may hold: the one place that decides it.

- `TENANT_THREADS`: while other tenants have work in the process, a tenant's batches (webhooks and customer messages
  alike), running or waiting for a slot, hold at most WORKER_TENANT_MAX_THREADS threads of it; a batch beyond that is
  deferred at once (re-enqueued with a countdown), so the remaining threads serve the other tenants, whatever one
  tenant floods or how slow its endpoint or templates are. A tenant alone may use every thread: deferring its
  batches then would only cost a round trip through the broker, with nobody to make room for.
- `ConcurrencySlots` per endpoint: a batch holds a thread while its requests are out, so `slots` per endpoint bound
  the threads one endpoint holds. When its slots are taken, a batch waits for one (up to `wait` seconds) if the
  endpoint is fast, since a slot frees up in moments, and is deferred at once if it is slow."""

import threading
import time
from collections.abc import Callable, Hashable


class ConcurrencySlots:
    def __init__(self) -> None:
        self._held: dict[Hashable, int] = {}
        self._freed = threading.Condition()  # notified whenever a slot of any key frees up

    def held(self, key: Hashable) -> int:
        with self._freed:
            return self._held.get(key, 0)

    def acquire(self, key: Hashable, *, slots: int, wait: float, is_slow: Callable[[], bool]) -> bool:
        """Take one of `key`'s `slots` (True), to be given back with `release`; False if none freed up within
        `wait` seconds, or at once while `is_slow()` says the key is slow."""
        deadline = time.monotonic() + wait
        with self._freed:
            while self._held.get(key, 0) >= slots:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or is_slow():
                    return False
                # Woken when any slot frees up; re-checked at least every 0.2 s (slowness changes meanwhile).
                self._freed.wait(min(remaining, 0.2))
            self._held[key] = self._held.get(key, 0) + 1
            return True

    def release(self, key: Hashable) -> None:
        with self._freed:
            self._held[key] -= 1
            self._freed.notify_all()


class TenantThreads:
    """The threads of this process held by each tenant's batches (running or waiting for an endpoint's slot)."""

    # Another tenant whose batch came through this long ago still counts as waiting for threads: its next batch is
    # likely behind the flood in the queue, and a thread must be free when it comes up.
    OTHERS_ACTIVE_SECONDS = 10.0

    def __init__(self) -> None:
        self._held: dict[Hashable, int] = {}
        self._last_seen: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    def enter(self, tenant: Hashable, *, limit: int) -> bool:
        """Count this thread for `tenant` (True), unless the tenant already holds `limit` threads while another
        tenant has had work here lately (False: defer)."""
        now = time.monotonic()
        with self._lock:
            self._last_seen[tenant] = now
            if self._held.get(tenant, 0) >= limit and self._others_active(tenant, now):
                return False
            self._held[tenant] = self._held.get(tenant, 0) + 1
            return True

    def _others_active(self, tenant: Hashable, now: float) -> bool:
        horizon = now - self.OTHERS_ACTIVE_SECONDS
        for other, seen in list(self._last_seen.items()):
            if other == tenant:
                continue
            if seen >= horizon or self._held.get(other, 0):
                return True
            del self._last_seen[other]  # gone quiet: forgotten until its next batch
        return False

    def leave(self, tenant: Hashable) -> None:
        with self._lock:
            self._held[tenant] -= 1

    def held(self, tenant: Hashable) -> int:
        with self._lock:
            return self._held.get(tenant, 0)


TENANT_THREADS = TenantThreads()


class DurationAverage:
    """A short-memory moving average of how long each key's work takes, and how long its work in progress has run
    without finishing: a key that turns slow is recognised before its first slow batch ends."""

    def __init__(self, weight: float = 0.3) -> None:
        self.weight = weight
        self._average: dict[Hashable, float] = {}
        self._running: dict[Hashable, list[float]] = {}
        self._lock = threading.Lock()

    def started(self, key: Hashable) -> float:
        now = time.monotonic()
        with self._lock:
            self._running.setdefault(key, []).append(now)
        return now

    def finished(self, key: Hashable, started: float) -> None:
        seconds = time.monotonic() - started
        with self._lock:
            self._running[key].remove(started)
            previous = self._average.get(key)
            self._average[key] = seconds if previous is None else (1 - self.weight) * previous + self.weight * seconds

    def seconds(self, key: Hashable) -> float:
        """The average, or, if longer, the age of the oldest unfinished piece of work."""
        with self._lock:
            running = self._running.get(key)
            stalled = time.monotonic() - min(running) if running else 0.0
            return max(self._average.get(key, 0.0), stalled)
