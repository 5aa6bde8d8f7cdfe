"""wallets.services.wallet_status: wallet_change_status's contract beyond the transition table (which
test_state_machine covers)."""

import pytest
from django.core.exceptions import ValidationError

from subscriptions.models import AuditEntry
from tests.factories import WalletFactory
from tests.wallets.helpers import outbox_names
from wallets.models import WalletStatusTransition
from wallets.services.wallet_status import wallet_change_status
from wallets.state_machine import Actor


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
