"""The wallet status state machine (DESIGN.md): the one place that decides which transitions are allowed and
which transactions a status permits. Services, the API, the admin and the daily sweep all ask this module."""

from enum import StrEnum


class WalletStatus(StrEnum):
    ACTIVE = "ACTIVE"
    LOCKED = "LOCKED"
    BLOCKED = "BLOCKED"
    FRAUD = "FRAUD"
    CUSTOMER_BLOCKED = "CUSTOMER_BLOCKED"
    CREDIT_FREEZE = "CREDIT_FREEZE"
    DEBIT_FREEZE = "DEBIT_FREEZE"
    REFUND_ONLY = "REFUND_ONLY"
    CLOSED = "CLOSED"
    EXPIRED = "EXPIRED"


class Actor(StrEnum):
    PARTNER = "PARTNER"
    SUPPORT = "SUPPORT"
    SYSTEM = "SYSTEM"


class TransactionKind(StrEnum):
    CREDIT = "CREDIT"
    DEBIT = "DEBIT"
    REFUND = "REFUND"


S = WalletStatus

PARTNER_TRANSITIONS: dict[WalletStatus, frozenset[WalletStatus]] = {
    S.ACTIVE: frozenset({S.LOCKED, S.BLOCKED, S.FRAUD, S.CUSTOMER_BLOCKED, S.CREDIT_FREEZE, S.DEBIT_FREEZE,
                         S.REFUND_ONLY, S.CLOSED}),
    S.LOCKED: frozenset({S.ACTIVE, S.BLOCKED, S.FRAUD, S.CLOSED}),
    S.CUSTOMER_BLOCKED: frozenset({S.ACTIVE, S.BLOCKED, S.FRAUD, S.CLOSED}),
    S.CREDIT_FREEZE: frozenset({S.ACTIVE, S.DEBIT_FREEZE, S.BLOCKED, S.FRAUD, S.CLOSED}),
    S.DEBIT_FREEZE: frozenset({S.ACTIVE, S.CREDIT_FREEZE, S.BLOCKED, S.FRAUD, S.CLOSED}),
    S.BLOCKED: frozenset(),
    S.FRAUD: frozenset(),
    S.REFUND_ONLY: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.EXPIRED: frozenset(),
}

# Support staff may do what partners may, plus these.
SUPPORT_ONLY_TRANSITIONS: dict[WalletStatus, frozenset[WalletStatus]] = {
    S.BLOCKED: frozenset({S.ACTIVE, S.FRAUD, S.CLOSED}),
    S.FRAUD: frozenset({S.ACTIVE, S.BLOCKED, S.CLOSED}),
    S.REFUND_ONLY: frozenset({S.BLOCKED, S.FRAUD}),
}

TERMINAL: frozenset[WalletStatus] = frozenset({S.CLOSED, S.EXPIRED})

# Releasing a FRAUD wallet (it may transact again) closes a fraud investigation: the move needs a written comment,
# the investigation's conclusion. Moving it on to BLOCKED or CLOSED keeps the money frozen and needs none.
COMMENT_REQUIRED_MOVES: frozenset[tuple[WalletStatus, WalletStatus]] = frozenset({(S.FRAUD, S.ACTIVE)})

TRANSACTIONS_ALLOWED: dict[WalletStatus, frozenset[TransactionKind]] = {
    S.ACTIVE: frozenset({TransactionKind.CREDIT, TransactionKind.DEBIT, TransactionKind.REFUND}),
    S.CREDIT_FREEZE: frozenset({TransactionKind.DEBIT}),
    S.DEBIT_FREEZE: frozenset({TransactionKind.CREDIT, TransactionKind.REFUND}),
    S.REFUND_ONLY: frozenset({TransactionKind.REFUND}),
}


def allowed_targets(current: str, actor: Actor | str) -> frozenset[WalletStatus]:
    """Every status `actor` may move a wallet in status `current` to."""
    current = WalletStatus(current)
    actor = Actor(actor)
    if current in TERMINAL:
        return frozenset()
    targets = set(PARTNER_TRANSITIONS[current])
    if actor in (Actor.SUPPORT, Actor.SYSTEM):
        targets |= SUPPORT_ONLY_TRANSITIONS.get(current, frozenset())
    if actor is Actor.SYSTEM:
        # EXPIRED is set only by the system (the daily sweep, when the card's expiry date has passed).
        targets.add(S.EXPIRED)
    return frozenset(targets)


def can_transition(current: str, target: str, actor: Actor | str) -> bool:
    return WalletStatus(target) in allowed_targets(current, actor)


def transaction_allowed(status: str, kind: TransactionKind | str) -> bool:
    """Whether a credit, debit or refund may post to a wallet in `status` (DESIGN.md table).

    A refund is a credit, so it is allowed wherever credits are, and also in REFUND_ONLY."""
    return TransactionKind(kind) in TRANSACTIONS_ALLOWED.get(WalletStatus(status), frozenset())


def is_support_only(current: str, target: str) -> bool:
    """Whether only support staff (or the system) may make this move: a partner asking for it must ask support."""
    return WalletStatus(target) in SUPPORT_ONLY_TRANSITIONS.get(WalletStatus(current), frozenset())


def support_only_sources(target: str) -> frozenset[WalletStatus]:
    """The statuses from which moving to `target` is a support-only move."""
    return frozenset(source for source, targets in SUPPORT_ONLY_TRANSITIONS.items() if WalletStatus(target) in targets)


def comment_required(current: str, target: str) -> bool:
    """Whether this move needs a written comment whatever its reason (releasing a FRAUD wallet)."""
    return (WalletStatus(current), WalletStatus(target)) in COMMENT_REQUIRED_MOVES
