"""Prometheus metrics computed from PostgreSQL at scrape time.

Web, workers and the bridge are separate processes (and gunicorn forks several web workers), so in-process
counters would each see a slice. The database sees everything, so the collector reads it:

- Immutable rows (events, delivery attempts, dead letters) feed true *counters* and the attempt-latency
  *histogram*. They are counted incrementally: the collector keeps, in the ServiceHeartbeat row `metrics`, the last
  row id it counted and the running totals, and each scrape only counts rows above that id. A scrape therefore
  costs the same at 10 thousand or 100 million rows, and pruning old rows (`prune_history`) does not make a counter
  go down. Rows younger than METRICS_SETTLE_SECONDS are left for the next scrape, so a transaction that allocated
  an id but has not committed yet is not skipped over.
- Mutable rows (deliveries, customer messages) feed *gauges*: open work now (partial indexes), and outcomes of the
  last 24 h (created_at index).
"""

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Case, CharField, Count, Q, Sum, Value, When
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from notifications.models import (
    CustomerMessage,
    DeadLetter,
    DeliveryAttempt,
    Event,
    ServiceHeartbeat,
    WebhookDelivery,
)
from notifications.ops import heartbeats
from notifications.ops import selectors as ops_selectors

logger = logging.getLogger(__name__)

PREFIX = "notif"
STATE_ROW = "metrics"
# Attempt latency buckets, milliseconds (the webhook read timeout defaults to 15 s).
LATENCY_BUCKETS_MS = (25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)
# At most this many ids of one table are counted per scrape, so the first scrape of a large table stays short;
# the counters catch up over the following scrapes.
MAX_IDS_PER_SCRAPE = 1_000_000
RECENT_WINDOW = timedelta(hours=24)

ATTEMPT_OUTCOME = Case(
    When(succeeded=True, then=Value("success")),
    When(status_code__gte=500, then=Value("http_5xx")),
    When(status_code__gte=400, then=Value("http_4xx")),
    When(status_code__gte=300, then=Value("http_3xx")),
    When(status_code__isnull=False, then=Value("http_other")),
    When(error_class__icontains="timeout", then=Value("timeout")),
    default=Value("error"),
    output_field=CharField(),
)


@dataclass(frozen=True)
class _Source:
    """An append-only table counted incrementally."""

    key: str
    model: type
    time_field: str


EVENTS = _Source("events", Event, "received_at")
ATTEMPTS = _Source("attempts", DeliveryAttempt, "started_at")
DEAD_LETTERS = _Source("dead_letters", DeadLetter, "created_at")


def _new_ids_range(source: _Source, state: dict, now: datetime) -> tuple[int, int] | None:
    """(after, upto]: ids to count this scrape, or None when nothing settled is new."""
    cursor = int(state.get("cursor", 0))
    settled = now - timedelta(seconds=settings.METRICS_SETTLE_SECONDS)
    # Walking the primary key backwards skips only the few rows of the settle window.
    upto = (
        source.model.objects.filter(**{f"{source.time_field}__lt": settled})
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    if upto is None:
        return None
    if upto <= cursor:
        if _id_sequence_restarted(source, cursor):
            # A restored or recreated database: start counting afresh (Prometheus sees a counter reset). Rows
            # deleted by pruning do not get here: deleting never moves the id sequence back.
            state.clear()
            return _new_ids_range(source, state, now)
        return None
    upto = min(upto, cursor + MAX_IDS_PER_SCRAPE)
    return (cursor, upto) if upto > cursor else None


def _id_sequence_restarted(source: _Source, cursor: int) -> bool:
    with connection.cursor() as db_cursor:
        db_cursor.execute(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence(%s, 'id')::regclass)", [source.model._meta.db_table]
        )
        (last_value,) = db_cursor.fetchone()
    return last_value is not None and last_value < cursor


def _add(totals: dict, key: str, n: int | float) -> None:
    totals[key] = totals.get(key, 0) + n


def _advance_counts(source, model, column: str, key: str, state: dict, now: datetime) -> None:
    """Add the rows of `model` written since the cursor to the running totals per value of `column`."""
    ids = _new_ids_range(source, state, now)
    if ids is None:
        return
    totals = state.setdefault(key, {})
    rows = model.objects.filter(id__gt=ids[0], id__lte=ids[1]).values_list(column).annotate(n=Count("id"))
    for value, n in rows.order_by():
        _add(totals, value, n)
    state["cursor"] = ids[1]


