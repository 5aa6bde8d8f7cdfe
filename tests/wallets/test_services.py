"""The services other engineers call: card_expire and card_inactivate_for_dormancy (the daily sweep), and
wallet_change_status's contract beyond the transition table."""

import pytest
from django.core.exceptions import ValidationError

from subscriptions.models import AuditEntry
from tests.factories import CardFactory, WalletFactory
from tests.wallets.helpers import outbox, outbox_names
from wallets.models import WalletStatusTransition
from wallets.services import card_expire, card_inactivate_for_dormancy, wallet_change_status
from wallets.state_machine import Actor


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
    # The sweep emits the KIT_* events; this service only the wallet's status change.
    assert outbox_names() == ["WALLET_STATUS_CHANGED"]
    assert outbox("WALLET_STATUS_CHANGED")[0]["data"]["channel"] == "SYSTEM"
    assert AuditEntry.objects.filter(action="card.expired", channel="SYSTEM").exists()


def test_expire_is_idempotent(card):
    card_expire(card=card)
    card_expire(card=card)

    assert WalletStatusTransition.objects.count() == 1
    assert len(outbox()) == 1
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
    assert outbox() == []
    assert AuditEntry.objects.filter(action="card.inactivated_for_dormancy").count() == 1


@pytest.mark.parametrize("status", ["EXPIRED", "CLOSED", "REPLACED"])
def test_dormancy_leaves_other_card_states_alone(partner, status):
    card = CardFactory(partner=partner, status=status)

    card_inactivate_for_dormancy(card=card)

    card.refresh_from_db()
    assert card.status == status


def test_service_refreshes_the_callers_instance(wallet):
    wallet_change_status(wallet=wallet, to_status="LOCKED", actor=Actor.PARTNER, actor_name="p", reason="DISPUTE")

    assert wallet.status == "LOCKED"


def test_stale_instance_is_judged_on_the_current_row(wallet):
    stale = type(wallet).objects.get(pk=wallet.pk)
    wallet_change_status(wallet=wallet, to_status="CLOSED", actor=Actor.PARTNER, actor_name="p", reason="OTHER",
                         comment="closing")

    with pytest.raises(Exception, match="CLOSED cannot be moved"):
        wallet_change_status(wallet=stale, to_status="LOCKED", actor=Actor.PARTNER, actor_name="p", reason="DISPUTE")
    assert stale.status == "ACTIVE"  # untouched: the caller sees the refusal, not a silent change


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reason": "NOPE"}, "reason"),
        ({"reason": "OTHER"}, "comment"),
        ({"reason": "CARD_EXPIRED"}, "reason"),
        ({"reason": "COMPLIANCE", "to_status": "ASLEEP"}, "status"),
    ],
)
def test_service_validates_reason_and_status(wallet, kwargs, field):
    with pytest.raises(ValidationError) as error:
        wallet_change_status(
            wallet=wallet, actor=Actor.SUPPORT, actor_name="agent", **{"to_status": "LOCKED", **kwargs}
        )

    assert field in error.value.message_dict
    assert not WalletStatusTransition.objects.exists()


def test_support_channel_is_recorded_and_audited_as_admin(partner):
    wallet = WalletFactory(partner=partner, status="FRAUD")

    transition = wallet_change_status(wallet=wallet, to_status="BLOCKED", actor=Actor.SUPPORT, actor_name="agent",
                                      reason="COMPLIANCE")

    assert (transition.channel, transition.actor) == ("SUPPORT", "agent")
    assert AuditEntry.objects.get(action="wallet.status_changed").channel == "ADMIN"
    assert outbox_names() == ["WALLET_STATUS_CHANGED", "WALLET_BLOCKED"]
