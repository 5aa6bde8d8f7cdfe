"""The card (kit) status table: the one place that decides which card status changes are allowed, to whom, at which
API access level, and what each change is called in its events. The card-status API, the daily sweep (expiry,
dormancy), reissue and wallet closure all go through `wallets.services.card_status`, which asks this module.

Seed 000: KIT_STATUS_UPDATE tracks "activation, blocking, closure". A partner may activate a dormant card, lock and
unlock a card (temporary), block it (lost or stolen: only a reissue brings it back) and close it (final). The
platform itself expires cards, inactivates dormant ones, reissues them (the card becomes ACTIVE under a new number)
and closes them with their wallet."""

from dataclasses import dataclass
from enum import StrEnum

from subscriptions.models import TokenLevel
from wallets.models import Card

C = Card.Status


class CardAction(StrEnum):
    # The partner's (POST /cards/{cardId}/{action}).
    ACTIVATE = "activate"
    LOCK = "lock"
    UNLOCK = "unlock"
    BLOCK = "block"
    CLOSE = "close"
    # The platform's own.
    EXPIRE = "expire"
    INACTIVATE_DORMANT = "inactivate_dormant"
    REISSUE = "reissue"
    CLOSE_WITH_WALLET = "close_with_wallet"


@dataclass(frozen=True)
class CardMove:
    target: str
    sources: frozenset[str]
    # The events' `reason`: what a partner reads in KIT_STATUS_UPDATE / CARD_STATUS_CHANGED.
    reason: str
    # The partner API token level it takes; None: only the platform makes this move.
    level: int | None = None
    # The catalog's specific event beside KIT_STATUS_UPDATE and CARD_STATUS_CHANGED, if any.
    specific_event: str | None = None
    # The audit action recorded with it.
    audit_action: str = "card.status_changed"
    # Emitted even when the status stays the same (a reissued ACTIVE card: its previous number is now inactive).
    emits_unchanged: bool = False


_LIVE = frozenset({C.ACTIVE, C.INACTIVE})
_NOT_CLOSED = frozenset({C.ACTIVE, C.INACTIVE, C.LOCKED, C.BLOCKED, C.EXPIRED, C.REPLACED})

CARD_MOVES: dict[CardAction, CardMove] = {
    CardAction.ACTIVATE: CardMove(C.ACTIVE, frozenset({C.INACTIVE}), "ACTIVATED", TokenLevel.STANDARD,
                                  "CARD_ACTIVATED"),
    CardAction.LOCK: CardMove(C.LOCKED, frozenset({C.ACTIVE}), "LOCKED", TokenLevel.STANDARD),
    CardAction.UNLOCK: CardMove(C.ACTIVE, frozenset({C.LOCKED}), "UNLOCKED", TokenLevel.STANDARD),
    CardAction.BLOCK: CardMove(C.BLOCKED, frozenset({C.ACTIVE, C.INACTIVE, C.LOCKED}), "BLOCKED",
                               TokenLevel.STANDARD, "CARD_BLOCKED"),
    # Final, like a reissue: admin level.
    CardAction.CLOSE: CardMove(C.CLOSED, _NOT_CLOSED, "CLOSED", TokenLevel.ADMIN, "CARD_CLOSED"),
    CardAction.EXPIRE: CardMove(C.EXPIRED, frozenset({*_LIVE, C.LOCKED}), "EXPIRED", audit_action="card.expired"),
    CardAction.INACTIVATE_DORMANT: CardMove(C.INACTIVE, frozenset({C.ACTIVE}), "DORMANCY",
                                            audit_action="card.inactivated_for_dormancy"),
    CardAction.REISSUE: CardMove(C.ACTIVE, _NOT_CLOSED, "REISSUED", audit_action="", emits_unchanged=True),
    CardAction.CLOSE_WITH_WALLET: CardMove(C.CLOSED, _NOT_CLOSED, "WALLET_CLOSED", specific_event="CARD_CLOSED",
                                           audit_action="card.closed_with_wallet"),
}

PARTNER_ACTIONS: tuple[CardAction, ...] = tuple(a for a, m in CARD_MOVES.items() if m.level is not None)
# The statuses the daily sweep expires (a blocked, closed or replaced card is not expired).
EXPIRABLE_STATUSES: tuple[str, ...] = tuple(sorted(CARD_MOVES[CardAction.EXPIRE].sources))


def card_move_allowed(current: str, action: CardAction | str) -> bool:
    return current in CARD_MOVES[CardAction(action)].sources


def partner_actions_allowed(current: str) -> list[str]:
    """The partner actions open to a card in status `current`, in the table's order."""
    return [str(action) for action in PARTNER_ACTIONS if card_move_allowed(current, action)]
