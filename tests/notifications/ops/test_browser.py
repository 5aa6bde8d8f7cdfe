"""A real browser (headless Chromium from Debian's packages, driven by Selenium) logs into the admin and opens the
operations dashboard with its charts. `make test` installs chromium and chromium-driver."""

import datetime
import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from notifications.models import DeliveryStatus
from notifications.ops import heartbeats
from tests.factories import DeadLetterFactory, PartnerFactory, WebhookDeliveryFactory
from tests.fixtures.browser import NEEDS_CHROMIUM, browser_fixture

SCREENSHOT = Path(os.environ.get("OPS_SCREENSHOT", "/tmp/ops-dashboard.png"))

pytestmark = [
    pytest.mark.e2e,
    NEEDS_CHROMIUM,
]


browser = browser_fixture(width=1400, height=2000)


@pytest.fixture
def dashboard_data(transactional_db):
    get_user_model().objects.create_superuser("opsadmin", "ops@example.com", "browser-test-password")
    now = timezone.now()
    for tenant, ok, failed in (("acme", 40, 1), ("globex", 12, 6)):
        partner = PartnerFactory(tenant_id=tenant)
        for i in range(ok):
            delivery = WebhookDeliveryFactory(partner=partner, status=DeliveryStatus.SUCCEEDED)
            # Spread over the last hours, so the chart has more than one bar.
            type(delivery).objects.filter(pk=delivery.pk).update(created_at=now - datetime.timedelta(hours=i % 9))
        for _ in range(failed):
            WebhookDeliveryFactory(partner=partner, status=DeliveryStatus.FAILED, last_error="HTTP 500")
    DeadLetterFactory(reason_code="invalid_json")
    heartbeats.heartbeat_record(
        name="bridge:demo", details={"lag": {"pp_initiate_notification:0": 17}, "total_lag": 17}
    )


def test_admin_login_and_dashboard_with_charts(live_server, browser, dashboard_data):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys("opsadmin")
    browser.find_element(By.NAME, "password").send_keys("browser-test-password")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, 15).until(expected_conditions.presence_of_element_located((By.ID, "ops-dashboard-module")))

    # From the admin index, follow the link as a person would.
    browser.find_element(By.LINK_TEXT, "Operations dashboard").click()
    WebDriverWait(browser, 15).until(expected_conditions.presence_of_element_located((By.ID, "chart-hourly")))

    assert browser.title.startswith("Operations dashboard")
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.ops-chart")
    assert len(charts) == 2
    for chart in charts:
        assert chart.size["width"] > 400 and chart.size["height"] > 50  # laid out, not collapsed
    hourly_bars = browser.find_elements(By.CSS_SELECTOR, "#chart-hourly rect.bar")
    assert len(hourly_bars) >= 9
    partner_bars = browser.find_elements(By.CSS_SELECTOR, "#chart-partners rect.bar")
    assert {bar.get_attribute("data-tenant") for bar in partner_bars} == {"acme", "globex"}
    assert "97.6% (40/41)" in browser.find_element(By.ID, "chart-partners").text
    assert "invalid_json" in browser.find_element(By.ID, "dead-letters").text
    assert "17" in browser.find_element(By.ID, "consumer-lag").text
    # The admin's stylesheet loaded (the page is styled, not raw HTML).
    header = browser.find_element(By.ID, "header")
    assert header.value_of_css_property("background-color") not in ("rgba(0, 0, 0, 0)", "transparent")

    browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
