"""The delivery log (filters, keyset pagination, htmx updates in place), an event with every attempt of every
delivery, and resending one delivery."""

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from notifications import selectors as pipeline_selectors
from notifications import services as pipeline
from notifications.models import DeliveryStatus
from subscriptions.catalog import EVENT_CATALOG
from subscriptions.portal import selectors
from subscriptions.portal.views.base import CHANNEL, PortalView, not_found, redirect_to
from subscriptions.portal.views.subscription_views import parse_utc

OPEN = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
MAX_FILTER_LENGTH = 128


def read_filters(query) -> tuple[selectors.LogFilters, list[str]]:
    """The log's filters from the query string, and a message per value that could not be used (ignored)."""
    errors = []
    status = query.get("status", "")
    if status and status not in DeliveryStatus.values:
        errors.append(f"Unknown status {status[:20]!r}.")
        status = ""
    event_name = query.get("event_name", "")
    if event_name and event_name not in EVENT_CATALOG and event_name != "WEBHOOK_TEST":
        errors.append(f"Unknown event name {event_name[:64]!r}.")
        event_name = ""
    times = {}
    for key in ("since", "until"):
        try:
            times[key] = parse_utc(query.get(key, ""))
        except ValueError:
            errors.append(f"{key.title()} must be a date and time (YYYY-MM-DD HH:MM, UTC).")
            times[key] = None
    return selectors.LogFilters(
        event_name=event_name, status=status, since=times["since"], until=times["until"],
        entity_id=query.get("entity_id", "").strip()[:MAX_FILTER_LENGTH],
        event_id=query.get("event_id", "").strip()[:MAX_FILTER_LENGTH],
    ), errors


class DeliveryLogView(PortalView):
    section = "deliveries"

    def get(self, request: HttpRequest) -> HttpResponse:
        filters, errors = read_filters(request.GET)
        page = selectors.delivery_log_page(partner=request.portal.partner, filters=filters,
                                           cursor=request.GET.get("cursor", "")[:200])
        query = request.GET.copy()
        query.pop("cursor", None)
        context = {"page": page, "filters": filters, "filter_errors": errors, "query": query.urlencode(),
                   "statuses": DeliveryStatus.values, "event_names": ["WEBHOOK_TEST", *EVENT_CATALOG]}
        # htmx swaps only the results when a filter changes or a page link is followed.
        template = "portal/partials/log_table.html" if request.htmx and request.htmx.target == "log" else \
            "portal/deliveries.html"
        return self.page(request, template, **context)


class EventDetailView(PortalView):
    section = "deliveries"

    def get(self, request: HttpRequest, event_id: str) -> HttpResponse:
        event = pipeline_selectors.event_get(partner=request.portal.partner, event_id=event_id)
        if event is None:
            raise not_found()
        deliveries = [_card(delivery, event) for delivery in event.deliveries.all()]
        return self.page(request, "portal/event.html", event=event, body=selectors.pretty_json(event.body),
                         deliveries=deliveries)


def _card(delivery, event) -> dict:
    attempts = [
        {"attempt": attempt, "headers": selectors.attempt_request_headers(event=event, attempt=attempt)}
        for attempt in delivery.attempts.all()
    ]
    return {"delivery": delivery, "attempts": attempts, "open": delivery.status in OPEN, "event": event}


class DeliveryCardView(PortalView):
    """One delivery's card: the event page polls it while the delivery is still open."""

    def get(self, request: HttpRequest, delivery_id: int) -> HttpResponse:
        delivery = pipeline_selectors.delivery_get(partner=request.portal.partner, delivery_id=delivery_id)
        if delivery is None:
            raise not_found()
        return self.page(request, "portal/partials/delivery_card.html", card=_card(delivery, delivery.event))


class DeliveryResendView(PortalView):
    def post(self, request: HttpRequest, delivery_id: int) -> HttpResponse:
        partner = request.portal.partner
        delivery = pipeline_selectors.delivery_get(partner=partner, delivery_id=delivery_id)
        if delivery is None:
            raise not_found()
        error = ""
        try:
            pipeline.delivery_retry(delivery=delivery, actor=request.portal.actor, channel=CHANNEL)
        except pipeline.DeliveryNotRetryable as exc:
            error = str(exc)
        if not request.htmx:
            return redirect_to(request, reverse("portal:event", args=[delivery.event.event_id]))
        delivery = pipeline_selectors.delivery_get(partner=partner, delivery_id=delivery_id)
        return self.page(request, "portal/partials/delivery_card.html", status=409 if error else 200,
                         card=_card(delivery, delivery.event), error=error)