def _advance_attempts(state: dict, now: datetime) -> None:
    ids = _new_ids_range(ATTEMPTS, state, now)
    if ids is None:
        return
    new_rows = DeliveryAttempt.objects.filter(id__gt=ids[0], id__lte=ids[1])
    outcomes = state.setdefault("by_outcome", {})
    by_outcome = new_rows.annotate(outcome=ATTEMPT_OUTCOME).values_list("outcome").annotate(n=Count("id"))
    for outcome, n in by_outcome.order_by():
        _add(outcomes, outcome, n)
    # One pass for the histogram: a filtered count per bucket (cumulative, as Prometheus wants them).
    aggregates = new_rows.aggregate(
        total=Count("id"),
        sum_ms=Sum("duration_ms"),
        **{f"le_{bound}": Count("id", filter=Q(duration_ms__lte=bound)) for bound in LATENCY_BUCKETS_MS},
    )
    buckets = state.setdefault("buckets", {})
    for bound in LATENCY_BUCKETS_MS:
        _add(buckets, str(bound), aggregates[f"le_{bound}"])
    _add(state, "count", aggregates["total"])
    _add(state, "sum_ms", aggregates["sum_ms"] or 0)
    state["cursor"] = ids[1]


def counters_advance(*, now: datetime | None = None) -> dict:
    """Count the rows added since the last scrape into the running totals and return them.

    The state row is locked for the duration, so two scrapes at once (two Prometheus replicas, two gunicorn
    workers) count each row once."""
    now = now or timezone.now()
    with transaction.atomic():
        row, _ = ServiceHeartbeat.objects.select_for_update().get_or_create(
            name=STATE_ROW, defaults={"last_seen_at": now, "details": {}}
        )
        state = row.details if isinstance(row.details, dict) else {}
        _advance_counts(EVENTS, Event, "event_name", "by_name", state.setdefault(EVENTS.key, {}), now)
        _advance_attempts(state.setdefault(ATTEMPTS.key, {}), now)
        _advance_counts(DEAD_LETTERS, DeadLetter, "reason_code", "by_reason",
                        state.setdefault(DEAD_LETTERS.key, {}), now)
        row.details = state
        row.last_seen_at = now
        row.save(update_fields=["details", "last_seen_at"])
    return state


def _gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=list(labels))


def _counter_families(state: dict) -> Iterator[Metric]:
    events = CounterMetricFamily(
        f"{PREFIX}_events_ingested", "Events ingested (unique eventIds), by eventName.", labels=["event_name"]
    )
    for name, n in sorted(state.get(EVENTS.key, {}).get("by_name", {}).items()):
        events.add_metric([name], n)
    yield events

    attempts_state = state.get(ATTEMPTS.key, {})
    attempts = CounterMetricFamily(
        f"{PREFIX}_delivery_attempts", "Webhook delivery attempts, by outcome.", labels=["outcome"]
    )
    for outcome, n in sorted(attempts_state.get("by_outcome", {}).items()):
        attempts.add_metric([outcome], n)
    yield attempts

    latency = HistogramMetricFamily(
        f"{PREFIX}_delivery_attempt_duration_seconds", "Duration of webhook delivery attempts (HTTP round trip)."
    )
    bucket_counts = attempts_state.get("buckets", {})
    latency.add_metric(
        [],
        buckets=[(str(bound / 1000), bucket_counts.get(str(bound), 0)) for bound in LATENCY_BUCKETS_MS]
        + [("+Inf", attempts_state.get("count", 0))],
        sum_value=attempts_state.get("sum_ms", 0) / 1000,
    )
    yield latency

    dead = CounterMetricFamily(
        f"{PREFIX}_dead_letters", "Kafka messages dead-lettered at ingest, by reason code.", labels=["reason_code"]
    )
    for reason, n in sorted(state.get(DEAD_LETTERS.key, {}).get("by_reason", {}).items()):
        dead.add_metric([reason], n)
    yield dead


