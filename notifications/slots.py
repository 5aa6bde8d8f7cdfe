"""Concurrency slots per key within one worker process: the one mechanism that keeps one endpoint (webhooks) or one
tenant (customer messages) from holding more than its share of the worker's threads.

A batch holds a worker thread while it runs, so `slots` per key bound the threads one key can hold. When a key's
slots are taken, a batch waits for one (up to `wait` seconds) if the key is fast, since a slot frees up in moments,
and gives up at once if the key is slow: the caller then defers its batch (re-enqueues it with a countdown) instead
of holding a thread behind it, so everyone else's work goes on."""

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
