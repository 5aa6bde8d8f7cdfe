"""PATCH /cardholders/{customerId}: channel preferences, per-category opt-outs and quiet hours after registration,
and what the next event then does; every bad input a 400 naming the field; the preference-centre link."""

from datetime import UTC, datetime

import pytest

from notifications.messaging.routing import plan_customer_messages
from notifications.models import OutboxMessage
from subscriptions.models import AuditEntry
from tests.factories import PartnerFactory
from tests.templates_app.factories import make_event

pytestmark = pytest.mark.usefixtures("sample_templates", "no_default_quiet_hours")

TXN = {"amount": "125.50", "currency": "INR", "merchantName": "Chai Point", "balance": "874.50"}


def _url(holder) -> str:
    return f"/prepaid/auth/v1/cardholders/{holder.external_id}"


def _routed(partner, card, event_name="CARD_TRANSACTION_APPROVED", now=None, **data):
    rows = plan_customer_messages([make_event(partner, event_name, kitNo=card.kit_no, **(data or TXN))], now=now)
    return {r.channel: r for r in rows}


def test_patch_preferences_then_an_event_respects_them(partner, holder, holder_card, api_client):
    response = api_client.patch(_url(holder), {
        "channelPreferences": {"PUSH": False},
        "categoryOptOuts": {"Transactions": ["EMAIL", "SMS"]},
        "quietHours": {"enabled": True, "start": "21:00", "end": "07:30"},
        "timezone": "Europe/London",
    }, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["categoryOptOuts"] == {"Transactions": ["SMS", "EMAIL"]}
    assert body["quietHours"] == {"enabled": True, "start": "21:00", "end": "07:30"}
    assert (body["timezone"], body["channelPreferences"]) == ("Europe/London", {"PUSH": False})
    assert AuditEntry.objects.filter(action="cardholder.updated", object_id=holder.external_id).exists()

    midday = datetime(2026, 2, 12, 12, 0, tzinfo=UTC)
    rows = _routed(partner, holder_card, now=midday)
    assert {c: (r.status, r.skip_reason) for c, r in rows.items()} == {
        "PUSH": ("SKIPPED", "opted_out"), "SMS": ("SKIPPED", "category_opted_out"),
        "EMAIL": ("SKIPPED", "category_opted_out"), "IN_APP": ("PENDING", ""),
    }
    # Another category: only the channel opt-out applies; 22:00 in London is inside the cardholder's own window.
    night = datetime(2026, 2, 12, 22, 0, tzinfo=UTC)
    rows = _routed(partner, holder_card, "CARD_ACTIVATED", now=night)
    assert rows["SMS"].status == "HELD"
    assert rows["SMS"].next_attempt_at == datetime(2026, 2, 13, 7, 30, tzinfo=UTC)
    assert rows["PUSH"].skip_reason == "opted_out"
    # Critical notices ignore opt-outs.
    rows = _routed(partner, holder_card, "KIT_EXPIRY_NOTIFICATION", now=midday, expiryDate="2026-03-31")
    assert {r.status for r in rows.values()} == {"PENDING"}


def test_quiet_hours_off_and_back_to_the_products(partner, holder, holder_card, api_client, settings):
    settings.CUSTOMER_QUIET_HOURS = "22:00-08:00"
    night = datetime(2026, 2, 12, 18, 0, tzinfo=UTC)  # 23:30 in Asia/Kolkata
    assert _routed(partner, holder_card, now=night)["SMS"].status == "HELD"
    api_client.patch(_url(holder), {"quietHours": {"enabled": False}}, format="json")
    assert _routed(partner, holder_card, now=night)["SMS"].status == "PENDING"
    body = api_client.patch(_url(holder), {"quietHours": None}, format="json").json()
    assert body["quietHours"] is None
    assert _routed(partner, holder_card, now=night)["SMS"].status == "HELD"


def test_contact_changes_emit_the_event_and_fields_not_given_keep_their_value(holder, api_client):
    response = api_client.patch(_url(holder), {"email": "new@example.com", "name": "Asha V."}, format="json")
    body = response.json()
    assert (body["email"], body["name"], body["phone"]) == ("new@example.com", "Asha V.", holder.phone)
    [event] = OutboxMessage.objects.filter(payload__eventName="CUSTOMER_CONTACT_CHANGED")
    assert event.payload["data"]["field"] == "email"
    # What a GET returned may be sent back.
    assert api_client.patch(_url(holder), api_client.get(_url(holder)).json(), format="json").status_code == 200


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"categoryOptOuts": {"Gossip": ["EMAIL"]}}, "categoryOptOuts", "Unknown categories ['Gossip']"),
    ({"categoryOptOuts": {"Fees": ["EMAIL"]}}, "categoryOptOuts", "always sent"),
    ({"categoryOptOuts": {"Transactions": ["FAX"]}}, "categoryOptOuts", "unknown channels ['FAX']"),
    ({"categoryOptOuts": {"Transactions": "EMAIL"}}, "categoryOptOuts", "a list of channels"),
    ({"categoryOptOuts": ["Transactions"]}, "categoryOptOuts", "An object of category"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "IANA time zone"),
    ({"quietHours": {"enabled": True, "start": "25:00", "end": "07:00"}}, "quietHours", "a time such as 22:00"),
    ({"quietHours": {"enabled": True, "start": "22:00", "end": "22:00"}}, "quietHours", "must differ"),
    ({"quietHours": {"enabled": True, "start": "22:00"}}, "quietHours", "Give start and end"),
    ({"quietHours": {"enabled": "yes"}}, "quietHours", "JSON boolean"),
    ({"quietHours": {"from": "22:00"}}, "quietHours", "Unknown fields ['from']"),
    ({"quietHours": "22:00-07:00"}, "quietHours", "An object such as"),
    ({"channelPreferences": {"PIGEON": False}}, "channelPreferences", "Unknown channels"),
    ({"channelPreferences": {"SMS": "no"}}, "channelPreferences", "JSON boolean"),
    ({"phone": "12345"}, "phone", "E.164"),
    ({"pushTokn": "x"}, "pushTokn", "Unknown field"),
])
def test_each_bad_input_is_a_400_naming_the_field(holder, api_client, body, field, words):
    before = api_client.get(_url(holder)).json()
    response = api_client.patch(_url(holder), body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert words in str(error["fields"][field])
    assert api_client.get(_url(holder)).json() == before  # nothing changed


def test_patch_is_tenant_scoped_and_needs_write_level(partner, holder, make_client):
    other = make_client(PartnerFactory(tenant_id="globex"))
    assert other.patch(_url(holder), {"name": "X"}, format="json").status_code == 404
    reader = make_client(partner, level=1)
    assert reader.patch(_url(holder), {"name": "X"}, format="json").status_code == 403


def test_the_preference_link_opens_the_cardholders_page(holder, api_client, client, settings):
    settings.PUBLIC_BASE_URL = "https://notify.example.com"
    response = api_client.post(f"{_url(holder)}/preference-link")
    assert response.status_code == 201
    url, expires_at = response.json()["url"], response.json()["expiresAt"]
    assert url.startswith("https://notify.example.com/preferences/") and expires_at
    page = client.get(url.removeprefix("https://notify.example.com"))
    assert page.status_code == 200
    assert "Your notification preferences" in page.content.decode()
    assert api_client.post("/prepaid/auth/v1/cardholders/NOPE/preference-link").status_code == 404
