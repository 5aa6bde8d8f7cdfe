"""POST /cards/{cardId}/reissue: level 3, explicit confirmation, new number and expiry under the same cardId,
balance and history untouched, previous number recorded as replaced, CARD_RENEWAL and CARD_REISSUED."""

import calendar
import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from subscriptions.models import AuditEntry
from tests.factories import CardFactory, WalletFactory
from tests.wallets.helpers import outbox, outbox_names
from wallets.models import CardReissue


def reissue_url(card) -> str:
    return f"/prepaid/auth/v1/cards/{card.card_id}/reissue"


def test_reissue_replaces_the_number_and_keeps_everything_else(admin_token_client, api_client, card, settings):
    settings.WALLETS_CARD_VALIDITY_MONTHS = 36
    api_client.post(
        "/prepaid/auth/v1/simulate/transactions", {"kitNo": card.kit_no, "type": "LOAD", "amount": "5"}, format="json"
    )
    old_last4, old_expiry = card.last4, card.expiry_date

    response = admin_token_client.post(reissue_url(card), {"confirmIrreversible": True, "reason": "LOST"},
                                       format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    card.refresh_from_db()
    assert body["card"]["cardId"] == str(card.card_id)
    assert card.last4 != old_last4
    assert body["card"]["last4"] == card.last4
    today = timezone.localdate()
    months = today.month - 1 + 36
    year, month = today.year + months // 12, months % 12 + 1
    assert card.expiry_date == datetime.date(year, month, calendar.monthrange(year, month)[1])
    assert body["previousCard"] == {"last4": old_last4, "expiryDate": old_expiry.isoformat(), "status": "REPLACED"}
    assert (body["reason"], card.status) == ("LOST", "ACTIVE")
    card.wallet.refresh_from_db()
    assert card.wallet.balance == Decimal("1005.00")
    assert card.transactions.count() == 1  # the history stays with the cardId
    record = CardReissue.objects.get(card=card)
    assert (record.previous_last4, record.previous_expiry_date, record.new_last4) == (old_last4, old_expiry,
                                                                                      card.last4)
    assert outbox_names(entity_id=str(card.card_id))[-2:] == ["CARD_RENEWAL", "CARD_REISSUED"]
    [renewal] = outbox("CARD_RENEWAL")
    assert renewal["data"]["previousLast4"] == old_last4
    assert renewal["data"]["last4"] == card.last4
    assert renewal["data"]["expiryDate"] == card.expiry_date.isoformat()
    audit = AuditEntry.objects.get(action="card.reissued")
    assert audit.before["last4"] == old_last4
    assert audit.after["last4"] == card.last4


def test_reissue_reactivates_a_dormant_card_and_restarts_its_clock(admin_token_client, partner):
    long_ago = timezone.now() - datetime.timedelta(days=400)
    card = CardFactory(partner=partner, status="INACTIVE", last_activity_at=long_ago)

    admin_token_client.post(reissue_url(card), {"confirmIrreversible": True}, format="json")

    card.refresh_from_db()
    assert card.status == "ACTIVE"
    assert card.last_activity_at > long_ago
    assert CardReissue.objects.get(card=card).previous_status == "INACTIVE"


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ({}, "required"),
        ({"confirmIrreversible": False}, "irreversible"),
        ({"confirmIrreversible": "true"}, "JSON boolean"),
        ({"confirmIrreversible": 1}, "JSON boolean"),
        ({"confirmIrreversible": True, "reason": "BORED"}, "not a valid choice"),
        ({"confirmIrreversible": True, "cvv": "123"}, "last four"),
    ],
)
def test_reissue_needs_an_explicit_confirmation(admin_token_client, card, body, message_part):
    response = admin_token_client.post(reissue_url(card), body, format="json")

    assert response.status_code == 400
    assert message_part in str(response.json()["error"]["fields"])
    assert not CardReissue.objects.exists()
    assert outbox() == []


def test_reissue_requires_an_admin_token(api_client, card):
    response = api_client.post(reissue_url(card), {"confirmIrreversible": True}, format="json")

    assert response.status_code == 403
    assert "access level 3 (Admin)" in response.json()["error"]["message"]
    assert not CardReissue.objects.exists()


@pytest.mark.parametrize(("wallet_status", "card_status"), [("CLOSED", "ACTIVE"), ("EXPIRED", "EXPIRED"),
                                                            ("ACTIVE", "CLOSED")])
def test_a_terminal_card_or_wallet_cannot_be_reissued(admin_token_client, partner, wallet_status, card_status):
    card = CardFactory(partner=partner, status=card_status, wallet=WalletFactory(partner=partner,
                                                                                 status=wallet_status))

    response = admin_token_client.post(reissue_url(card), {"confirmIrreversible": True}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "card_not_reissuable"
    assert not CardReissue.objects.exists()


def test_another_tenants_card_is_404(admin_token_client, other_partner):
    foreign = CardFactory(partner=other_partner)

    for url in (reissue_url(foreign), "/prepaid/auth/v1/cards/zzz/reissue"):
        assert admin_token_client.post(url, {"confirmIrreversible": True}, format="json").status_code == 404
    assert not CardReissue.objects.exists()
