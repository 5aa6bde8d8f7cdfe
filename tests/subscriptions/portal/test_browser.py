"""The partner portal in a real browser (headless Chromium from Debian's packages, driven by Selenium), against a
live server, a real Celery worker and a local webhook receiver: sign in, create a subscription to the receiver,
send a test event and watch it arrive in the log, open its attempts, resend it, rotate and reveal the secret,
recover failed deliveries since a time, verify a signature, issue a token; sign in through a one-time link from
`POST /portal-sessions` and see the link refused on second use. Every page is saved as a screenshot (plus the admin
index and the wallet list, which a newcomer found broken) in PORTAL_SCREENSHOTS (tests/artifacts/screenshots/)."""

import base64
import datetime
import json
from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait
from standardwebhooks import Webhook

from notifications.models import DeliveryAttempt, DeliveryStatus, WebhookDelivery
from subscriptions.models import EventSubscription, TokenLevel
from subscriptions.portal.models import PortalRole
from tests.factories import ApiTokenFactory, EventFactory, PartnerFactory, WalletFactory, WebhookDeliveryFactory
from tests.fixtures.browser import NEEDS_CHROMIUM, SCREENSHOTS, browser_fixture
from tests.fixtures.processes import wait_until
from tests.subscriptions.portal.conftest import PASSWORD

pytestmark = [
    pytest.mark.e2e,
    NEEDS_CHROMIUM,
]


browser = browser_fixture(width=1400, height=1000)


class Page:
    """The browser plus the few moves the flow repeats."""

    def __init__(self, driver, base_url: str):
        self.driver, self.base = driver, base_url
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def find(self, css: str, timeout: float = 15):
        return WebDriverWait(self.driver, timeout).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))

    def wait_text(self, css: str, text: str, timeout: float = 20) -> None:
        WebDriverWait(self.driver, timeout).until(
            expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))

    def fill(self, css: str, value: str) -> None:
        element = self.find(css)
        element.clear()
        element.send_keys(value)

    def set_value(self, css: str, value: str) -> None:
        # datetime-local inputs take keystrokes in the browser's locale; set the value the page would submit.
        self.driver.execute_script("arguments[0].value = arguments[1]", self.find(css), value)

    def click(self, css: str) -> None:
        self.find(css).click()

    def shot(self, name: str) -> Path:
        # The whole page, not only the window (Chromium's DevTools protocol captures beyond the viewport).
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": 1400, "height": min(int(metrics["height"]), 6000), "scale": 1}
        image = self.driver.execute_cdp_cmd("Page.captureScreenshot",
                                            {"format": "png", "captureBeyondViewport": True, "clip": clip})
        path = SCREENSHOTS / f"{name}.png"
        path.write_bytes(base64.b64decode(image["data"]))
        assert path.stat().st_size > 5_000
        return path


@pytest.fixture
def portal_data(transactional_db, make_user):
    partner = PartnerFactory(tenant_id="acme", name="Acme Fintech")
    make_user(partner, PortalRole.ADMIN, username="ada")
    # History for the overview: a day of deliveries to an existing subscription, some failed.
    existing = EventSubscription.objects.create(
        partner=partner, event_name="CARD_ISSUED", destination="https://hooks.acme.example/cards",
        secret_encrypted="", max_retries=3, retry_interval_seconds=60)
    existing.set_secret("whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    existing.save()
    now = timezone.now()
    for i in range(60):
        status = DeliveryStatus.FAILED if i % 11 == 0 else DeliveryStatus.SUCCEEDED
        delivery = WebhookDeliveryFactory(subscription=existing, status=status,
                                          event=EventFactory(partner=partner, event_name="CARD_ISSUED",
                                                             entity_id=f"card-{i % 7}"))
        created = now - datetime.timedelta(hours=i % 20)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=created, attempt_count=1,
                                                              last_status_code=500 if status == "FAILED" else 200)
        DeliveryAttempt.objects.create(delivery=delivery, attempt_number=1, started_at=created,
                                       duration_ms=40 + (i * 37) % 400, status_code=500 if status == "FAILED" else 200,
                                       succeeded=status != "FAILED")
    get_user_model().objects.create_superuser("opsadmin", "ops@example.com", "browser-test-password")
    for _ in range(3):
        WalletFactory(partner=partner)
    admin_token = ApiTokenFactory(partner=partner, level=TokenLevel.ADMIN)
    return {"partner": partner, "admin_token": admin_token._raw}


