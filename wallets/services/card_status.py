"""Card (kit) status changes: `card_change_status` is the one function that decides a card status change (asking
`wallets.card_state_machine`) and emits it. The card-status API, the sweep's expiry and dormancy (through
`wallets.services.cards`), reissue and wallet closure all call it, so every change the platform makes reaches
partners the same way: KIT_STATUS_UPDATE and CARD_STATUS_CHANGED with the old and new status (plus CARD_ACTIVATED,
CARD_BLOCKED or CARD_CLOSED where the catalog has one), through the outbox, in the change's own transaction."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from config.logging import log_context
from config.partner_api.audit import audit_entry, audit_record_many
from notifications.models import OutboxMessage
from notifications.outbox import outbox_event, publish_events
from subscriptions.models import AuditChannel
from wallets.card_state_machine import CARD_MOVES, CardAction, CardMove, card_move_allowed, partner_actions_allowed
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


@dataclass
class CardStatusChanges:
    """The outcome of a bulk change: the cards changed, and the locked cards whose status refused the action."""

    changes: list[CardStatusChange] = field(default_factory=list)
    refused: list[Card] = field(default_factory=list)


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
    reissue's previous last four digits). `card` is updated in place. `cards_change_status` with one card."""
    with log_context(tenant=card.partner.tenant_id):
        result = cards_change_status(cards=[card], action=action, actor=actor, actor_name=actor_name,
                                     comment=comment, extra_data=extra_data)
    if result.refused:
        raise CardTransitionNotAllowed(result.refused[0], CardAction(action))
    return result.changes[0]


def cards_change_status(
    *,
    cards: Sequence[Card],
    action: CardAction | str,
    actor: Actor,
    actor_name: str,
    comment: str = "",
    extra_data: dict | None = None,
) -> CardStatusChanges:
    """Apply `action` to each of `cards` whose status allows it, in a constant number of statements: lock the
    wallets, then the cards (`cards_lock`), then `locked_cards_change_status`. A refused card is left as it is and
    listed in `refused`. Each card's `status` is updated in place."""
    with transaction.atomic():
        locked = cards_lock(cards=cards)
        result = locked_cards_change_status(locked=locked, action=action, actor=actor, actor_name=actor_name,
                                            comment=comment, extra_data=extra_data)
    statuses = {card.pk: card.status for card in locked}
    for card in cards:
        card.status = statuses.get(card.pk, card.status)
    return result


def cards_lock(*, cards: Sequence[Card]) -> list[Card]:
    """Lock the cards' wallets, then the cards, each in id order (the order every wallets service takes: wallet
    before card, and by id between rows of one table, so two bulk changes cannot deadlock), waiting for locks held
    by others. Returns the cards as read under the lock, by id, each with its locked wallet (partner and
    cardholder loaded)."""
    wallets = {
        wallet.pk: wallet
        for wallet in Wallet.objects.select_for_update(of=("self",))
        .select_related("partner", "cardholder")
        .filter(pk__in=sorted({card.wallet_id for card in cards}))
        .order_by("pk")
    }
    locked = list(Card.objects.select_for_update().filter(pk__in=sorted({card.pk for card in cards})).order_by("pk"))
    for card in locked:
        card.wallet = wallets[card.wallet_id]
    return locked


def locked_cards_change_status(
    *,
    locked: Sequence[Card],
    action: CardAction | str,
    actor: Actor,
    actor_name: str,
    comment: str = "",
    extra_data: dict | None = None,
) -> CardStatusChanges:
    """The change itself, for cards the caller has locked with `cards_lock` in its transaction: the card status
    table decides per card, then one UPDATE of the statuses, one INSERT of the events (KIT_STATUS_UPDATE,
    CARD_STATUS_CHANGED and the action's specific event, per card) and one of the audit entries."""
    action = CardAction(action)
    move = CARD_MOVES[action]
    channel = _CHANNEL[Actor(actor)]
    result = CardStatusChanges()
    for card in locked:
        if card_move_allowed(card.status, action):
            result.changes.append(CardStatusChange(card=card, previous_status=str(card.status),
                                                   new_status=str(move.target)))
        else:
            result.refused.append(card)
    moved = [change.card for change in result.changes if change.previous_status != move.target]
    if moved:
        now = timezone.now()
        Card.objects.filter(pk__in=[card.pk for card in moved]).update(status=move.target, updated_at=now)
        for card in moved:
            card.status, card.updated_at = move.target, now
    messages, entries = [], []
    for change in result.changes:
        card, previous = change.card, change.previous_status
        if previous != move.target or move.emits_unchanged:
            rows = _events(card, move, previous=previous, channel=channel, comment=comment,
                           extra_data=extra_data or {})
            change.event_ids = [row.event_id for row in rows]
            messages.extend(rows)
        if move.audit_action:
            entries.append(audit_entry(
                channel=_AUDIT_CHANNEL[channel],
                actor=actor_name,
                action=move.audit_action,
                object_type="card",
                object_id=card.card_id,
                partner=card.wallet.partner,
                before={"status": previous},
                after={"status": card.status, "action": str(action), "comment": comment,
                       **({"expiryDate": card.expiry_date.isoformat()} if action is CardAction.EXPIRE else {}),
                       **({"lastActivityAt": card.last_activity_at.isoformat()}
                          if action is CardAction.INACTIVATE_DORMANT else {})},
            ))
        logger.info("Card %s %s: %s -> %s (%s)", card.kit_no, action, previous, card.status, channel)
    publish_events(messages=messages)
    audit_record_many(entries)
    return result


def _events(card: Card, move: CardMove, *, previous: str, channel: str, comment: str,
            extra_data: dict) -> list[OutboxMessage]:
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
    return [outbox_event(partner=card.wallet.partner, event_name=name, data=data, entity_id=entity_id)
            for name in names]
