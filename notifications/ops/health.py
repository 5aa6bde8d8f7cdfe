"""Readiness checks of every dependency: PostgreSQL, Redis, Kafka, a worker heartbeat and beat's last run.

Each check returns a `CheckResult` and never raises: a failing dependency is a result, not an exception. Used by
`/readyz` and `manage.py status`. Network checks are bounded by OPS_CHECK_TIMEOUT_SECONDS and run in parallel, so
the whole report takes about one timeout at worst.
"""

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import redis
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from django.conf import settings
from django.db import DatabaseError, connections
from django.db.utils import load_backend
from django.utils import timezone

from notifications.ops import heartbeats

logger = logging.getLogger(__name__)

OK = "ok"
FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    state: str  # "ok" | "fail"
    latency_ms: float
    detail: str

    @property
    def ok(self) -> bool:
        return self.state == OK

    def as_json(self) -> dict:
        data = asdict(self)
        return {"state": data["state"], "latencyMs": data["latency_ms"], "detail": data["detail"]}


def _timed(probe: Callable[[], str]) -> CheckResult:
    """Run `probe` (returns a detail string, raises on failure) and time it."""
    started = time.perf_counter()
    try:
        detail = probe()
        state = OK
    except Exception as exc:  # any failure of a dependency is reported, never raised
        detail = f"{type(exc).__name__}: {_first_line(exc)}"
        state = FAIL
    return CheckResult(state=state, latency_ms=round((time.perf_counter() - started) * 1000, 1), detail=detail)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else "no detail"


def _timeout() -> float:
    return float(settings.OPS_CHECK_TIMEOUT_SECONDS)


def check_postgres(*, settings_dict: dict | None = None) -> CheckResult:
    """Open a fresh connection (so a full connection pool or a refused login shows) and run SELECT 1.

    Django builds the connection parameters (OPTIONS, service files…); the connection itself is a bare psycopg
    one, outside Django's connection handling, so a probe never disturbs the request's own connection."""

    def probe() -> str:
        params = dict(settings_dict or connections["default"].settings_dict)
        params["OPTIONS"] = {**params.get("OPTIONS", {}), "connect_timeout": max(1, round(_timeout()))}
        for key, default in (("TIME_ZONE", None), ("CONN_MAX_AGE", 0), ("CONN_HEALTH_CHECKS", False)):
            params.setdefault(key, default)
        wrapper = load_backend(params["ENGINE"]).DatabaseWrapper(params, alias="__readyz__")
        conn_params = wrapper.get_connection_params()
        with wrapper.Database.connect(**conn_params) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return f"connected to {params.get('HOST') or 'local socket'}:{params.get('PORT') or 5432}/{params['NAME']}"

    return _timed(probe)


def check_redis(*, url: str | None = None) -> CheckResult:
    """PING the Celery broker's Redis."""

    def probe() -> str:
        client = redis.Redis.from_url(
            url or settings.CELERY_BROKER_URL, socket_connect_timeout=_timeout(), socket_timeout=_timeout()
        )
        try:
            client.ping()
        finally:
            client.close()
        return "PONG"

    return _timed(probe)


def check_kafka(*, bootstrap_servers: str | None = None, topic: str | None = None) -> CheckResult:
    """Fetch cluster metadata; report the broker count and whether the notification topic exists."""

    def probe() -> str:
        topic_name = topic or settings.KAFKA_NOTIFICATION_TOPIC
        client = AdminClient(
            {
                "bootstrap.servers": bootstrap_servers or settings.KAFKA_BOOTSTRAP_SERVERS,
                "socket.timeout.ms": max(100, int(_timeout() * 1000)),
                # librdkafka logs every refused connection to stderr; the failure is in the result instead.
                "log_level": 0,
            }
        )
        try:
            metadata = client.list_topics(timeout=_timeout())
        except KafkaException as exc:
            raise ConnectionError(exc.args[0].str() if exc.args else str(exc)) from exc
        if not metadata.brokers:
            raise ConnectionError("no broker in the cluster metadata")
        if topic_name in metadata.topics:
            partitions = len(metadata.topics[topic_name].partitions)
            return f"{len(metadata.brokers)} broker(s), topic {topic_name} with {partitions} partition(s)"
        # Reachable but without the topic yet: ready (it is auto-created on first use), and said so.
        return f"{len(metadata.brokers)} broker(s), topic {topic_name} not created yet"

    return _timed(probe)


def _check_heartbeat(prefix: str, what: str) -> CheckResult:
    def probe() -> str:
        try:
            row = heartbeats.heartbeat_latest(prefix=prefix)
        except DatabaseError as exc:
            raise ConnectionError(f"cannot read heartbeats: {_first_line(exc)}") from exc
        if row is None:
            raise LookupError(f"no {what} heartbeat recorded yet")
        age = (timezone.now() - row.last_seen_at).total_seconds()
        detail = f"{row.name} seen {age:.0f}s ago"
        if age > settings.OPS_HEARTBEAT_MAX_AGE_SECONDS:
            raise TimeoutError(f"{detail} (limit {settings.OPS_HEARTBEAT_MAX_AGE_SECONDS}s)")
        return detail

    return _timed(probe)


def check_worker() -> CheckResult:
    """A Celery worker executed the heartbeat task recently."""
    return _check_heartbeat(heartbeats.WORKER_PREFIX, "worker")


def check_beat() -> CheckResult:
    """Celery beat sent the heartbeat task recently."""
    return _check_heartbeat(heartbeats.BEAT, "beat")


NETWORK_CHECKS: dict[str, Callable[[], CheckResult]] = {
    "postgres": check_postgres,
    "redis": check_redis,
    "kafka": check_kafka,
}


def readiness_report() -> dict[str, CheckResult]:
    """Every check by name, in a stable order."""
    # The network probes do not touch Django's own connections, so they can run side by side; the heartbeat checks
    # use the ORM and stay on this thread (its connection, its transaction).
    with ThreadPoolExecutor(max_workers=len(NETWORK_CHECKS), thread_name_prefix="readyz") as pool:
        futures = {name: pool.submit(check) for name, check in NETWORK_CHECKS.items()}
        results = {name: future.result() for name, future in futures.items()}
    results["worker"] = check_worker()
    results["beat"] = check_beat()
    for name, result in results.items():
        if not result.ok:
            logger.warning("Readiness check %s failed: %s", name, result.detail)
    return results


def is_ready(results: dict[str, CheckResult]) -> bool:
    return all(result.ok for result in results.values())
