"""The cardholder's pages in a real browser (headless Chromium): the preference centre from a signed link, where
the cardholder turns SMS off and saves, and the one-click unsubscribe page, where they confirm. Screenshots of each
step go to PORTAL_SCREENSHOTS (tests/artifacts/screenshots/), beside the portal's."""

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.fixtures.browser import NEEDS_CHROMIUM, browser_fixture, screenshot
from wallets.links import preference_token_create, unsubscribe_token_create

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    NEEDS_CHROMIUM,
]


browser = browser_fixture(width=900, height=1100)


def test_the_cardholder_turns_sms_off_and_unsubscribes_from_transaction_emails(browser, live_server, holder):
    token, _ = preference_token_create(cardholder=holder)
    browser.get(live_server.url + reverse("preference-centre", args=[token]))
    assert "Hello Asha" in browser.page_source
    screenshot(browser, "20-cardholder-preferences.png")
    sms = browser.find_element(By.NAME, "channel_SMS")
    assert sms.is_selected()
    sms.click()
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    # The POST answers with a new page: wait for it rather than reading the old one.
    saved = WebDriverWait(browser, 20).until(expected_conditions.presence_of_element_located((By.ID, "saved")))
    assert saved.is_displayed()
    assert not browser.find_element(By.NAME, "channel_SMS").is_selected()  # the saved page shows the choice
    screenshot(browser, "21-cardholder-preferences-saved.png")
    holder.refresh_from_db()
    assert holder.channel_preferences.get("SMS") is False

    link = unsubscribe_token_create(cardholder=holder, category="Transactions", channel="EMAIL")
    browser.get(live_server.url + reverse("unsubscribe", args=[link]))
    screenshot(browser, "22-cardholder-unsubscribe.png")
    holder.refresh_from_db()
    assert holder.category_opt_outs == {}  # opening the link (a mail scanner does) changes nothing
    button = browser.find_element(By.ID, "unsubscribe")
    button.click()
    WebDriverWait(browser, 20).until(expected_conditions.staleness_of(button))
    assert "You will no longer receive Transactions emails" in browser.page_source
    screenshot(browser, "23-cardholder-unsubscribed.png")
    holder.refresh_from_db()
    assert holder.category_opt_outs == {"Transactions": ["EMAIL"]}