def _gauge_families(now: datetime) -> Iterator[Metric]:
    backlog = ops_selectors.backlog_get(now=now)

    open_work = _gauge("webhook_deliveries_open", "Webhook deliveries not finished yet, by status.", ["status"])
    open_work.add_metric(["PENDING"], backlog.pending)
    open_work.add_metric(["SENDING"], backlog.sending)
    yield open_work

    overdue = _gauge(
        "webhook_deliveries_overdue",
        f"Open deliveries due more than {settings.OPS_OVERDUE_GRACE_SECONDS}s ago (or whose worker lease expired).",
    )
    overdue.add_metric([], backlog.overdue)
    yield overdue

    oldest = _gauge("webhook_oldest_overdue_seconds", "Age of the longest-overdue open delivery (0 when none).")
    oldest.add_metric([], backlog.oldest_overdue_seconds or 0)
    yield oldest

    recent = _gauge(
        "webhook_deliveries_recent", "Deliveries created in the last 24 h, by current status.", ["status"]
    )
    for status, n in sorted(
        WebhookDelivery.objects.filter(created_at__gte=now - RECENT_WINDOW)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        recent.add_metric([status], n)
    yield recent

    rate = _gauge(
        "partner_delivery_success_ratio",
        "Per partner, succeeded / finished among deliveries created in the last 24 h (absent when none finished).",
        ["tenant"],
    )
    finished = _gauge(
        "partner_deliveries_finished_recent",
        "Per partner, finished deliveries created in the last 24 h.",
        ["tenant", "outcome"],
    )
    for partner in ops_selectors.partner_success_rates(hours=24, now=now):
        finished.add_metric([partner.tenant_id, "SUCCEEDED"], partner.succeeded)
        finished.add_metric([partner.tenant_id, "FAILED"], partner.failed)
        if partner.success_rate is not None:
            rate.add_metric([partner.tenant_id], partner.success_rate)
    yield rate
    yield finished

    dead_now = _gauge("dead_letters_current", "Dead-letter rows by reason code and status.", ["reason_code", "status"])
    for reason, status, n in (
        DeadLetter.objects.values_list("reason_code", "status").annotate(n=Count("id")).order_by("reason_code")
    ):
        dead_now.add_metric([reason, status], n)
    yield dead_now

    messages = _gauge(
        "customer_messages_recent", "Customer notifications created in the last 24 h, by channel and status.",
        ["channel", "status"],
    )
    for channel, status, n in (
        CustomerMessage.objects.filter(created_at__gte=now - RECENT_WINDOW)
        .values_list("channel", "status")
        .annotate(n=Count("id"))
        .order_by("channel", "status")
    ):
        messages.add_metric([channel, status], n)
    yield messages

    messages_overdue = _gauge("customer_messages_overdue", "Customer notifications past their due time, not sent.")
    messages_overdue.add_metric([], backlog.messages_overdue)
    yield messages_overdue

    outbox = _gauge("outbox_unpublished", "Events written to the outbox and not yet acknowledged by Kafka.")
    outbox.add_metric([], backlog.outbox_unpublished)
    yield outbox

    disabled = _gauge("subscriptions_disabled", "Subscriptions disabled by endpoint-health rules.")
    disabled.add_metric([], backlog.disabled_subscriptions)
    yield disabled

    lag = _gauge("kafka_consumer_lag", "Messages behind the partition end, per live bridge.", ["bridge", "partition"])
    total_lag = _gauge("kafka_consumer_lag_total", "Summed consumer lag of the live bridges (absent when none).")
    bridges = heartbeats.bridge_lags()
    for bridge in bridges:
        for partition, n in sorted(bridge.partitions.items()):
            lag.add_metric([bridge.name, partition], n)
    if bridges:
        total_lag.add_metric([], sum(bridge.total_lag for bridge in bridges))
    yield lag
    yield total_lag

    ages = _gauge("heartbeat_age_seconds", "Seconds since each background process last reported.", ["service"])
    for row in heartbeats.heartbeat_list():
        if row.name != STATE_ROW:
            ages.add_metric([row.name], max((now - row.last_seen_at).total_seconds(), 0.0))
    yield ages


class NotificationCollector(Collector):
    """Everything above, computed at each scrape; `notif_database_up` is 0 when PostgreSQL could not be read."""

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        now = timezone.now()
        up = _gauge("database_up", "1 when the metrics could be read from PostgreSQL.")
        try:
            families = [*_counter_families(counters_advance(now=now)), *_gauge_families(now)]
        except DatabaseError:
            logger.warning("Metrics scrape could not read PostgreSQL", exc_info=True)
            families = []
        up.add_metric([], 1 if families else 0)
        yield up
        yield from families
        duration = _gauge("metrics_scrape_duration_seconds", "Time spent computing these metrics.")
        duration.add_metric([], time.perf_counter() - started)
        yield duration


def metrics_render() -> bytes:
    """The Prometheus text exposition of every metric."""
    # A private registry: no process_* metrics, which would describe only the gunicorn worker that answered.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NotificationCollector())
    return generate_latest(registry)
