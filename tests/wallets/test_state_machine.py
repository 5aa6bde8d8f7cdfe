"""Every (from, to, actor) combination of the DESIGN.md wallet state machine, allowed and refused, checked against
the table as written in DESIGN.md (the oracle below), first on the pure function, then through the service that
every channel uses (record, events, audit), then through the partner API (200 or 409 with the allowed targets)."""

import itertools

import pytest

from subscriptions.models import AuditEntry
from tests.factories import WalletFactory
from tests.wallets.helpers import outbox
from wallets.models import WalletStatusTransition
from wallets.services.wallet_status import TransitionNotAllowed, wallet_change_status
from wallets.state_machine import Actor, TransactionKind, WalletStatus, can_transition, transaction_allowed

# DESIGN.md "Wallet status state machine", copied row by row: from -> (partner may move it to, only support staff
# may move it to, transactions allowed).
DESIGN_TABLE: dict[str, tuple[set[str], set[str], set[str]]] = {
    "ACTIVE": (
        {"LOCKED", "BLOCKED", "FRAUD", "CUSTOMER_BLOCKED", "CREDIT_FREEZE", "DEBIT_FREEZE", "REFUND_ONLY", "CLOSED"},
        set(),
        {"CREDIT", "DEBIT", "REFUND"},
    ),
    "LOCKED": ({"ACTIVE", "BLOCKED", "FRAUD", "CLOSED"}, set(), set()),
    "CUSTOMER_BLOCKED": ({"ACTIVE", "BLOCKED", "FRAUD", "CLOSED"}, set(), set()),
    "CREDIT_FREEZE": ({"ACTIVE", "DEBIT_FREEZE", "BLOCKED", "FRAUD", "CLOSED"}, set(), {"DEBIT"}),
    # A refund is a credit, so "credit only" admits refunds too.
    "DEBIT_FREEZE": ({"ACTIVE", "CREDIT_FREEZE", "BLOCKED", "FRAUD", "CLOSED"}, set(), {"CREDIT", "REFUND"}),
    "BLOCKED": (set(), {"ACTIVE", "FRAUD", "CLOSED"}, set()),
    "FRAUD": (set(), {"ACTIVE", "BLOCKED", "CLOSED"}, set()),
    "REFUND_ONLY": ({"CLOSED"}, {"BLOCKED", "FRAUD"}, {"REFUND"}),
    "CLOSED": (set(), set(), set()),
    "EXPIRED": (set(), set(), set()),
}
STATUSES = [s.value for s in WalletStatus]
ACTORS = [a.value for a in Actor]


def expected_targets(current: str, actor: str) -> set[str]:
    partner, support_only, _ = DESIGN_TABLE[current]
    if current in ("CLOSED", "EXPIRED"):
        return set()  # terminal for everyone, the system included
    if actor == "PARTNER":
        return set(partner)
    targets = partner | support_only
    if actor == "SYSTEM":
        # "EXPIRED is set only by the system"; otherwise the system may do what support staff may.
        targets = targets | {"EXPIRED"}
    return targets


MATRIX = list(itertools.product(STATUSES, STATUSES, ACTORS))


def _id(combo) -> str:
    current, target, actor = combo
    verdict = "allowed" if target in expected_targets(current, actor) else "refused"
    return f"{actor}:{current}->{target}:{verdict}"


def test_the_oracle_covers_every_status():
    assert set(DESIGN_TABLE) == set(STATUSES)
    assert len(MATRIX) == 300


@pytest.mark.parametrize("combo", MATRIX, ids=[_id(c) for c in MATRIX])
def test_state_machine_function_matches_design(combo):
    current, target, actor = combo
    assert can_transition(current, target, actor) is (target in expected_targets(current, actor))


@pytest.mark.parametrize("combo", MATRIX, ids=[_id(c) for c in MATRIX])
def test_service_applies_every_row(partner, combo):
    current, target, actor = combo
    wallet = WalletFactory(partner=partner, status=current)
    allowed = target in expected_targets(current, actor)
    reason = "CARD_EXPIRED" if actor == "SYSTEM" and target == "EXPIRED" else "COMPLIANCE"

    if not allowed:
        with pytest.raises(TransitionNotAllowed) as refused:
            wallet_change_status(wallet=wallet, to_status=target, actor=actor, actor_name="tester", reason=reason)
        assert refused.value.current == current
        assert refused.value.target == target
        assert set(refused.value.allowed_targets) == expected_targets(current, actor)
        wallet.refresh_from_db()
        assert wallet.status == current
        assert not WalletStatusTransition.objects.filter(wallet=wallet).exists()
        assert outbox() == []
        return

    transition = wallet_change_status(
        wallet=wallet, to_status=target, actor=actor, actor_name="tester", reason=reason, comment="row test"
    )
    wallet.refresh_from_db()
    assert wallet.status == target
    assert (transition.from_status, transition.to_status, transition.reason) == (current, target, reason)
    assert transition.channel == {"PARTNER": "PARTNER_API", "SUPPORT": "SUPPORT", "SYSTEM": "SYSTEM"}[actor]
    assert transition.actor == "tester"
    [changed] = outbox("WALLET_STATUS_CHANGED")
    assert changed["entityId"] == str(wallet.wallet_id)
    assert changed["eventId"] == transition.event_id
    assert changed["data"]["previousStatus"] == current
    assert changed["data"]["newStatus"] == target
    assert changed["data"]["walletId"] == str(wallet.wallet_id)
    assert changed["data"]["customerId"] == wallet.cardholder.external_id
    specific = {"LOCKED": "WALLET_LOCKED", "BLOCKED": "WALLET_BLOCKED", "FRAUD": "WALLET_FRAUD_SUSPENDED",
                "CLOSED": "WALLET_CLOSED"}.get(target)
    assert [p["eventName"] for p in outbox()] == ["WALLET_STATUS_CHANGED", *([specific] if specific else [])]
    audit = AuditEntry.objects.get(object_type="wallet", object_id=str(wallet.wallet_id))
    assert (audit.before, audit.after["status"]) == ({"status": current}, target)


PARTNER_MATRIX = [c for c in MATRIX if c[2] == "PARTNER"]


@pytest.mark.parametrize("combo", PARTNER_MATRIX, ids=[_id(c) for c in PARTNER_MATRIX])
def test_partner_api_applies_every_partner_row(partner, api_client, combo):
    current, target, _ = combo
    wallet = WalletFactory(partner=partner, status=current)
    response = api_client.post(
        f"/prepaid/auth/v1/wallets/{wallet.wallet_id}/status", {"status": target, "reason": "COMPLIANCE"},
        format="json",
    )
    wallet.refresh_from_db()
    if target in expected_targets(current, "PARTNER"):
        assert response.status_code == 200, response.json()
        assert response.json()["fromStatus"] == current
        assert response.json()["toStatus"] == target
        assert response.json()["channel"] == "PARTNER_API"
        assert wallet.status == target
    else:
        assert response.status_code == 409, response.json()
        error = response.json()["error"]
        assert error["code"] == "transition_not_allowed"
        assert error["currentStatus"] == current
        assert error["requestedStatus"] == target
        assert set(error["allowedTargets"]) == expected_targets(current, "PARTNER")
        assert wallet.status == current


POLICY = list(itertools.product(STATUSES, [k.value for k in TransactionKind]))


@pytest.mark.parametrize(("status", "kind"), POLICY, ids=[f"{s}:{k}" for s, k in POLICY])
def test_transaction_policy_matches_design(status, kind):
    assert transaction_allowed(status, kind) is (kind in DESIGN_TABLE[status][2])
