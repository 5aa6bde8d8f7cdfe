"""Card (kit) status: the table, the partner API (one operation per action, its access level, 409 naming what is
allowed) and every card status change the platform makes reporting KIT_STATUS_UPDATE and CARD_STATUS_CHANGED with
the old and new status through the outbox."""

import itertools

import pytest

from subscriptions.models import AuditEntry
from tests.factories import CardFactory, WalletFactory
from tests.wallets.helpers import outbox, outbox_names
from wallets.card_state_machine import CARD_MOVES, PARTNER_ACTIONS, CardAction, partner_actions_allowed
from wallets.models import Card
from wallets.services.card_status import CardTransitionNotAllowed, card_change_status
from wallets.services.cards import card_reissue
from wallets.services.wallet_status import wallet_change_status
from wallets.state_machine import Actor

# The table as docs/wallets.md states it: action -> (from, to, token level).
DOCUMENTED = {
    "activate": ({"INACTIVE"}, "ACTIVE", 2),
    "lock": ({"ACTIVE"}, "LOCKED", 2),
    "unlock": ({"LOCKED"}, "ACTIVE", 2),
    "block": ({"ACTIVE", "INACTIVE", "LOCKED"}, "BLOCKED", 2),
    "close": ({"ACTIVE", "INACTIVE", "LOCKED", "BLOCKED", "EXPIRED", "REPLACED"}, "CLOSED", 3),
}
SPECIFIC = {"activate": "CARD_ACTIVATED", "block": "CARD_BLOCKED", "close": "CARD_CLOSED"}
STATUSES = [s.value for s in Card.Status]


def url(card, action: str) -> str:
    return f"/prepaid/auth/v1/cards/{card.card_id}/{action}"


def test_the_table_is_the_documented_one():
    assert [str(a) for a in PARTNER_ACTIONS] == list(DOCUMENTED)
    for action, (sources, target, level) in DOCUMENTED.items():
        move = CARD_MOVES[CardAction(action)]
        assert (set(move.sources), move.target, move.level) == (sources, target, level)


@pytest.mark.parametrize(("action", "status"), list(itertools.product(DOCUMENTED, STATUSES)))
def test_every_action_from_every_status_through_the_api(partner, make_client, action, status):
    sources, target, level = DOCUMENTED[action]
    card = CardFactory(partner=partner, status=status)
    client = make_client(partner, level=level)

    response = client.post(url(card, action), {"comment": "row test"}, format="json")

    card.refresh_from_db()
    if status in sources:
        assert response.status_code == 200, response.json()
        body = response.json()
        assert (body["action"], body["previousStatus"], body["newStatus"]) == (action, status, target)
        assert body["card"]["status"] == card.status == target
        names = ["KIT_STATUS_UPDATE", "CARD_STATUS_CHANGED", *([SPECIFIC[action]] if action in SPECIFIC else [])]
        assert outbox_names() == names
        assert body["eventIds"] == [p["eventId"] for p in outbox()]
        for payload in outbox():
            assert payload["entityId"] == str(card.card_id)
            data = payload["data"]
            assert (data["previousStatus"], data["newStatus"], data["channel"], data["comment"]) == (
                status, target, "PARTNER_API", "row test")
            assert data["reason"] == CARD_MOVES[CardAction(action)].reason
            assert (data["kitNo"], data["cardId"], data["walletId"]) == (
                card.kit_no, str(card.card_id), str(card.wallet.wallet_id))
        audit = AuditEntry.objects.get(action="card.status_changed")
        assert (audit.channel, audit.before, audit.after["status"]) == ("PARTNER_API", {"status": status}, target)
    else:
        assert response.status_code == 409, response.json()
        assert response.json()["error"] == {
            "code": "card_transition_not_allowed",
            "message": response.json()["error"]["message"],
            "currentStatus": status,
            "requestedAction": action,
            "allowedActions": partner_actions_allowed(status),
        }
        assert f"A card in status {status} cannot be" in response.json()["error"]["message"]
        assert card.status == status
        assert outbox() == []


@pytest.mark.parametrize(("action", "level"), [("activate", 1), ("lock", 1), ("unlock", 1), ("block", 1),
                                               ("close", 2)])
def test_each_action_needs_its_access_level(partner, make_client, action, level):
    card = CardFactory(partner=partner, status="LOCKED")

    response = make_client(partner, level=level).post(url(card, action), {}, format="json")

    assert response.status_code == 403
    assert f"access level {DOCUMENTED[action][2]}" in response.json()["error"]["message"]
    card.refresh_from_db()
    assert card.status == "LOCKED" and outbox() == []


