"""The cardholder's pages from signed links: the preference centre works once signed and fails when tampered with or
expired (a clear error page each), saves what the cardholder chooses, speaks their language; the one-click
unsubscribe POST (RFC 8058) opts out of that category, on that channel, only."""

import pytest
from django.urls import reverse

from notifications.messaging.routing import plan_customer_messages
from tests.templates_app.factories import make_event
from wallets.links import preference_token_create, unsubscribe_token_create

pytestmark = pytest.mark.usefixtures("sample_templates", "no_default_quiet_hours")

TXN = {"amount": "125.50", "currency": "INR", "merchantName": "Chai Point", "balance": "874.50"}


def _page(holder) -> str:
    token, _ = preference_token_create(cardholder=holder)
    return reverse("preference-centre", args=[token])


def _routed(partner, card, event_name="CARD_TRANSACTION_APPROVED", **data):
    rows = plan_customer_messages([make_event(partner, event_name, kitNo=card.kit_no, **(data or TXN))])
    return {r.channel: (r.status, r.skip_reason) for r in rows}


def test_the_page_shows_and_saves_the_cardholders_choices(client, holder):
    url = _page(holder)
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Hello Asha, choose how Acme Fintech keeps you informed." in html
    assert page["Cache-Control"] == "no-store" and page["Referrer-Policy"] == "same-origin"
    # Receive everything except Transactions by email; no SMS at all; quiet hours 21:00-07:00 in Europe/Paris.
    form = {"channel_EMAIL": "on", "channel_PUSH": "on", "channel_IN_APP": "on",
            "quiet_mode": "custom", "quiet_start": "21:00", "quiet_end": "07:00", "timezone": "Europe/Paris"}
    for index in range(4):
        for channel in ("SMS", "EMAIL", "PUSH", "IN_APP"):
            form[f"category_{index}_{channel}"] = "on"
    del form["category_1_EMAIL"]  # index 1 = Transactions
    response = client.post(url, form)
    assert response.status_code == 200
    assert 'id="saved"' in response.content.decode()
    holder.refresh_from_db()
    assert holder.channel_preferences == {"SMS": False}
    assert holder.category_opt_outs == {"Transactions": ["EMAIL"]}
    assert (holder.quiet_hours_enabled, f"{holder.quiet_hours_start:%H:%M}", holder.timezone) == (
        True, "21:00", "Europe/Paris")


def test_bad_input_on_the_page_is_a_400_and_saves_nothing(client, holder):
    url = _page(holder)
    response = client.post(url, {"quiet_mode": "custom", "quiet_start": "nonsense", "quiet_end": "07:00",
                                 "timezone": "Mars/Base"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "start: a time such as 22:00" in html and "IANA time zone" in html
    holder.refresh_from_db()
    assert (holder.quiet_hours_enabled, holder.timezone, holder.channel_preferences) == (None, "Asia/Kolkata", {})


def test_a_tampered_link_gets_a_clear_error_page(client, holder):
    token, _ = preference_token_create(cardholder=holder)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    response = client.get(reverse("preference-centre", args=[tampered]))
    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()
    assert client.post(reverse("preference-centre", args=[tampered]), {"quiet_mode": "off"}).status_code == 400
    holder.refresh_from_db()
    assert holder.quiet_hours_enabled is None
    # An unsubscribe token is not a preference-centre token (a salt per purpose), nor the other way round.
    other = unsubscribe_token_create(cardholder=holder, category="Transactions", channel="EMAIL")
    assert client.get(reverse("preference-centre", args=[other])).status_code == 400
    assert client.get(reverse("unsubscribe", args=[token])).status_code == 400


def test_an_expired_link_gets_a_clear_error_page(client, holder, settings):
    url = _page(holder)
    settings.PREFERENCE_LINK_MAX_AGE_SECONDS = -1  # the link is now older than its lifetime
    response = client.get(url)
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS = -1
    token = unsubscribe_token_create(cardholder=holder, category="Transactions", channel="EMAIL")
    assert client.post(reverse("unsubscribe", args=[token])).status_code == 410


def test_a_link_to_a_cardholder_that_is_gone_is_404(client, holder):
    url = _page(holder)
    holder.delete()
    response = client.get(url)
    assert response.status_code == 404 and "could not find" in response.content.decode()


def test_the_page_speaks_the_cardholders_language(client, holder):
    holder.locale = "hi-IN"
    holder.save()
    html = client.get(_page(holder)).content.decode()
    assert "आपकी सूचना प्राथमिकताएँ" in html and 'lang="hi"' in html
    holder.locale = "ta"  # no Tamil texts: English
    holder.save()
    assert "Your notification preferences" in client.get(_page(holder)).content.decode()


def test_one_click_unsubscribe_opts_out_of_that_category_only(client, partner, holder, holder_card):
    url = reverse("unsubscribe", args=[unsubscribe_token_create(cardholder=holder, category="Transactions",
                                                                channel="EMAIL")])
    # GET (a mail scanner following the link) asks and changes nothing.
    page = client.get(url)
    assert page.status_code == 200 and "Stop Transactions emails from Acme Fintech?" in page.content.decode()
    holder.refresh_from_db()
    assert holder.category_opt_outs == {}

    # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click, without cookies or a CSRF token.
    response = client.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    holder.refresh_from_db()
    assert holder.category_opt_outs == {"Transactions": ["EMAIL"]}
    assert client.post(url).status_code == 200  # again: still fine, nothing more changes
    holder.refresh_from_db()
    assert holder.category_opt_outs == {"Transactions": ["EMAIL"]}

    txn = _routed(partner, holder_card)
    assert txn["EMAIL"] == ("SKIPPED", "category_opted_out")
    assert txn["SMS"] == ("PENDING", "") and txn["PUSH"] == ("PENDING", "")
    assert _routed(partner, holder_card, "CARD_ACTIVATED")["EMAIL"] == ("PENDING", "")  # another category
