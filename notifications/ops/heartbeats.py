"""Signs of life of the background processes, kept as ServiceHeartbeat rows.

Web, workers, beat and the bridge are separate processes (often on separate hosts), so the only place they can all
see each other is PostgreSQL. Names: `beat`, `worker:<celery hostname>`, `bridge:<bridge name>`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from notifications.models import ServiceHeartbeat

BEAT = "beat"
WORKER_PREFIX = "worker:"
BRIDGE_PREFIX = "bridge:"


@dataclass(frozen=True)
class BridgeLag:
    name: str
    last_seen_at: datetime
    total_lag: int
    partitions: dict[str, int]
    fresh: bool


def heartbeat_record(*, name: str, details: dict | None = None, at: datetime | None = None) -> ServiceHeartbeat:
    """Record that the process `name` is alive now (one row per name, overwritten)."""
    row, _ = ServiceHeartbeat.objects.update_or_create(
        name=name[:100], defaults={"last_seen_at": at or timezone.now(), "details": details or {}}
    )
    return row


def heartbeat_prune_stale(*, prefix: str, older_than: timedelta) -> int:
    """Forget processes of kind `prefix` not seen for `older_than` (worker hostnames change on every restart)."""
    deleted, _ = ServiceHeartbeat.objects.filter(
        name__startswith=prefix, last_seen_at__lt=timezone.now() - older_than
    ).delete()
    return deleted


def heartbeat_max_age() -> timedelta:
    return timedelta(seconds=settings.OPS_HEARTBEAT_MAX_AGE_SECONDS)


def heartbeat_latest(*, prefix: str) -> ServiceHeartbeat | None:
    """The most recent heartbeat whose name is `prefix` or starts with it."""
    return ServiceHeartbeat.objects.filter(name__startswith=prefix).order_by("-last_seen_at").first()


def heartbeat_list() -> list[ServiceHeartbeat]:
    return list(ServiceHeartbeat.objects.order_by("name"))


def bridge_lags(*, include_stale: bool = False) -> list[BridgeLag]:
    """Consumer lag as last reported by each bridge (`details = {"lag": {"topic:partition": n}, "total_lag": n}`).

    A bridge that stopped reporting no longer owns its partitions, so its last figure is stale: it is left out
    unless `include_stale`, which the dashboard uses to show it greyed."""
    cutoff = timezone.now() - heartbeat_max_age()
    lags = []
    for row in ServiceHeartbeat.objects.filter(name__startswith=BRIDGE_PREFIX).order_by("name"):
        fresh = row.last_seen_at >= cutoff
        if not fresh and not include_stale:
            continue
        details = row.details if isinstance(row.details, dict) else {}
        partitions = details.get("lag") if isinstance(details.get("lag"), dict) else {}
        lags.append(
            BridgeLag(
                name=row.name.removeprefix(BRIDGE_PREFIX),
                last_seen_at=row.last_seen_at,
                total_lag=_as_int(details.get("total_lag"), default=sum(_as_int(v) for v in partitions.values())),
                partitions={str(k): _as_int(v) for k, v in partitions.items()},
                fresh=fresh,
            )
        )
    return lags


def consumer_lag_total() -> int | None:
    """Summed lag of the live bridges; None when no bridge reported recently (lag unknown, not zero)."""
    lags = bridge_lags()
    return sum(lag.total_lag for lag in lags) if lags else None


def _as_int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
