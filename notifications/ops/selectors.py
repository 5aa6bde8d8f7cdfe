"""Read-side queries for operators: the work backlog, failing endpoints, delivery outcomes over time.

Shared by `/metrics`, the admin dashboard and `manage.py status`. Every query is an aggregate that an index serves:
open work through the partial indexes on next_attempt_at (status PENDING/SENDING), recent history through
created_at, per-subscription figures through (subscription, status).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, Count, F, IntegerField, Min, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from notifications.models import (
    CustomerMessage,
    DeadLetter,
    DeliveryStatus,
    MessageStatus,
    OutboxMessage,
    WebhookDelivery,
)
from subscriptions.models import EventSubscription

OPEN_DELIVERY_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
FINISHED_DELIVERY_STATUSES = (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED)
OPEN_MESSAGE_STATUSES = (MessageStatus.PENDING, MessageStatus.HELD, MessageStatus.SENDING)
FINISHED_MESSAGE_STATUSES = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED,
                             MessageStatus.FAILED, MessageStatus.SKIPPED)


@dataclass(frozen=True)
class Backlog:
    """Open and troubled work right now."""

    pending: int
    sending: int
    overdue: int
    oldest_overdue_seconds: float | None
    failed_24h: int
    open_dead_letters: int
    outbox_unpublished: int
    messages_open: int
    messages_overdue: int
    disabled_subscriptions: int

    def as_json(self) -> dict:
        return {
            "pendingDeliveries": self.pending,
            "sendingDeliveries": self.sending,
            "overdueDeliveries": self.overdue,
            "oldestOverdueSeconds": self.oldest_overdue_seconds,
            "failedDeliveries24h": self.failed_24h,
            "openDeadLetters": self.open_dead_letters,
            "outboxUnpublished": self.outbox_unpublished,
            "openCustomerMessages": self.messages_open,
            "overdueCustomerMessages": self.messages_overdue,
            "disabledSubscriptions": self.disabled_subscriptions,
        }


def overdue_cutoff(now: datetime | None = None) -> datetime:
    """Work due before this instant should have been picked up already."""
    return (now or timezone.now()) - timedelta(seconds=settings.OPS_OVERDUE_GRACE_SECONDS)


def overdue_deliveries_q(now: datetime | None = None) -> Q:
    """PENDING past its due time, or SENDING whose worker's lease ran out (the worker died)."""
    cutoff = overdue_cutoff(now)
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lt=cutoff) | Q(
        status=DeliveryStatus.SENDING, lease_expires_at__lt=cutoff
    )


