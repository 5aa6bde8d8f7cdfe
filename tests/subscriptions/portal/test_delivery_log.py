"""The delivery log: filters (event name, status, time range, entity, eventId), keyset pagination that neither skips
nor repeats rows (also when many share one created_at), a constant number of queries per page, and bad filter
values reported instead of failing."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import DeliveryStatus, WebhookDelivery
from subscriptions.portal import selectors
from subscriptions.portal.selectors import LogFilters, decode_cursor, delivery_log_page, encode_cursor
from tests.factories import EventFactory, EventSubscriptionFactory, WebhookDeliveryFactory
from tests.subscriptions.portal.conftest import PORTAL

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def log(partner):
    subscription = EventSubscriptionFactory(partner=partner, event_name="ALL_EVENTS")
    rows = []
    for i in range(23):
        event = EventFactory(partner=partner, event_name="CARD_ISSUED" if i % 2 else "TRANSACTION_NOTIFICATION",
                             entity_id=f"card-{i % 3}", event_id=f"evt-{i:02d}")
        status = DeliveryStatus.FAILED if i % 5 == 0 else DeliveryStatus.SUCCEEDED
        delivery = WebhookDeliveryFactory(subscription=subscription, event=event, status=status)
        # Groups of three share one instant: the cursor must settle the ties by id.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=NOW - datetime.timedelta(minutes=i // 3))
        rows.append(delivery.pk)
    return rows


def _walk(partner, filters: LogFilters | None = None, limit=5):
    filters = filters or LogFilters()
    seen, cursor, pages = [], "", 0
    while True:
        page = delivery_log_page(partner=partner, filters=filters, cursor=cursor, limit=limit)
        seen += [row.pk for row in page.rows]
        pages += 1
        if not page.next_cursor:
            return seen, pages, page
        cursor = page.next_cursor


def test_pages_cover_every_row_once_newest_first(partner, log):
    seen, pages, _ = _walk(partner)
    assert len(seen) == 23 and len(set(seen)) == 23 and pages == 5
    expected = list(WebhookDelivery.objects.order_by("-created_at", "-id").values_list("pk", flat=True))
    assert seen == expected


def test_previous_page_goes_back_exactly(partner, log):
    first = delivery_log_page(partner=partner, filters=LogFilters(), limit=5)
    second = delivery_log_page(partner=partner, filters=LogFilters(), cursor=first.next_cursor, limit=5)
    back = delivery_log_page(partner=partner, filters=LogFilters(), cursor=second.previous_cursor, limit=5)
    assert [r.pk for r in back.rows] == [r.pk for r in first.rows]
    assert back.previous_cursor is None and first.previous_cursor is None


@pytest.mark.parametrize(("filters", "expected"), [
    (LogFilters(status="FAILED"), 5),
    (LogFilters(event_name="CARD_ISSUED"), 11),
    (LogFilters(entity_id="card-1"), 8),
    (LogFilters(event_id="evt-07"), 1),
    (LogFilters(since=NOW - datetime.timedelta(minutes=2)), 9),
    (LogFilters(until=NOW - datetime.timedelta(minutes=6)), 2),
    (LogFilters(status="FAILED", event_name="TRANSACTION_NOTIFICATION"), 3),
])
def test_filters(partner, log, filters, expected):
    seen, _, _ = _walk(partner, filters, limit=4)
    assert len(seen) == expected == len(set(seen))


def test_a_page_costs_the_same_queries_however_deep(signed_in, partner, log):
    client = signed_in(partner)
    client.get(PORTAL + "deliveries/")  # warm the session
    with CaptureQueriesContext(connection) as first:
        client.get(PORTAL + "deliveries/")
    cursor = delivery_log_page(partner=partner, filters=LogFilters(), limit=20).next_cursor
    with CaptureQueriesContext(connection) as deep:
        client.get(PORTAL + "deliveries/", {"cursor": cursor})
    assert len(first) == len(deep) <= 8


def test_htmx_gets_only_the_table(signed_in, partner, log):
    client = signed_in(partner)
    full = client.get(PORTAL + "deliveries/", {"status": "FAILED"}).content.decode()
    fragment = client.get(PORTAL + "deliveries/", {"status": "FAILED"}, HTTP_HX_REQUEST="true",
                          HTTP_HX_TARGET="log").content.decode()
    assert "<html" in full and "<html" not in fragment and 'id="log-table"' in fragment
    assert fragment.count("data-delivery=") == 5


@pytest.mark.parametrize(("query", "message"), [
    ({"status": "BROKEN"}, "Unknown status"), ({"event_name": "NOPE"}, "Unknown event name"),
    ({"since": "last tuesday"}, "Since must be a date"), ({"until": "2026-13-45T99:99"}, "Until must be a date"),
])
def test_bad_filters_are_reported_and_ignored(signed_in, partner, log, query, message):
    response = signed_in(partner).get(PORTAL + "deliveries/", query)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body and body.count("data-delivery=") == 23


@pytest.mark.parametrize("cursor", ["garbage", "Zg", "ZnwyMDI2LTAxLTAxfGFiYw", "x" * 500])
def test_a_bad_cursor_shows_the_first_page(signed_in, partner, log, cursor):
    response = signed_in(partner).get(PORTAL + "deliveries/", {"cursor": cursor})
    assert response.status_code == 200 and response.content.decode().count("data-delivery=") == 23


def test_cursor_round_trip():
    moment = timezone.now()
    assert decode_cursor(encode_cursor(moment, 42)) == (False, moment, 42)
    assert decode_cursor(encode_cursor(moment, 42, backwards=True))[0] is True


def test_the_first_page_uses_the_log_index(partner, log):
    with connection.cursor() as cursor:
        # A tiny table would be scanned, or read through any index and sorted: ask which index gives the page's order
        # (with fresh statistics, so the estimate of a few rows does not decide it).
        cursor.execute("ANALYZE notifications_webhookdelivery")
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_sort = off")
        cursor.execute("SET enable_incremental_sort = off")
    plan = selectors.delivery_log_explain(partner=partner, filters=LogFilters())
    assert "delivery_partner_log_idx" in plan
    plan = selectors.delivery_log_explain(partner=partner, filters=LogFilters(status="FAILED"))
    assert "delivery_partner_status_idx" in plan
