"""Card state changes: the daily sweep's expiry and dormancy inactivation, and the partner's irreversible reissue.
Each card status change goes through `card_status.card_change_status`, which emits KIT_STATUS_UPDATE and
CARD_STATUS_CHANGED; the sweep emits its own KIT_EXPIRY_NOTIFICATION / KIT_INACTIVATION_NOTIFICATION beside them."""

import calendar
import datetime
import logging
import secrets
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.logging import log_context
from config.partner_api.audit import audit_record
from notifications.outbox import publish_event
from subscriptions.models import AuditChannel
from wallets.card_state_machine import CardAction
from wallets.models import Card, CardReissue, StatusReason, Wallet
from wallets.services.card_status import (
    CardStatusChange,
    card_change_status,
    cards_change_status,
    cards_lock,
    locked_cards_change_status,
)
from wallets.services.event_data import _card_event_data
from wallets.services.wallet_status import wallets_change_status
from wallets.state_machine import TERMINAL, Actor, WalletStatus

logger = logging.getLogger(__name__)

SYSTEM_ACTOR_NAME = "system"


# Who reissued, as the card-status events name it, by the audit channel of the request.
_REISSUE_ACTOR = {AuditChannel.PARTNER_API: Actor.PARTNER, AuditChannel.ADMIN: Actor.SUPPORT}


class CardNotReissuable(Exception):
    """The card (or its wallet) is in a state that does not allow a reissue."""


# ---------------------------------------------------------------------------------------------------------------
# Card state changes made by the daily sweep (which emits KIT_EXPIRY_NOTIFICATION / KIT_INACTIVATION_NOTIFICATION).


def card_expire(*, card: Card) -> None:
    """Mark the card EXPIRED (KIT_STATUS_UPDATE, CARD_STATUS_CHANGED); when the wallet has no other ACTIVE card, move
    the wallet to EXPIRED as the system (reason CARD_EXPIRED). Idempotent: a card the table does not expire
    (already EXPIRED, CLOSED, BLOCKED, REPLACED) is left as it is. `cards_expire` with one card."""
    with log_context(tenant=card.partner.tenant_id):
        cards_expire(cards=[card])


def cards_expire(*, cards: Sequence[Card]) -> list[CardStatusChange]:
    """`card_expire` for many cards in one transaction and a constant number of statements; returns the changes.

    Locks the wallets, then the cards, in id order (`cards_lock`); the card status table decides per card on the
    status read under the lock (the others are left as they are). A wallet moves to EXPIRED (through
    `wallets_change_status`: transition, WALLET_STATUS_CHANGED, audit) when none of its cards is ACTIVE afterwards
    and it is not CLOSED or EXPIRED already. Its transition names the card after whose expiry, taking the cards in
    id order one at a time, no ACTIVE card was left: the same record as expiring them one by one."""
    with transaction.atomic():
        locked = cards_lock(cards=cards)
        changes = locked_cards_change_status(locked=locked, action=CardAction.EXPIRE, actor=Actor.SYSTEM,
                                             actor_name=SYSTEM_ACTOR_NAME).changes
        # Per wallet, the card whose expiry left no ACTIVE card: the last one that was ACTIVE, else the first.
        last_card: dict[int, Card] = {}
        for change in changes:
            if change.card.wallet_id not in last_card or change.previous_status == Card.Status.ACTIVE:
                last_card[change.card.wallet_id] = change.card
        still_active = set(
            Card.objects.filter(wallet_id__in=sorted(last_card), status=Card.Status.ACTIVE)
            .values_list("wallet_id", flat=True)
        ) if last_card else set()
        wallet_changes = [
            (card.wallet, f"Card {card.kit_no} expired on {card.expiry_date.isoformat()}.")
            for wallet_id, card in sorted(last_card.items())
            if wallet_id not in still_active and card.wallet.status not in TERMINAL
        ]
        if wallet_changes:
            wallets_change_status(changes=wallet_changes, to_status=WalletStatus.EXPIRED, actor=Actor.SYSTEM,
                                  actor_name=SYSTEM_ACTOR_NAME, reason=StatusReason.CARD_EXPIRED)
    statuses = {card.pk: card.status for card in locked}
    for card in cards:
        card.status = statuses.get(card.pk, card.status)
    for change in changes:
        logger.info("Card %s expired (wallet now %s)", change.card.kit_no, change.card.wallet.status)
    return changes


def card_inactivate_for_dormancy(*, card: Card) -> None:
    """Mark an ACTIVE card INACTIVE for dormancy (KIT_STATUS_UPDATE, CARD_STATUS_CHANGED). Idempotent: a card in any
    other status is left as it is. `cards_inactivate_for_dormancy` with one card."""
    with log_context(tenant=card.partner.tenant_id):
        cards_inactivate_for_dormancy(cards=[card])


