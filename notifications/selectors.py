"""Read-side queries of the notifications app; every one is scoped to a partner."""

from django.db.models import Prefetch, QuerySet

from notifications.models import CustomerMessage, DeliveryAttempt, Event, WebhookDelivery
from subscriptions.models import Partner


def event_list(*, partner: Partner, filters: dict) -> QuerySet[Event]:
    queryset = Event.objects.filter(partner=partner)
    if filters.get("event_name"):
        queryset = queryset.filter(event_name=filters["event_name"])
    if filters.get("entity_id"):
        queryset = queryset.filter(entity_id=filters["entity_id"])
    if filters.get("since"):
        queryset = queryset.filter(received_at__gte=filters["since"])
    if filters.get("until"):
        queryset = queryset.filter(received_at__lt=filters["until"])
    if filters.get("delivery_status"):
        queryset = queryset.filter(deliveries__status=filters["delivery_status"]).distinct()
    return queryset.prefetch_related(
        Prefetch("deliveries", queryset=WebhookDelivery.objects.only("id", "event_id", "status"))
    )


def _deliveries_with_attempts() -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.select_related("subscription").prefetch_related(
        Prefetch("attempts", queryset=DeliveryAttempt.objects.order_by("attempt_number"))
    ).order_by("id")


def event_get(*, partner: Partner, event_id: str) -> Event | None:
    return (
        Event.objects.filter(partner=partner, event_id=event_id)
        .prefetch_related(
            Prefetch("deliveries", queryset=_deliveries_with_attempts()),
            Prefetch("messages", queryset=CustomerMessage.objects.order_by("id")),
        )
        .first()
    )


def delivery_get(*, partner: Partner, delivery_id: int) -> WebhookDelivery | None:
    return _deliveries_with_attempts().filter(partner=partner, pk=delivery_id).select_related("event").first()
