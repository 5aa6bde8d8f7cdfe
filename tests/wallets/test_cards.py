"""wallets.services.cards as the daily sweep calls it: card_expire and card_inactivate_for_dormancy."""

import pytest

from subscriptions.models import AuditEntry
from tests.factories import CardFactory, WalletFactory
from tests.wallets.helpers import outbox, outbox_names
from wallets.models import WalletStatusTransition
from wallets.services.cards import card_expire, card_inactivate_for_dormancy


def test_expiring_the_only_card_expires_the_wallet_as_the_system(card):
    card_expire(card=card)

    card.refresh_from_db()
    card.wallet.refresh_from_db()
    assert card.status == card.wallet.status == "EXPIRED"
    transition = WalletStatusTransition.objects.get(wallet=card.wallet)
    assert (transition.from_status, transition.reason, transition.channel, transition.actor) == (
        "ACTIVE", "CARD_EXPIRED", "SYSTEM", "system"
    )
    assert card.kit_no in transition.comment
    # The sweep emits KIT_EXPIRY_NOTIFICATION; this service the card's status change, then the wallet's.
    assert outbox_names() == ["KIT_STATUS_UPDATE", "CARD_STATUS_CHANGED", "WALLET_STATUS_CHANGED"]
    assert outbox("WALLET_STATUS_CHANGED")[0]["data"]["channel"] == "SYSTEM"
    for name in ("KIT_STATUS_UPDATE", "CARD_STATUS_CHANGED"):
        (status,) = outbox(name)
        assert status["entityId"] == str(card.card_id)
        assert {k: status["data"][k] for k in ("previousStatus", "newStatus", "reason", "channel", "kitNo")} == {
            "previousStatus": "ACTIVE", "newStatus": "EXPIRED", "reason": "EXPIRED", "channel": "SYSTEM",
            "kitNo": card.kit_no}
    assert AuditEntry.objects.filter(action="card.expired", channel="SYSTEM").exists()


def test_expire_is_idempotent(card):
    card_expire(card=card)
    card_expire(card=card)

    assert WalletStatusTransition.objects.count() == 1
    assert len(outbox()) == 3
    assert AuditEntry.objects.filter(action="card.expired").count() == 1


def test_another_active_card_keeps_the_wallet_active(card):
    other = CardFactory(partner=card.partner, wallet=card.wallet)

    card_expire(card=card)

    card.wallet.refresh_from_db()
    assert card.wallet.status == "ACTIVE"
    card_expire(card=other)
    card.wallet.refresh_from_db()
    assert card.wallet.status == "EXPIRED"


def test_an_inactive_sibling_does_not_keep_the_wallet_alive(card):
    CardFactory(partner=card.partner, wallet=card.wallet, status="INACTIVE")

    card_expire(card=card)

    card.wallet.refresh_from_db()
    assert card.wallet.status == "EXPIRED"


@pytest.mark.parametrize("wallet_status", ["CLOSED", "EXPIRED"])
def test_a_terminal_wallet_stays_as_it_is(partner, wallet_status):
    card = CardFactory(partner=partner, wallet=WalletFactory(partner=partner, status=wallet_status))

    card_expire(card=card)

    card.refresh_from_db()
    card.wallet.refresh_from_db()
    assert (card.status, card.wallet.status) == ("EXPIRED", wallet_status)
    assert not WalletStatusTransition.objects.exists()


@pytest.mark.parametrize("wallet_status", ["BLOCKED", "FRAUD", "LOCKED", "REFUND_ONLY"])
def test_the_system_expires_wallets_in_any_live_status(partner, wallet_status):
    card = CardFactory(partner=partner, wallet=WalletFactory(partner=partner, status=wallet_status))

    card_expire(card=card)

    card.wallet.refresh_from_db()
    assert card.wallet.status == "EXPIRED"


def test_a_closed_card_is_not_expired(partner):
    card = CardFactory(partner=partner, status="CLOSED")

    card_expire(card=card)

    card.refresh_from_db()
    assert card.status == "CLOSED"
    assert outbox() == []


def test_dormancy_inactivates_an_active_card_once(card):
    card_inactivate_for_dormancy(card=card)
    card_inactivate_for_dormancy(card=card)

    card.refresh_from_db()
    card.wallet.refresh_from_db()
    assert card.status == "INACTIVE"
    assert card.wallet.status == "ACTIVE"
    assert outbox_names() == ["KIT_STATUS_UPDATE", "CARD_STATUS_CHANGED"]
    data = outbox("KIT_STATUS_UPDATE")[0]["data"]
    assert (data["previousStatus"], data["newStatus"], data["reason"]) == ("ACTIVE", "INACTIVE", "DORMANCY")
    assert AuditEntry.objects.filter(action="card.inactivated_for_dormancy").count() == 1


@pytest.mark.parametrize("status", ["EXPIRED", "CLOSED", "REPLACED"])
def test_dormancy_leaves_other_card_states_alone(partner, status):
    card = CardFactory(partner=partner, status=status)

    card_inactivate_for_dormancy(card=card)

    card.refresh_from_db()
    assert card.status == status


def test_dormancy_leaves_a_locked_card_alone_and_expiry_takes_it(partner):
    card = CardFactory(partner=partner, status="LOCKED")

    card_inactivate_for_dormancy(card=card)
    assert card.status == "LOCKED" and outbox() == []
    card_expire(card=card)

    card.refresh_from_db()
    assert card.status == "EXPIRED"
    assert outbox("KIT_STATUS_UPDATE")[0]["data"]["previousStatus"] == "LOCKED"


@pytest.mark.parametrize("status", ["BLOCKED", "REPLACED"])
def test_expiry_leaves_cards_the_table_does_not_expire(partner, status):
    card = CardFactory(partner=partner, status=status)

    card_expire(card=card)

    card.refresh_from_db()
    assert card.status == status
    assert outbox() == []
