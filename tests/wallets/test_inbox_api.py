"""The in-app inbox: the IN_APP channel stores each message for the cardholder; the partner API lists (cursor
pagination, newest first), counts unread and marks read, one or all, only within the tenant."""

import pytest

from notifications.messaging.routing import plan_customer_messages
from notifications.messaging.sending import message_send_batch
from notifications.models import CustomerMessage, InboxMessage
from tests.factories import CardholderFactory, PartnerFactory
from tests.templates_app.factories import make_event

pytestmark = pytest.mark.usefixtures("sample_templates", "no_default_quiet_hours")

TXN = {"amount": "125.50", "currency": "INR", "merchantName": "Chai Point", "balance": "874.50"}


def _deliver_in_app(partner, card, count: int) -> list[CustomerMessage]:
    events = [make_event(partner, "CARD_TRANSACTION_APPROVED", kitNo=card.kit_no,
                         **{**TXN, "amount": f"{n + 1}.00"}) for n in range(count)]
    rows = [r for r in plan_customer_messages(events) if r.channel == "IN_APP"]
    CustomerMessage.objects.bulk_create(rows)
    message_send_batch(message_ids=[r.pk for r in rows])
    return rows


def _inbox(holder) -> str:
    return f"/prepaid/auth/v1/cardholders/{holder.external_id}/inbox"


def test_the_in_app_channel_stores_each_message_once(partner, holder, holder_card):
    [row] = _deliver_in_app(partner, holder_card, 1)
    row.refresh_from_db()
    assert row.status == "SENT" and row.provider_message_id.startswith("inbox-")
    entry = InboxMessage.objects.get(message=row)
    assert (entry.cardholder_id, entry.category, entry.title) == (holder.pk, "Transactions", "Payment of INR 1.00")
    assert entry.body == "INR 1.00 spent at Chai Point with card XXXX XXXX XXXX 4242. Balance: INR 874.50."
    # At-least-once: a resend of the same message (its lease expired) stores nothing new.
    CustomerMessage.objects.filter(pk=row.pk).update(status="PENDING")
    message_send_batch(message_ids=[row.pk])
    assert InboxMessage.objects.filter(cardholder=holder).count() == 1


def test_list_count_and_mark_read(partner, holder, holder_card, api_client):
    _deliver_in_app(partner, holder_card, 3)
    page = api_client.get(_inbox(holder), {"limit": 2}).json()
    assert [e["title"] for e in page["results"]] == ["Payment of INR 3.00", "Payment of INR 2.00"]  # newest first
    assert page["results"][0]["readAt"] is None and page["results"][0]["category"] == "Transactions"
    rest = api_client.get(page["next"]).json()
    assert [e["title"] for e in rest["results"]] == ["Payment of INR 1.00"] and rest["next"] is None
    assert api_client.get(f"{_inbox(holder)}/unread-count").json() == {"unread": 3}

    newest = page["results"][0]["id"]
    marked = api_client.post(f"{_inbox(holder)}/{newest}/read").json()
    assert marked["readAt"] is not None
    assert api_client.post(f"{_inbox(holder)}/{newest}/read").json()["readAt"] == marked["readAt"]  # kept
    assert api_client.get(f"{_inbox(holder)}/unread-count").json() == {"unread": 2}
    unread = api_client.get(_inbox(holder), {"unread": "true"}).json()["results"]
    assert newest not in [e["id"] for e in unread] and len(unread) == 2

    assert api_client.post(f"{_inbox(holder)}/read-all").json() == {"marked": 2}
    assert api_client.get(f"{_inbox(holder)}/unread-count").json() == {"unread": 0}
    assert api_client.post(f"{_inbox(holder)}/read-all").json() == {"marked": 0}


def test_the_inbox_is_tenant_scoped(partner, holder, holder_card, api_client, make_client):
    _deliver_in_app(partner, holder_card, 1)
    entry = InboxMessage.objects.get(cardholder=holder)
    globex = PartnerFactory(tenant_id="globex")
    other = make_client(globex)
    assert other.get(_inbox(holder)).status_code == 404
    assert other.get(f"{_inbox(holder)}/unread-count").status_code == 404
    assert other.post(f"{_inbox(holder)}/{entry.pk}/read").status_code == 404
    assert other.post(f"{_inbox(holder)}/read-all").status_code == 404
    # The same customerId at another tenant is another cardholder with its own (empty) inbox.
    twin = CardholderFactory(partner=globex, external_id=holder.external_id)
    assert other.get(_inbox(twin)).json()["results"] == []
    # Another cardholder of the same tenant cannot mark this one's entry.
    neighbour = CardholderFactory(partner=partner)
    response = api_client.post(f"{_inbox(neighbour)}/{entry.pk}/read")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    entry.refresh_from_db()
    assert entry.read_at is None


def test_bad_inbox_requests_are_clear_errors(partner, holder, holder_card, api_client, make_client):
    _deliver_in_app(partner, holder_card, 1)
    assert api_client.get(_inbox(holder), {"cursor": "garbage"}).status_code == 404
    bad = api_client.get(_inbox(holder), {"unread": "maybe"})
    assert bad.status_code == 400 and "unread" in bad.json()["error"]["fields"]
    assert api_client.post(f"{_inbox(holder)}/999999/read").status_code == 404
    reader = make_client(partner, level=1)
    assert reader.get(_inbox(holder)).status_code == 200
    assert reader.post(f"{_inbox(holder)}/read-all").status_code == 403
