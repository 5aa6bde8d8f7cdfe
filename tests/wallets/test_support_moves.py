"""Support console: an admin action for every support-only move of the wallet transition table, done as a Support
user through the admin login; refused for plain staff; releasing a FRAUD wallet needs a written comment; a partner
asking for a support-only move through the API is told support can make it and how to ask."""

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError

from tests.factories import CardFactory, WalletFactory
from tests.wallets.helpers import outbox
from tests.wallets.test_admin import CHANGELIST, PASSWORD, action_names, admin_login
from wallets.admin import SUPPORT_MOVES
from wallets.models import WalletStatusTransition
from wallets.services.wallet_status import wallet_change_status
from wallets.state_machine import SUPPORT_ONLY_TRANSITIONS

SUPPORT_ONLY_MOVES = sorted((str(source), str(target)) for source, targets in SUPPORT_ONLY_TRANSITIONS.items()
                            for target in targets)
ACTION_OF = {str(move.target): name for name, move in SUPPORT_MOVES.items()}


@pytest.fixture
def support_client(client, support_group):
    agent = User.objects.create_user("agent", password=PASSWORD, is_staff=True)
    agent.groups.add(support_group)
    admin_login(client, "agent")
    return client


@pytest.fixture
def staff_client(client, db):
    ops = User.objects.create_user("ops", password=PASSWORD, is_staff=True)
    ops.user_permissions.add(*Permission.objects.filter(content_type__app_label="wallets", codename="view_wallet"))
    admin_login(client, "ops")
    return client


def post(action: str, wallets, **extra) -> dict:
    return {"action": action, "_selected_action": [str(w.pk) for w in wallets], **extra}


def test_every_support_only_move_has_an_action():
    assert SUPPORT_ONLY_MOVES == [
        ("BLOCKED", "ACTIVE"), ("BLOCKED", "CLOSED"), ("BLOCKED", "FRAUD"),
        ("FRAUD", "ACTIVE"), ("FRAUD", "BLOCKED"), ("FRAUD", "CLOSED"),
        ("REFUND_ONLY", "BLOCKED"), ("REFUND_ONLY", "FRAUD"),
    ]
    covered = {(source, str(move.target)) for move in SUPPORT_MOVES.values() for source in move.sources}
    assert covered == set(SUPPORT_ONLY_MOVES)


def test_support_sees_every_support_action(support_client):
    assert set(SUPPORT_MOVES) <= action_names(support_client.get(CHANGELIST))


@pytest.mark.parametrize(("source", "target"), SUPPORT_ONLY_MOVES)
def test_support_makes_each_move_with_a_reason(support_client, partner, source, target):
    wallet = WalletFactory(partner=partner, status=source)
    card = CardFactory(partner=partner, wallet=wallet)
    action = ACTION_OF[target]

    page = support_client.post(CHANGELIST, post(action, [wallet]))
    assert page.status_code == 200
    assert f"move wallets to {target}" in page.content.decode()
    wallet.refresh_from_db()
    assert wallet.status == source  # nothing happens before the reason is given

    done = support_client.post(CHANGELIST, post(action, [wallet], apply="1", reason="COMPLIANCE",
                                                comment="Reviewed by the fraud team"))

    assert done.status_code == 302
    wallet.refresh_from_db()
    assert wallet.status == target
    transition = WalletStatusTransition.objects.get(wallet=wallet)
    assert (transition.from_status, transition.to_status, transition.channel, transition.actor) == (
        source, target, "SUPPORT", "agent")
    changed = outbox("WALLET_STATUS_CHANGED")[0]["data"]
    assert (changed["channel"], changed["comment"]) == ("SUPPORT", "Reviewed by the fraud team")
    card.refresh_from_db()
    if target == "CLOSED":
        assert card.status == "CLOSED"
        assert outbox("KIT_STATUS_UPDATE")[0]["data"]["channel"] == "SUPPORT"
    else:
        assert card.status == "ACTIVE"