def backlog_get(*, now: datetime | None = None) -> Backlog:
    now = now or timezone.now()
    open_counts = dict(
        WebhookDelivery.objects.filter(status__in=OPEN_DELIVERY_STATUSES)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    # A SENDING row is overdue from its lease's end, a PENDING one from its due time.
    due_since = Case(
        When(status=DeliveryStatus.SENDING, then=F("lease_expires_at")), default=F("next_attempt_at")
    )
    overdue = WebhookDelivery.objects.filter(overdue_deliveries_q(now)).aggregate(n=Count("id"), oldest=Min(due_since))
    messages = CustomerMessage.objects.filter(status__in=OPEN_MESSAGE_STATUSES).aggregate(
        open=Count("id"),
        overdue=Count("id", filter=Q(status=MessageStatus.PENDING, next_attempt_at__lt=overdue_cutoff(now))),
    )
    return Backlog(
        pending=open_counts.get(DeliveryStatus.PENDING, 0),
        sending=open_counts.get(DeliveryStatus.SENDING, 0),
        overdue=overdue["n"],
        oldest_overdue_seconds=round((now - overdue["oldest"]).total_seconds(), 1) if overdue["oldest"] else None,
        failed_24h=WebhookDelivery.objects.filter(
            created_at__gte=now - timedelta(hours=24), status=DeliveryStatus.FAILED
        ).count(),
        open_dead_letters=DeadLetter.objects.filter(status=DeadLetter.Status.OPEN).count(),
        outbox_unpublished=OutboxMessage.objects.filter(published_at__isnull=True).count(),
        messages_open=messages["open"],
        messages_overdue=messages["overdue"],
        disabled_subscriptions=EventSubscription.objects.filter(is_enabled=False, disabled_at__isnull=False).count(),
    )


@dataclass
class HourlyOutcomes:
    hours: list[datetime]
    # status -> one count per hour, aligned with `hours`
    series: dict[str, list[int]] = field(default_factory=dict)


def deliveries_per_hour(*, hours: int = 24, now: datetime | None = None) -> HourlyOutcomes:
    """Deliveries created in each of the last `hours` hours, by current status (open ones shown as such)."""
    now = now or timezone.now()
    last_hour = now.replace(minute=0, second=0, microsecond=0)
    buckets = [last_hour - timedelta(hours=offset) for offset in range(hours - 1, -1, -1)]
    rows = (
        WebhookDelivery.objects.filter(created_at__gte=buckets[0])
        .annotate(hour=TruncHour("created_at"))
        .values_list("hour", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    index = {hour: i for i, hour in enumerate(buckets)}
    result = HourlyOutcomes(hours=buckets, series={status: [0] * hours for status in DeliveryStatus.values})
    for hour, status, n in rows:
        position = index.get(hour.astimezone(buckets[0].tzinfo))
        if position is not None:
            result.series[status][position] = n
    return result


@dataclass(frozen=True)
class PartnerRate:
    tenant_id: str
    succeeded: int
    failed: int
    open: int

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed

    @property
    def success_rate(self) -> float | None:
        """Share of finished deliveries that succeeded; None when none finished (no data, not 0 %)."""
        return self.succeeded / self.finished if self.finished else None


def partner_success_rates(*, hours: int = 24, now: datetime | None = None) -> list[PartnerRate]:
    """Per partner, outcome of the deliveries created in the last `hours` hours."""
    since = (now or timezone.now()) - timedelta(hours=hours)
    rows = (
        WebhookDelivery.objects.filter(created_at__gte=since)
        .values("partner__tenant_id")
        .annotate(
            succeeded=Count("id", filter=Q(status=DeliveryStatus.SUCCEEDED)),
            failed=Count("id", filter=Q(status=DeliveryStatus.FAILED)),
            open=Count("id", filter=Q(status__in=OPEN_DELIVERY_STATUSES)),
        )
        .order_by("partner__tenant_id")
    )
    return [
        PartnerRate(tenant_id=r["partner__tenant_id"], succeeded=r["succeeded"], failed=r["failed"], open=r["open"])
        for r in rows
    ]


def _count_subquery(queryset) -> Subquery:
    return Subquery(
        queryset.values("subscription").annotate(c=Count("id")).values("c")[:1], output_field=IntegerField()
    )


def failing_endpoints(*, hours: int = 24, limit: int = 20, now: datetime | None = None) -> list[EventSubscription]:
    """Subscriptions that are disabled, marked failing, or had failed or retrying deliveries lately.

    Each row carries `failed_recent`, `retrying` and `last_error` annotations; disabled ones come first."""
    since = (now or timezone.now()) - timedelta(hours=hours)
    deliveries = WebhookDelivery.objects.filter(subscription=OuterRef("pk")).order_by()
    failed = _count_subquery(deliveries.filter(status=DeliveryStatus.FAILED, created_at__gte=since))
    retrying = _count_subquery(deliveries.filter(status=DeliveryStatus.PENDING, attempt_count__gt=0))
    last_error = Subquery(
        WebhookDelivery.objects.filter(subscription=OuterRef("pk"))
        .exclude(last_error="")
        .order_by("-created_at")
        .values("last_error")[:1]
    )
    return list(
        EventSubscription.objects.select_related("partner")
        .annotate(
            failed_recent=Coalesce(failed, Value(0)),
            retrying=Coalesce(retrying, Value(0)),
            last_error=Coalesce(last_error, Value("")),
        )
        .filter(
            Q(failed_recent__gt=0) | Q(retrying__gt=0) | Q(failing_since__isnull=False) | Q(disabled_at__isnull=False)
        )
        .order_by("is_enabled", "-failed_recent", "-retrying", "partner__tenant_id", "event_name")[:limit]
    )


def open_dead_letters(*, limit: int = 20) -> tuple[list[DeadLetter], dict[str, int]]:
    """The newest open dead letters, and the count of all open ones per reason code."""
    open_rows = DeadLetter.objects.filter(status=DeadLetter.Status.OPEN)
    by_reason = dict(open_rows.values_list("reason_code").annotate(n=Count("id")).order_by("reason_code"))
    newest = list(open_rows.defer("raw_value", "key").order_by("-created_at", "-id")[:limit])
    return newest, by_reason


def overdue_deliveries(*, limit: int = 20, now: datetime | None = None) -> list[WebhookDelivery]:
    """The longest-overdue open deliveries, oldest first."""
    return list(
        WebhookDelivery.objects.filter(overdue_deliveries_q(now))
        .select_related("partner", "subscription", "event")
        .only(
            "id", "status", "attempt_count", "next_attempt_at", "lease_expires_at", "last_error",
            "partner__tenant_id", "subscription__destination", "event__event_id", "event__event_name",
        )
        .order_by("next_attempt_at")[:limit]
    )
