"""Card (kit) status changes: `card_change_status` is the one function that decides a card status change (asking
`wallets.card_state_machine`) and emits it. The card-status API, the sweep's expiry and dormancy (through
`wallets.services.cards`), reissue and wallet closure all call it, so every change the platform makes reaches
partners the same way: KIT_STATUS_UPDATE and CARD_STATUS_CHANGED with the old and new status (plus CARD_ACTIVATED,
CARD_BLOCKED or CARD_CLOSED where the catalog has one), through the outbox, in the change's own transaction."""

import logging
from dataclasses import dataclass, field

from django.db import transaction

from config.logging import log_context
from config.partner_api.audit import audit_record
from notifications.outbox import publish_event
from subscriptions.models import AuditChannel
from wallets.card_state_machine import CARD_MOVES, CardAction, card_move_allowed, partner_actions_allowed
from wallets.models import Card, TransitionChannel, Wallet
from wallets.services.event_data import _card_event_data
from wallets.state_machine import Actor

logger = logging.getLogger(__name__)

STATUS_EVENTS = ("KIT_STATUS_UPDATE", "CARD_STATUS_CHANGED")
_CHANNEL = {Actor.PARTNER: TransitionChannel.PARTNER_API, Actor.SUPPORT: TransitionChannel.SUPPORT,
            Actor.SYSTEM: TransitionChannel.SYSTEM}
_AUDIT_CHANNEL = {TransitionChannel.PARTNER_API: AuditChannel.PARTNER_API,
                  TransitionChannel.SUPPORT: AuditChannel.ADMIN, TransitionChannel.SYSTEM: AuditChannel.SYSTEM}


class CardTransitionNotAllowed(Exception):
    """The card's status does not allow this action; `allowed_actions` lists the partner actions that it does."""

    def __init__(self, card: Card, action: CardAction):
        self.current = str(card.status)
        self.action = str(action)
        self.allowed_actions = partner_actions_allowed(card.status)
        super().__init__(
            f"A card in status {self.current} cannot be {_PAST[action]}; allowed: "
            f"{', '.join(self.allowed_actions) or 'none'}."
        )


_PAST = {
    CardAction.ACTIVATE: "activated", CardAction.LOCK: "locked", CardAction.UNLOCK: "unlocked",
    CardAction.BLOCK: "blocked", CardAction.CLOSE: "closed", CardAction.EXPIRE: "expired",
    CardAction.INACTIVATE_DORMANT: "inactivated for dormancy", CardAction.REISSUE: "reissued",
    CardAction.CLOSE_WITH_WALLET: "closed with its wallet",
}


@dataclass
class CardStatusChange:
    card: Card
    previous_status: str
    new_status: str
    event_ids: list[str] = field(default_factory=list)


def card_change_status(
    *,
    card: Card,
    action: CardAction | str,
    actor: Actor,
    actor_name: str,
    comment: str = "",
    extra_data: dict | None = None,
) -> CardStatusChange:
    """Apply `action` to `card` if its current status allows it (read under the row lock), and emit the change.

    Locks the wallet, then the card (every wallets service's order), so a caller already holding them may call it
    inside its own transaction. Raises CardTransitionNotAllowed. `extra_data` is added to the events' data (a
    reissue's previous last four digits). `card` is updated in place."""
    action = CardAction(action)
    move = CARD_MOVES[action]
    channel = _CHANNEL[Actor(actor)]
    with log_context(tenant=card.partner.tenant_id), transaction.atomic():
        wallet = Wallet.objects.select_for_update(of=("self",)).select_related("partner", "cardholder").get(
            pk=card.wallet_id
        )
        locked = Card.objects.select_for_update().get(pk=card.pk)
        locked.wallet = wallet
        if not card_move_allowed(locked.status, action):
            card.status = locked.status
            raise CardTransitionNotAllowed(locked, action)
        previous = str(locked.status)
        change = CardStatusChange(card=locked, previous_status=previous, new_status=str(move.target))
        if previous != move.target:
            locked.status = move.target
            locked.save(update_fields=["status", "updated_at"])
        if previous != move.target or move.emits_unchanged:
            change.event_ids = _emit(locked, move, previous=previous, channel=channel, comment=comment,
                                     extra_data=extra_data or {})
        if move.audit_action:
            audit_record(
                channel=_AUDIT_CHANNEL[channel],
                actor=actor_name,
                action=move.audit_action,
                object_type="card",
                object_id=locked.card_id,
                partner=wallet.partner,
                before={"status": previous},
                after={"status": locked.status, "action": str(action), "comment": comment,
                       **({"expiryDate": locked.expiry_date.isoformat()} if action is CardAction.EXPIRE else {}),
                       **({"lastActivityAt": locked.last_activity_at.isoformat()}
                          if action is CardAction.INACTIVATE_DORMANT else {})},
            )
        logger.info("Card %s %s: %s -> %s (%s)", locked.kit_no, action, previous, locked.status, channel)
    card.status = locked.status
    return change


def _emit(card: Card, move, *, previous: str, channel: str, comment: str, extra_data: dict) -> list[str]:
    data = {
        **_card_event_data(card),
        "previousStatus": previous,
        "newStatus": str(move.target),
        "reason": move.reason,
        "channel": channel,
        "comment": comment,
        **extra_data,
    }
    names = [*STATUS_EVENTS, *([move.specific_event] if move.specific_event else [])]
    entity_id = str(card.card_id)
    return [publish_event(partner=card.wallet.partner, event_name=name, data=data, entity_id=entity_id).event_id
            for name in names]