@pytest.mark.parametrize("comment", ["", "   "])
def test_releasing_a_fraud_wallet_needs_a_written_comment(support_client, partner, comment):
    wallet = WalletFactory(partner=partner, status="FRAUD")

    response = support_client.post(CHANGELIST, post("unblock_support", [wallet], apply="1",
                                                    reason="REACTIVATION", comment=comment))

    assert response.status_code == 200
    assert "A written comment is required to release a FRAUD wallet." in response.content.decode()
    wallet.refresh_from_db()
    assert wallet.status == "FRAUD"
    assert outbox() == []


def test_a_blocked_wallet_is_unblocked_without_a_comment(support_client, partner):
    wallet = WalletFactory(partner=partner, status="BLOCKED")

    support_client.post(CHANGELIST, post("unblock_support", [wallet], apply="1", reason="REACTIVATION"))

    wallet.refresh_from_db()
    assert wallet.status == "ACTIVE"


def test_the_service_refuses_a_fraud_release_without_a_comment_whoever_asks(partner):
    wallet = WalletFactory(partner=partner, status="FRAUD")
    with pytest.raises(ValidationError, match="written comment"):
        wallet_change_status(wallet=wallet, to_status="ACTIVE", actor="SUPPORT", actor_name="a", reason="REACTIVATION")
    # Moving it on to BLOCKED keeps the money frozen and needs none.
    wallet_change_status(wallet=wallet, to_status="BLOCKED", actor="SUPPORT", actor_name="a", reason="COMPLIANCE")


def test_wallets_the_move_does_not_apply_to_are_left_alone(support_client, partner):
    refund_only = WalletFactory(partner=partner, status="REFUND_ONLY")
    active = WalletFactory(partner=partner, status="ACTIVE")

    page = support_client.post(CHANGELIST, post("mark_fraud_support", [refund_only, active]))
    assert page.context["skipped"] == 1
    assert "are not BLOCKED or REFUND_ONLY" in page.content.decode()
    support_client.post(CHANGELIST, post("mark_fraud_support", [refund_only, active], apply="1", reason="COMPLIANCE"))

    refund_only.refresh_from_db()
    active.refresh_from_db()
    assert (refund_only.status, active.status) == ("FRAUD", "ACTIVE")


def test_none_eligible_warns(support_client, partner):
    active = WalletFactory(partner=partner)

    response = support_client.post(CHANGELIST, post("close_support", [active]), follow=True)

    assert "None of the selected wallets is BLOCKED or FRAUD" in response.content.decode()
    active.refresh_from_db()
    assert active.status == "ACTIVE"


def test_plain_staff_sees_no_support_action(staff_client, partner):
    WalletFactory(partner=partner, status="BLOCKED")

    response = staff_client.get(CHANGELIST)

    assert response.status_code == 200
    for name in SUPPORT_MOVES:
        assert name not in response.content.decode()


@pytest.mark.parametrize("action", list(SUPPORT_MOVES))
@pytest.mark.parametrize("step", ["open-form", "apply"])
def test_a_crafted_support_post_from_plain_staff_changes_nothing(staff_client, partner, action, step):
    wallet = WalletFactory(partner=partner, status="FRAUD" if action != "mark_fraud_support" else "BLOCKED")
    extra = {"apply": "1", "reason": "REACTIVATION", "comment": "let me in"} if step == "apply" else {}
    before = wallet.status

    response = staff_client.post(CHANGELIST, post(action, [wallet], **extra))

    assert response.status_code in (200, 302)
    assert "support_move.html" not in str([t.name for t in getattr(response, "templates", [])])
    wallet.refresh_from_db()
    assert wallet.status == before
    assert not WalletStatusTransition.objects.exists()
    assert outbox() == []


@pytest.mark.parametrize(("source", "target"), SUPPORT_ONLY_MOVES)
def test_a_partner_asking_for_a_support_only_move_is_told_how_to_ask(api_client, partner, settings, source, target):
    settings.WALLETS_SUPPORT_CONTACT = "support@platform.example"
    wallet = WalletFactory(partner=partner, status=source)

    response = api_client.post(f"/prepaid/auth/v1/wallets/{wallet.wallet_id}/status",
                               {"status": target, "reason": "COMPLIANCE"}, format="json")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["supportOnly"] is True
    assert "support@platform.example" in error["howToAsk"]
    assert f"from {source} to {target}" in error["howToAsk"]
    assert "Support staff can make this move" in error["message"]
    wallet.refresh_from_db()
    assert wallet.status == source
