"""ConcurrencySlots and DurationAverage: the one mechanism bounding the threads one endpoint or one tenant holds."""

import threading
import time

from notifications.slots import ConcurrencySlots, DurationAverage


def never_slow() -> bool:
    return False


def test_a_key_gets_at_most_its_slots_and_other_keys_their_own():
    slots = ConcurrencySlots()
    assert [slots.acquire("a", slots=2, wait=0, is_slow=never_slow) for _ in range(3)] == [True, True, False]
    assert slots.acquire("b", slots=2, wait=0, is_slow=never_slow)
    slots.release("a")
    assert slots.acquire("a", slots=2, wait=0, is_slow=never_slow)
    assert slots.held("a") == 2


def test_a_fast_key_waits_for_a_slot_to_free_up():
    slots = ConcurrencySlots()
    assert slots.acquire("a", slots=1, wait=0, is_slow=never_slow)
    threading.Timer(0.2, slots.release, ["a"]).start()
    assert slots.acquire("a", slots=1, wait=10, is_slow=never_slow)


def test_a_slow_key_gives_up_at_once():
    slots = ConcurrencySlots()
    assert slots.acquire("a", slots=1, wait=0, is_slow=never_slow)
    started = time.monotonic()
    assert not slots.acquire("a", slots=1, wait=10, is_slow=lambda: True)
    assert time.monotonic() - started < 0.5


def test_a_duration_counts_work_still_running():
    durations = DurationAverage()
    first = durations.started("t")
    durations.finished("t", first)
    assert durations.seconds("t") < 0.1
    durations.started("t")
    time.sleep(0.3)
    assert durations.seconds("t") >= 0.3  # the unfinished batch already makes it slow
