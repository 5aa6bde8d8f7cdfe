"""The operations dashboard in the admin: staff only, charts drawn, tables linking to filtered admin lists."""

import datetime
import re

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from notifications.models import DeliveryStatus
from notifications.ops import dashboard, heartbeats
from tests.factories import DeadLetterFactory, PartnerFactory, WebhookDeliveryFactory

pytestmark = pytest.mark.django_db

URL = "/ops/dashboard/"


@pytest.fixture
def troubled(db):
    now = timezone.now()
    acme = PartnerFactory(tenant_id="acme")
    for _ in range(3):
        WebhookDeliveryFactory(partner=acme, status=DeliveryStatus.SUCCEEDED)
    failed = WebhookDeliveryFactory(partner=acme, status=DeliveryStatus.FAILED, last_error="HTTP 503 from endpoint")
    overdue = WebhookDeliveryFactory(
        partner=acme, status=DeliveryStatus.PENDING, attempt_count=2, last_error="ReadTimeout",
        next_attempt_at=now - datetime.timedelta(minutes=30),
    )
    DeadLetterFactory(reason_code="unknown_tenant", reason="No partner with tenantId 'ghost'")
    heartbeats.heartbeat_record(name="bridge:b1", details={"lag": {"pp:0": 42}, "total_lag": 42})
    return {"failed": failed, "overdue": overdue, "subscription": failed.subscription}


def test_anonymous_is_sent_to_the_admin_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_logged_in_non_staff_is_refused(client, plain_user):
    client.force_login(plain_user)

    response = client.get(URL)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_staff_sees_charts_and_tables(client, staff_user, troubled):
    client.force_login(staff_user)

    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg class="ops-chart"') == 2
    # One bar segment per (hour, status) with deliveries: this hour has SUCCEEDED, FAILED and PENDING.
    hourly = html[html.index('id="chart-hourly"'):html.index('id="chart-partners"')]
    assert {"SUCCEEDED", "FAILED", "PENDING"} <= set(re.findall(r'data-status="(\w+)"', hourly))
    assert re.search(r"SUCCEEDED: 3</title>", hourly)
    partners = html[html.index('id="chart-partners"'):html.index('id="failing-endpoints"')]
    assert 'data-tenant="acme"' in partners
    assert "75.0% (3/4)" in partners

    failing = html[html.index('id="failing-endpoints"'):html.index('id="dead-letters"')]
    assert troubled["subscription"].destination in failing
    assert "HTTP 503 from endpoint" in failing or "ReadTimeout" in failing
    dead = html[html.index('id="dead-letters"'):html.index('id="overdue-work"')]
    assert "unknown_tenant" in dead
    overdue = html[html.index('id="overdue-work"'):html.index('id="consumer-lag"')]
    assert f"#{troubled['overdue'].pk}" in overdue
    lag = html[html.index('id="consumer-lag"'):]
    assert "b1" in lag and "42" in lag


def test_context_counts(troubled):
    context = dashboard.dashboard_context()

    assert context["backlog"].overdue == 1
    assert context["backlog"].open_dead_letters == 1
    assert context["hourly_totals"]["SUCCEEDED"] == 3
    [rate] = context["rates"]
    assert (rate.tenant_id, rate.succeeded, rate.failed, rate.open) == ("acme", 3, 1, 1)
    [endpoint] = context["failing_endpoints"]
    assert (endpoint.failed_recent, endpoint.retrying) == (1, 1)


def test_svg_escapes_labels():
    svg = dashboard.stacked_bar_chart_svg(
        labels=["<b>"], series={"<script>": [1]}, colours={}, title="t & <x>"
    )

    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "t &amp; &lt;x&gt;" in svg


def _admin_registered(name: str) -> bool:
    try:
        reverse(name)
    except NoReverseMatch:
        return False
    return True


def test_links_open_the_filtered_admin_lists(client, staff_user, troubled):
    if not _admin_registered("admin:notifications_webhookdelivery_changelist"):
        pytest.skip("WebhookDelivery is not registered in the admin yet (notifications/admin.py)")
    client.force_login(staff_user)
    links = dashboard.dashboard_context()["links"]

    failed = client.get(links["failed"].url)
    assert failed.status_code == 200
    assert failed.context["cl"].result_count == 1
    overdue = client.get(links["overdue"].url)
    assert overdue.status_code == 200
    assert overdue.context["cl"].result_count == 1
    if links["dead_letters"].url:
        dead = client.get(links["dead_letters"].url)
        assert dead.status_code == 200
        assert dead.context["cl"].result_count == 1
    [endpoint] = dashboard.dashboard_context()["failing_endpoints"]
    by_subscription = client.get(endpoint.failed_url)
    assert by_subscription.status_code == 200
    assert by_subscription.context["cl"].result_count == 1


def test_admin_index_links_to_the_dashboard(client, staff_user):
    client.force_login(staff_user)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert f'href="{URL}"' in response.content.decode()
