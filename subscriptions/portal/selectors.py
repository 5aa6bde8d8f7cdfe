"""Read side of the partner portal. Every query takes the partner: a portal user never reads another tenant's rows.

The delivery log is keyset-paginated on (created_at, id), newest first, over the indexes
`delivery_partner_log_idx` / `delivery_partner_status_idx` (notifications/models.py): a page costs one index range
scan however deep the partner pages, also with a million deliveries (bench/portal_log.py, docs/benchmarks.md)."""

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from notifications.models import DeliveryAttempt, DeliveryStatus, Event, WebhookDelivery
from notifications.webhooks.formats import ENVELOPES, example_fields, render
from subscriptions.catalog import EventDefinition
from subscriptions.models import ApiToken, AuditEntry, EventSubscription, Partner

LOG_PAGE_SIZE = 50
AUDIT_PAGE_SIZE = 50


# --- delivery log -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogFilters:
    event_name: str = ""
    status: str = ""
    since: datetime | None = None
    until: datetime | None = None
    entity_id: str = ""
    event_id: str = ""


@dataclass
class LogPage:
    rows: list[WebhookDelivery]
    next_cursor: str | None
    previous_cursor: str | None


def encode_cursor(created_at: datetime, pk: int, *, backwards: bool = False) -> str:
    raw = f"{'b' if backwards else 'f'}|{created_at.astimezone(UTC).isoformat()}|{pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[bool, datetime, int] | None:
    """(backwards, created_at, id) of a cursor, or None when it is not one of ours (the first page is shown)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        direction, stamp, pk = raw.split("|")
        moment = parse_datetime(stamp)
        if direction not in ("f", "b") or moment is None:
            return None
        return direction == "b", moment, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _filtered_deliveries(*, partner: Partner, filters: LogFilters) -> QuerySet[WebhookDelivery]:
    queryset = WebhookDelivery.objects.filter(partner=partner)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.since:
        queryset = queryset.filter(created_at__gte=filters.since)
    if filters.until:
        queryset = queryset.filter(created_at__lt=filters.until)
    # Filters on the event: a semi-join through the events' own (partner, …) indexes.
    if filters.event_id:
        queryset = queryset.filter(event__in=Event.objects.filter(partner=partner, event_id=filters.event_id))
    if filters.event_name:
        queryset = queryset.filter(event__partner=partner, event__event_name=filters.event_name)
    if filters.entity_id:
        queryset = queryset.filter(event__in=Event.objects.filter(partner=partner, entity_id=filters.entity_id))
    return queryset


def _log_queryset(*, partner: Partner, filters: LogFilters, position: tuple[bool, datetime, int] | None
                  ) -> QuerySet[WebhookDelivery]:
    """The page's query: filters, the keyset condition of `position`, the row's joins, newest first (oldest first
    when paging backwards)."""
    queryset = _filtered_deliveries(partner=partner, filters=filters)
    backwards = bool(position and position[0])
    if position:
        _, moment, pk = position
        # created_at <= moment keeps the index range scan; the OR only settles ties on that one instant.
        if backwards:
            queryset = queryset.filter(Q(created_at__gt=moment) | Q(created_at=moment, id__gt=pk),
                                       created_at__gte=moment)
        else:
            queryset = queryset.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=pk),
                                       created_at__lte=moment)
    order = ("created_at", "id") if backwards else ("-created_at", "-id")
    return (
        queryset.select_related("event", "subscription")
        .only("id", "status", "attempt_count", "last_status_code", "last_error", "created_at", "completed_at",
              "next_attempt_at", "event__event_id", "event__event_name", "event__entity_id",
              "subscription__event_name", "subscription__destination")
        .order_by(*order)
    )


def _without_parallel_workers(cursor) -> None:
    # A page is at most 51 rows: PostgreSQL's parallel workers never pay for their start-up here, and on a busy
    # host that start-up (~30 ms) was most of a filtered page's time (bench/portal_log.py).
    cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")


def delivery_log_page(
    *, partner: Partner, filters: LogFilters, cursor: str = "", limit: int = LOG_PAGE_SIZE
) -> LogPage:
    """One page of the partner's deliveries, newest first, with the cursors of the pages either side."""
    position = decode_cursor(cursor) if cursor else None
    backwards = bool(position and position[0])
    with transaction.atomic(), connection.cursor() as db:
        _without_parallel_workers(db)
        rows = list(_log_queryset(partner=partner, filters=filters, position=position)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    has_newer = (backwards and more) or (not backwards and position is not None)
    has_older = (not backwards and more) or backwards
    next_cursor = encode_cursor(rows[-1].created_at, rows[-1].pk) if rows and has_older else None
    previous_cursor = encode_cursor(rows[0].created_at, rows[0].pk, backwards=True) if rows and has_newer else None
    return LogPage(rows=rows, next_cursor=next_cursor, previous_cursor=previous_cursor)


def delivery_log_explain(*, partner: Partner, filters: LogFilters, cursor: str = "") -> str:
    """EXPLAIN ANALYZE of a page's query (the bench prints it to show which index served it)."""
    position = decode_cursor(cursor) if cursor else None
    queryset = _log_queryset(partner=partner, filters=filters, position=position)[: LOG_PAGE_SIZE + 1]
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as db:
        _without_parallel_workers(db)
        db.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(row[0] for row in db.fetchall())


# --- overview -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionHealth:
    subscription: EventSubscription
    succeeded: int
    failed: int
    open: int
    p95_ms: float | None

    @property
    def success_rate(self) -> float | None:
        finished = self.succeeded + self.failed
        return self.succeeded / finished if finished else None


@dataclass
class Overview:
    hours: list[datetime]
    series: dict[str, list[int]] = field(default_factory=dict)
    subscriptions: list[SubscriptionHealth] = field(default_factory=list)
    failing: list[EventSubscription] = field(default_factory=list)


def overview_get(*, partner: Partner, hours: int = 24, now: datetime | None = None) -> Overview:
    """Deliveries per hour by outcome, success rate and p95 attempt latency per subscription (last `hours`), and
    the endpoints that are failing or were disabled."""
    now = now or timezone.now()
    last_hour = now.replace(minute=0, second=0, microsecond=0)
    buckets = [last_hour - timedelta(hours=offset) for offset in range(hours - 1, -1, -1)]
    recent = WebhookDelivery.objects.filter(partner=partner, created_at__gte=buckets[0])
    overview = Overview(hours=buckets, series={s: [0] * hours for s in DeliveryStatus.values})
    index = {hour: i for i, hour in enumerate(buckets)}
    per_hour = (recent.annotate(hour=TruncHour("created_at")).values_list("hour", "status")
                .annotate(n=Count("id")).order_by())
    for hour, status, n in per_hour:
        position = index.get(hour.astimezone(buckets[0].tzinfo))
        if position is not None:
            overview.series[status][position] = n
    counts: dict[int, dict[str, int]] = {}
    for sub_id, status, n in recent.values_list("subscription_id", "status").annotate(n=Count("id")).order_by():
        counts.setdefault(sub_id, {})[status] = n
    p95 = _p95_by_subscription(partner=partner, since=buckets[0])
    for subscription in EventSubscription.objects.filter(partner=partner).order_by("event_name"):
        c = counts.get(subscription.pk, {})
        overview.subscriptions.append(SubscriptionHealth(
            subscription=subscription,
            succeeded=c.get(DeliveryStatus.SUCCEEDED, 0),
            failed=c.get(DeliveryStatus.FAILED, 0),
            open=c.get(DeliveryStatus.PENDING, 0) + c.get(DeliveryStatus.SENDING, 0),
            p95_ms=p95.get(subscription.pk),
        ))
        if subscription.failing_since or (not subscription.is_enabled and subscription.disabled_at):
            overview.failing.append(subscription)
    return overview


def _p95_by_subscription(*, partner: Partner, since: datetime) -> dict[int, float]:
    """The 95th percentile of attempt durations per subscription (PostgreSQL's percentile_cont)."""
    attempts = DeliveryAttempt._meta.db_table
    deliveries = WebhookDelivery._meta.db_table
    sql = (
        f"SELECT d.subscription_id, percentile_cont(0.95) WITHIN GROUP (ORDER BY a.duration_ms) "  # noqa: S608
        f"FROM {deliveries} d JOIN {attempts} a ON a.delivery_id = d.id "
        "WHERE d.partner_id = %s AND d.created_at >= %s AND d.subscription_id IS NOT NULL "
        "GROUP BY d.subscription_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [partner.pk, since])
        return {sub_id: float(value) for sub_id, value in cursor.fetchall()}


# --- event detail -------------------------------------------------------------------------------------------------

MASK = "••••••"
# Request headers whose values are credentials: shown with only their first characters.
SECRET_HEADERS = ("webhook-signature", "authorization", "proxy-authorization", "x-api-key", "cookie")
AUTH_SCHEMES = ("bearer", "basic", "digest")


def mask_header_value(name: str, value: str) -> str:
    """A header value fit to show: credentials are masked, keeping only their scheme (`v1,••••••`,
    `Bearer ••••••`)."""
    if name.lower() not in SECRET_HEADERS:
        return value
    masked = []
    for part in value.split(" "):
        if "," in part:
            masked.append(part.split(",", 1)[0] + "," + MASK)
        elif part.lower() in AUTH_SCHEMES:
            masked.append(part)
        else:
            masked.append(MASK)
    return " ".join(masked)


def attempt_request_headers(*, event: Event, attempt: DeliveryAttempt, signatures: int = 1) -> list[tuple[str, str]]:
    """The request headers of one attempt as the sender builds them (notifications/webhooks/signing.py), with the
    signature masked. The timestamp is the attempt's start, which is when the sender signed it."""
    timestamp = int(attempt.started_at.timestamp())
    signature = " ".join(["v1,unknown"] * max(signatures, 1))  # never shown: masked below
    headers = [
        ("Content-Type", "application/json"),
        ("User-Agent", "prepaid-notifications/1.0 (+webhooks)"),
        ("webhook-id", event.event_id),
        ("webhook-timestamp", str(timestamp)),
        ("webhook-signature", signature),
    ]
    return [(name, mask_header_value(name, value)) for name, value in headers]


def pretty_json(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


# --- catalog, tokens, audit ---------------------------------------------------------------------------------------

def catalog_examples(definition: EventDefinition, *, tenant_id: str) -> dict[str, str]:
    """An example webhook body per payload format (the partner's tenant id in it), rendered by the same code that
    renders real deliveries and `GET /event-types/{name}`'s `exampleBodies`."""
    fields = example_fields(definition, tenant_id=tenant_id)
    return {fmt: pretty_json(render(fmt, fields)) for fmt in ENVELOPES}


def token_list(*, partner: Partner) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(partner=partner).order_by("-created_at")


def token_get(*, partner: Partner, token_id: int) -> ApiToken | None:
    return ApiToken.objects.filter(partner=partner, pk=token_id).first()


def audit_page(*, partner: Partner, before_id: int | None = None, limit: int = AUDIT_PAGE_SIZE) -> list[AuditEntry]:
    """The partner's audit trail, newest first, `limit` entries older than `before_id` (keyset on id)."""
    queryset = AuditEntry.objects.filter(partner=partner)
    if before_id:
        queryset = queryset.filter(pk__lt=before_id)
    return list(queryset.order_by("-id")[:limit])
