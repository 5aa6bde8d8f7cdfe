"""Process-level tuning of the long-running processes (Celery workers, the Kafka bridge)."""

import gc


def freeze_startup_objects() -> None:
    """Put everything allocated at start-up (modules, Django, Celery, aiohttp, the models) out of the cyclic garbage
    collector's reach. Otherwise every full collection walks those hundreds of thousands of objects again: measured,
    60-180 ms pauses of the whole worker (its sending event loop included) every few seconds, which were the
    latency spikes at 1,000 events/s (docs/profiles/). Garbage made later is collected as usual."""
    gc.collect()
    gc.freeze()