def test_portal_flow(live_server, browser, portal_data, webhook_receiver, start_worker, settings):
    settings.PORTAL_REAUTH_MINUTES = 0  # every reveal asks for the password, even right after signing in
    start_worker(concurrency=2)
    page = Page(browser, live_server.url)

    # Sign in.
    page.open("/portal/")
    page.find("#id_username")
    page.shot("01-login")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.find("#chart-hourly svg")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart-hourly rect.bar")) >= 10
    page.shot("02-overview")

    # Create a subscription to the local receiver; no retries, so a failure is final at once.
    page.open("/portal/subscriptions/new/")
    Select(page.find("#id_eventName")).select_by_value("ALL_EVENTS")
    page.fill("#id_destination", webhook_receiver.url("/hook"))
    page.fill("[id='id_retryConfig.maxRetries']", "0")
    page.fill("[id='id_retryConfig.retryIntervalSeconds']", "1")
    page.shot("03-subscription-create")
    page.click("#subscription-form button[type=submit]")
    page.wait_text("h1", "ALL_EVENTS")
    subscription = EventSubscription.objects.get(partner=portal_data["partner"], event_name="ALL_EVENTS")
    assert subscription.max_retries == 0

    # Send a test event: the event page shows the attempt once the worker made it.
    page.click("#send-test")
    page.wait_text(".card [data-status]", "SUCCEEDED", timeout=30)
    first = webhook_receiver.wait_for_count(1)[0]
    assert first.json()["eventName"] == "WEBHOOK_TEST"
    Webhook(subscription.secret).verify(first.body, first.headers)  # the reference library agrees
    event_id = first.json()["eventId"]
    assert browser.find_element(By.ID, "event-id").text == event_id
    headers_text = browser.find_element(By.CSS_SELECTOR, "pre.headers").text
    assert f"webhook-id: {event_id}" in headers_text
    assert "webhook-signature: v1,••••••" in headers_text  # the signature is masked
    page.shot("04-event-detail")

    # It is in the delivery log; a status filter narrows the log in place (htmx).
    page.open("/portal/deliveries/")
    page.wait_text("#log-table", "WEBHOOK_TEST")
    Select(page.find("#f-status")).select_by_value("FAILED")
    page.wait_text("#log-table", "CARD_ISSUED")
    assert "WEBHOOK_TEST" not in page.find("#log-table").text
    assert "status=FAILED" in browser.current_url  # the filter is in the address bar too
    page.shot("05-delivery-log-failed")
    Select(page.find("#f-status")).select_by_value("SUCCEEDED")
    page.wait_text("#log-table", "WEBHOOK_TEST")
    page.shot("06-delivery-log")

    # Open its attempts from the log, then resend it: a second attempt arrives.
    page.find("#log-table tbody tr:first-child td a").click()  # the newest row: the test event
    page.wait_text("#event-id", event_id)
    page.find("[data-resend]").click()
    webhook_receiver.wait_for_count(2)
    page.wait_text(".card [data-status]", "SUCCEEDED", timeout=30)
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "tr[data-attempt='2']"))
    page.shot("07-event-resent")

    # Rotate the secret (admin), then reveal it after entering the password again.
    page.open("/portal/subscriptions/ALL_EVENTS/")
    browser.execute_script("window.confirm = () => true")
    page.click("#rotate-secret")
    page.wait_text("#secret-box", "Secret rotated")
    page.click("#reveal-secret")
    page.fill("#id_reauth_password", PASSWORD)
    page.click("#reauth-submit")
    page.wait_text("#secret-box", "whsec_")
    subscription.refresh_from_db()
    assert page.find("#secret-value").text == subscription.secret
    assert subscription.previous_secret_encrypted
    page.shot("08-subscription-detail")

    # A failing endpoint: the next test event fails for good (no retries)…
    webhook_receiver.respond = lambda request: 500
    since = timezone.now() - datetime.timedelta(minutes=1)
    page.click("#send-test")
    page.wait_text(".card [data-status]", "FAILED", timeout=30)
    failed_id = browser.find_element(By.ID, "event-id").text
    # …is fixed, and "recover since T" sends it again.
    webhook_receiver.respond = lambda request: 204
    page.open("/portal/subscriptions/ALL_EVENTS/")
    page.set_value("#id_since", since.strftime("%Y-%m-%dT%H:%M"))
    page.click("#recover")
    page.wait_text("#recover-result", "Recovering: job")
    page.shot("09-recover")
    wait_until(lambda: failed_id in webhook_receiver.ids()[3:], 30, message="the recovered delivery arrives")
    page.open(f"/portal/events/{failed_id}/")
    page.wait_text(".card [data-status]", "SUCCEEDED", timeout=30)

    # Paste a received request into the signature helper.
    received = webhook_receiver.requests[-1]
    page.open("/portal/verify/")
    Select(page.find("#id_event_name")).select_by_value("ALL_EVENTS")
    page.fill("#id_headers", "\n".join(f"{k}: {v}" for k, v in received.headers.items()))
    page.fill("#id_body", received.body.decode())
    page.click("#verify")
    page.wait_text("#verdict", "Verified")
    page.shot("10-verify")
    page.fill("#id_body", json.dumps(json.loads(received.body), indent=2))  # what a framework's re-parse does
    page.click("#verify")
    page.wait_text("#verdict", "re-serialised")
    page.shot("10b-verify-reformatted")

    # The other pages.
    page.open("/portal/catalog/")
    page.click("#event-TRANSACTION_NOTIFICATION summary")
    page.shot("11-catalog")
    page.open("/portal/tokens/")
    page.fill("#id_name", "ci")
    page.click("#issue-token button[type=submit]")
    assert page.find("#new-token").text.startswith("ppn_")
    page.shot("12-tokens")
    page.open("/portal/audit/")
    page.wait_text("#audit", "subscription.secret_viewed")
    page.shot("13-audit")
    page.open("/portal/security/")
    page.click("#totp-start")
    page.find("#totp-qr svg")
    page.shot("14-security")

    # A one-time link from the API opens a session for the partner…
    answer = requests.post(f"{live_server.url}/prepaid/auth/v1/portal-sessions", json={"role": "viewer"},
                           headers={"Authorization": f"Bearer {portal_data['admin_token']}", "X-TENANT-ID": "acme"},
                           timeout=10)
    assert answer.status_code == 201, answer.text
    link = answer.json()["url"]
    browser.delete_all_cookies()
    browser.get(link)
    page.wait_text("header.top", "Signed in by link")
    assert page.find("#role").text == "Viewer"
    page.shot("15-link-session")
    # …once.
    browser.delete_all_cookies()
    browser.get(link)
    page.wait_text("#link-error", "not valid")
    page.shot("16-link-refused")

    # The admin pages a newcomer found broken.
    browser.delete_all_cookies()
    page.open("/admin/login/?next=/admin/")
    page.fill("#id_username", "opsadmin")
    page.fill("#id_password", "browser-test-password")
    page.click("input[type=submit]")
    link_cell = page.find("#ops-dashboard-module a")
    page.shot("17-admin-index")
    assert link_cell.size["width"] > 120, "the Operations dashboard link is squeezed into one letter per line"
    assert link_cell.size["height"] < 40
    page.open("/admin/wallets/wallet/")
    page.find("th.column-status")
    page.shot("18-admin-wallet-list")
    visible = page.find("#changelist .results")
    right_edge = visible.location["x"] + visible.size["width"]
    for column in ("status", "balance"):
        header = page.find(f"th.column-{column}")
        assert header.location["x"] + header.size["width"] <= right_edge, f"{column} is behind the scrollbar"
    print(json.dumps({"screenshots": str(SCREENSHOTS)}))