@pytest.mark.parametrize(("body", "field"), [
    ({"comment": 5}, "comment"),
    ({"comment": "x" * 501}, "comment"),
    ({"status": "ACTIVE"}, "status"),
    ({"cardNumber": "4111111111111111"}, "cardNumber"),
])
def test_bad_bodies_are_400(api_client, card, body, field):
    response = api_client.post(url(card, "lock"), body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    card.refresh_from_db()
    assert card.status == "ACTIVE" and outbox() == []


def test_another_tenants_or_an_unknown_card_is_404(api_client, other_partner):
    theirs = CardFactory(partner=other_partner)
    for card_id in (theirs.card_id, "not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        response = api_client.post(f"/prepaid/auth/v1/cards/{card_id}/lock", {}, format="json")
        assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "ACTIVE"


def test_an_empty_body_is_fine(api_client, card):
    assert api_client.post(url(card, "lock"), format="json").status_code == 200
    assert outbox("KIT_STATUS_UPDATE")[0]["data"]["comment"] == ""


def test_a_locked_card_is_declined_and_unlocking_brings_it_back(api_client, card):
    simulate = "/prepaid/auth/v1/simulate/transactions"
    api_client.post(url(card, "lock"), {}, format="json")
    declined = api_client.post(simulate, {"kitNo": card.kit_no, "type": "AUTHORIZATION", "amount": "5"},
                               format="json").json()
    api_client.post(url(card, "unlock"), {}, format="json")
    approved = api_client.post(simulate, {"kitNo": card.kit_no, "type": "AUTHORIZATION", "amount": "5"},
                               format="json").json()

    assert declined["transaction"]["declineReason"] == "CARD_NOT_ACTIVE"
    assert approved["transaction"]["status"] == "APPROVED"


def test_two_locks_at_once_one_wins(card):
    card_change_status(card=card, action="lock", actor=Actor.PARTNER, actor_name="a")
    with pytest.raises(CardTransitionNotAllowed) as refused:
        card_change_status(card=Card.objects.get(pk=card.pk), action="lock", actor=Actor.PARTNER, actor_name="b")
    assert refused.value.allowed_actions == ["unlock", "block", "close"]
    assert len(outbox("KIT_STATUS_UPDATE")) == 1


def test_reissue_reports_the_card_status_with_the_previous_number(partner):
    card = CardFactory(partner=partner, status="BLOCKED", last4="1881")

    card_reissue(card=card, actor_name="acme/token:x", reason="LOST")

    assert outbox_names() == ["KIT_STATUS_UPDATE", "CARD_STATUS_CHANGED", "CARD_RENEWAL", "CARD_REISSUED"]
    data = outbox("KIT_STATUS_UPDATE")[0]["data"]
    assert (data["previousStatus"], data["newStatus"], data["reason"], data["channel"]) == (
        "BLOCKED", "ACTIVE", "REISSUED", "PARTNER_API")
    assert (data["previousLast4"], data["last4"]) == ("1881", card.last4)


def test_reissuing_an_active_card_still_reports_it(card):
    """The status stays ACTIVE, but the previous number is now inactive: KIT_STATUS_UPDATE tells the partner."""
    card_reissue(card=card, actor_name="acme/token:x")

    (update,) = outbox("KIT_STATUS_UPDATE")
    assert (update["data"]["previousStatus"], update["data"]["newStatus"]) == ("ACTIVE", "ACTIVE")


def test_closing_a_wallet_closes_its_cards(partner):
    wallet = WalletFactory(partner=partner)
    cards = [CardFactory(partner=partner, wallet=wallet, status=s) for s in ("ACTIVE", "LOCKED", "CLOSED")]

    wallet_change_status(wallet=wallet, to_status="CLOSED", actor=Actor.PARTNER, actor_name="p",
                         reason="CUSTOMER_REQUEST")

    for card in cards:
        card.refresh_from_db()
        assert card.status == "CLOSED"
    updates = outbox("KIT_STATUS_UPDATE")
    assert [(u["entityId"], u["data"]["previousStatus"], u["data"]["reason"]) for u in updates] == [
        (str(cards[0].card_id), "ACTIVE", "WALLET_CLOSED"), (str(cards[1].card_id), "LOCKED", "WALLET_CLOSED")]
    assert len(outbox("CARD_CLOSED")) == 2
    assert AuditEntry.objects.filter(action="card.closed_with_wallet").count() == 2


def test_a_refused_wallet_closure_closes_no_card(partner):
    wallet = WalletFactory(partner=partner, status="BLOCKED")
    card = CardFactory(partner=partner, wallet=wallet)

    with pytest.raises(Exception, match="cannot be moved"):
        wallet_change_status(wallet=wallet, to_status="CLOSED", actor=Actor.PARTNER, actor_name="p",
                             reason="CUSTOMER_REQUEST")

    card.refresh_from_db()
    assert card.status == "ACTIVE" and outbox() == []