def cards_inactivate_for_dormancy(*, cards: Sequence[Card]) -> list[CardStatusChange]:
    """`card_inactivate_for_dormancy` for many cards in one transaction and a constant number of statements (the
    status read under the lock decides; other cards are left as they are); returns the changes."""
    return cards_change_status(cards=cards, action=CardAction.INACTIVATE_DORMANT, actor=Actor.SYSTEM,
                               actor_name=SYSTEM_ACTOR_NAME).changes


# ---------------------------------------------------------------------------------------------------------------
# Reissue.


def _new_last4(*, previous: str) -> str:
    # The issuer generates the new number; only its last four digits reach this service. Never repeat the old four,
    # so cardholder and support can tell the two numbers apart.
    while True:
        candidate = f"{secrets.randbelow(10_000):04d}"
        if candidate != previous:
            return candidate


def _new_expiry_date(*, today: datetime.date) -> datetime.date:
    """The last day of the month `WALLETS_CARD_VALIDITY_MONTHS` months from today (cards expire at month end)."""
    months = today.month - 1 + settings.WALLETS_CARD_VALIDITY_MONTHS
    year, month = today.year + months // 12, months % 12 + 1
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def card_reissue(
    *,
    card: Card,
    actor_name: str,
    reason: str = CardReissue.Reason.OTHER,
    channel: str = AuditChannel.PARTNER_API,
) -> CardReissue:
    """Replace the card's number and expiry (same cardId, same wallet, balance and transactions untouched).

    Irreversible: the previous number (recorded in the returned CardReissue) is inactive from now on. The card
    becomes ACTIVE with its activity clock reset. Emits CARD_RENEWAL and CARD_REISSUED. Raises CardNotReissuable for
    a CLOSED card or a wallet in a terminal status."""
    with log_context(tenant=card.partner.tenant_id), transaction.atomic():
        wallet = Wallet.objects.select_for_update(of=("self",)).select_related("partner", "cardholder").get(
            pk=card.wallet_id
        )
        locked = Card.objects.select_for_update().get(pk=card.pk)
        locked.wallet = wallet
        if locked.status == Card.Status.CLOSED:
            raise CardNotReissuable("The card is CLOSED and cannot be reissued.")
        if wallet.status in TERMINAL:
            raise CardNotReissuable(f"The card's wallet is {wallet.status} and cannot get a new card.")
        now = timezone.now()
        reissue = CardReissue.objects.create(
            card=locked,
            partner=wallet.partner,
            previous_last4=locked.last4,
            previous_expiry_date=locked.expiry_date,
            previous_status=locked.status,
            new_last4=_new_last4(previous=locked.last4),
            new_expiry_date=_new_expiry_date(today=timezone.localdate(now)),
            reason=reason,
            actor=actor_name[:200],
            created_at=now,
        )
        locked.last4 = reissue.new_last4
        locked.expiry_date = reissue.new_expiry_date
        # A new card restarts the dormancy clock; otherwise a dormant card would be inactivated again at once.
        locked.last_activity_at = now
        locked.save(update_fields=["last4", "expiry_date", "last_activity_at", "updated_at"])
        # ACTIVE under the new number; KIT_STATUS_UPDATE / CARD_STATUS_CHANGED tell that the previous one is not.
        card_change_status(
            card=locked, action=CardAction.REISSUE, actor=_REISSUE_ACTOR.get(channel, Actor.SYSTEM),
            actor_name=actor_name, extra_data={"previousLast4": reissue.previous_last4,
                                               "expiryDate": locked.expiry_date.isoformat()},
        )

        data = {
            **_card_event_data(locked),
            "expiryDate": locked.expiry_date.isoformat(),
            "previousLast4": reissue.previous_last4,
            "reason": reissue.reason,
        }
        entity_id = str(locked.card_id)
        publish_event(partner=wallet.partner, event_name="CARD_RENEWAL", data=data, entity_id=entity_id)
        publish_event(partner=wallet.partner, event_name="CARD_REISSUED", data=data, entity_id=entity_id)
        audit_record(
            channel=channel,
            actor=actor_name,
            action="card.reissued",
            object_type="card",
            object_id=locked.card_id,
            partner=wallet.partner,
            before={"last4": reissue.previous_last4, "expiryDate": reissue.previous_expiry_date.isoformat(),
                    "status": reissue.previous_status},
            after={"last4": locked.last4, "expiryDate": locked.expiry_date.isoformat(), "status": locked.status,
                   "reason": reissue.reason},
        )
        logger.info("Card %s reissued: ****%s -> ****%s", locked.kit_no, reissue.previous_last4, locked.last4)
    card.refresh_from_db()
    return reissue
