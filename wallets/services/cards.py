"""Card state changes: the daily sweep's expiry and dormancy inactivation, and the partner's irreversible reissue.
Each card status change goes through `card_status.card_change_status`, which emits KIT_STATUS_UPDATE and
CARD_STATUS_CHANGED; the sweep emits its own KIT_EXPIRY_NOTIFICATION / KIT_INACTIVATION_NOTIFICATION beside them."""

import calendar
import contextlib
import datetime
import logging
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.logging import log_context
from config.partner_api.audit import audit_record
from notifications.outbox import publish_event
from subscriptions.models import AuditChannel
from wallets.card_state_machine import CardAction, card_move_allowed
from wallets.models import Card, CardReissue, StatusReason, Wallet
from wallets.services.card_status import CardTransitionNotAllowed, card_change_status
from wallets.services.event_data import _card_event_data
from wallets.services.wallet_status import wallet_change_status
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
    (already EXPIRED, CLOSED, BLOCKED, REPLACED) is left as it is."""
    with log_context(tenant=card.partner.tenant_id), transaction.atomic():
        # Lock the wallet before the card (the order every service uses): two cards of one wallet expiring at once
        # then serialize, and the second sees the first one's card already EXPIRED.
        wallet = Wallet.objects.select_for_update(of=("self",)).select_related("partner", "cardholder").get(
            pk=card.wallet_id
        )
        locked = Card.objects.select_for_update().get(pk=card.pk)
        if not card_move_allowed(locked.status, CardAction.EXPIRE):
            card.status = locked.status
            return
        card_change_status(card=locked, action=CardAction.EXPIRE, actor=Actor.SYSTEM, actor_name=SYSTEM_ACTOR_NAME)
        other_active = Card.objects.filter(wallet=wallet, status=Card.Status.ACTIVE).exclude(pk=locked.pk).exists()
        if not other_active and wallet.status not in TERMINAL:
            wallet_change_status(
                wallet=wallet,
                to_status=WalletStatus.EXPIRED,
                actor=Actor.SYSTEM,
                actor_name=SYSTEM_ACTOR_NAME,
                reason=StatusReason.CARD_EXPIRED,
                comment=f"Card {locked.kit_no} expired on {locked.expiry_date.isoformat()}.",
            )
        logger.info("Card %s expired (wallet now %s)", locked.kit_no, wallet.status)
    card.status = Card.Status.EXPIRED


def card_inactivate_for_dormancy(*, card: Card) -> None:
    """Mark an ACTIVE card INACTIVE for dormancy (KIT_STATUS_UPDATE, CARD_STATUS_CHANGED). Idempotent: a card in any
    other status is left as it is."""
    # Decided on the status read under the lock; `card.status` shows the outcome either way.
    with contextlib.suppress(CardTransitionNotAllowed):
        card_change_status(card=card, action=CardAction.INACTIVATE_DORMANT, actor=Actor.SYSTEM,
                           actor_name=SYSTEM_ACTOR_NAME)


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
