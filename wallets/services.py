"""Write-side services of wallets and cards.

Every status change goes through `wallet_change_status` (the partner API, the support console and the daily sweep
alike), which asks `wallets.state_machine` — the one place the transition table lives — and records, emits and audits
in the same transaction as the change. Events leave only through `notifications.outbox.publish_event`."""

import calendar
import datetime
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.logging import log_context
from config.partner_api.audit import audit_record
from notifications.outbox import publish_event
from subscriptions.models import AuditChannel, Partner
from wallets.models import (
    COMMENT_REQUIRED_REASONS,
    SYSTEM_ONLY_REASONS,
    Card,
    Cardholder,
    CardReissue,
    CardTransaction,
    Product,
    StatusChangeIdempotencyKey,
    StatusReason,
    TransitionChannel,
    Wallet,
    WalletStatusTransition,
)
from wallets.selectors import card_transaction_get
from wallets.state_machine import (
    TERMINAL,
    Actor,
    TransactionKind,
    WalletStatus,
    allowed_targets,
    can_transition,
    transaction_allowed,
)

logger = logging.getLogger(__name__)

SYSTEM_ACTOR_NAME = "system"

# The catalog's specific event for a new status, emitted beside WALLET_STATUS_CHANGED.
SPECIFIC_STATUS_EVENTS: dict[WalletStatus, str] = {
    WalletStatus.LOCKED: "WALLET_LOCKED",
    WalletStatus.BLOCKED: "WALLET_BLOCKED",
    WalletStatus.FRAUD: "WALLET_FRAUD_SUSPENDED",
    WalletStatus.CLOSED: "WALLET_CLOSED",
}

_TRANSITION_CHANNEL: dict[Actor, str] = {
    Actor.PARTNER: TransitionChannel.PARTNER_API,
    Actor.SUPPORT: TransitionChannel.SUPPORT,
    Actor.SYSTEM: TransitionChannel.SYSTEM,
}
_AUDIT_CHANNEL: dict[Actor, str] = {
    Actor.PARTNER: AuditChannel.PARTNER_API,
    Actor.SUPPORT: AuditChannel.ADMIN,
    Actor.SYSTEM: AuditChannel.SYSTEM,
}


class TransitionNotAllowed(Exception):
    """The state machine refuses this status change for this actor; `allowed_targets` lists what it would allow."""

    def __init__(self, current: str, target: str, allowed_targets: frozenset[str] | list[str]):
        self.current = str(current)
        self.target = str(target)
        self.allowed_targets = sorted(str(t) for t in allowed_targets)
        super().__init__(
            f"A wallet in status {self.current} cannot be moved to {self.target}; "
            f"allowed: {', '.join(self.allowed_targets) or 'none'}."
        )


class IdempotencyKeyReused(Exception):
    """The idempotency key was already used for a different request."""


class CardNotReissuable(Exception):
    """The card (or its wallet) is in a state that does not allow a reissue."""


# ---------------------------------------------------------------------------------------------------------------
# Event payloads: identifiers and names only, never a card number (the card carries only its last four digits).


def _wallet_event_data(wallet: Wallet) -> dict:
    return {
        "walletId": str(wallet.wallet_id),
        "customerId": wallet.cardholder.external_id,
        "cardholderName": wallet.cardholder.name,
    }


def _card_event_data(card: Card) -> dict:
    return {
        "kitNo": card.kit_no,
        "cardId": str(card.card_id),
        "last4": card.last4,
        "walletId": str(card.wallet.wallet_id),
        "customerId": card.wallet.cardholder.external_id,
        "cardholderName": card.wallet.cardholder.name,
    }


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


# ---------------------------------------------------------------------------------------------------------------
# Partner-API creation of products, cardholders, wallets and cards.


@transaction.atomic
def product_create(
    *,
    partner: Partner,
    code: str,
    name: str,
    actor_name: str,
    channel: str = AuditChannel.PARTNER_API,
    dormancy_days: int = 365,
    currency: str = "INR",
    default_locale: str = "en",
    channel_fallback_order: list[str] | None = None,
) -> Product:
    """Create a card program of `partner`; its code is unique per partner."""
    if Product.objects.filter(partner=partner, code=code).exists():
        raise ValidationError({"code": ["A product with this code already exists."]})
    product = Product.objects.create(
        partner=partner,
        code=code,
        name=name,
        dormancy_days=dormancy_days,
        currency=currency,
        default_locale=default_locale,
        channel_fallback_order=channel_fallback_order or [],
    )
    audit_record(
        channel=channel,
        actor=actor_name,
        action="product.created",
        object_type="product",
        object_id=product.code,
        partner=partner,
        after={"code": code, "name": name, "dormancyDays": dormancy_days, "currency": currency},
    )
    return product


@transaction.atomic
def cardholder_create(
    *,
    partner: Partner,
    external_id: str,
    name: str,
    actor_name: str,
    channel: str = AuditChannel.PARTNER_API,
    phone: str = "",
    email: str = "",
    push_token: str = "",
    locale: str = "en",
    timezone_name: str = "UTC",
    channel_preferences: dict[str, bool] | None = None,
) -> Cardholder:
    """Register a cardholder of `partner` (customerId = `external_id`, unique per partner); emits
    CUSTOMER_REGISTERED."""
    if Cardholder.objects.filter(partner=partner, external_id=external_id).exists():
        raise ValidationError({"customerId": ["A cardholder with this customerId already exists."]})
    cardholder = Cardholder.objects.create(
        partner=partner,
        external_id=external_id,
        name=name,
        phone=phone,
        email=email,
        push_token=push_token,
        locale=locale,
        timezone=timezone_name,
        channel_preferences=channel_preferences or {},
    )
    publish_event(
        partner=partner,
        event_name="CUSTOMER_REGISTERED",
        data={"customerId": external_id, "cardholderName": name},
        entity_id=f"customer:{external_id}",
    )
    # The audit names the contact channels present, not the contact data itself.
    audit_record(
        channel=channel,
        actor=actor_name,
        action="cardholder.created",
        object_type="cardholder",
        object_id=external_id,
        partner=partner,
        after={"customerId": external_id, "hasPhone": bool(phone), "hasEmail": bool(email),
               "hasPushToken": bool(push_token), "locale": locale, "timezone": timezone_name},
    )
    return cardholder


@transaction.atomic
def wallet_create(
    *,
    partner: Partner,
    cardholder: Cardholder,
    product: Product,
    actor_name: str,
    channel: str = AuditChannel.PARTNER_API,
    currency: str | None = None,
) -> Wallet:
    """Open an ACTIVE wallet with a zero balance for a cardholder on a product (both of `partner`)."""
    if cardholder.partner_id != partner.pk or product.partner_id != partner.pk:
        # Callers resolve both through tenant-filtered selectors; this guards against a future caller that does not.
        raise ValidationError("The cardholder and the product must belong to the partner.")
    wallet = Wallet.objects.create(
        partner=partner,
        cardholder=cardholder,
        product=product,
        currency=currency or product.currency,
        status=WalletStatus.ACTIVE,
    )
    audit_record(
        channel=channel,
        actor=actor_name,
        action="wallet.created",
        object_type="wallet",
        object_id=wallet.wallet_id,
        partner=partner,
        after={"customerId": cardholder.external_id, "productCode": product.code, "currency": wallet.currency,
               "status": wallet.status},
    )
    return wallet


@transaction.atomic
def card_create(
    *,
    partner: Partner,
    wallet: Wallet,
    kit_no: str,
    last4: str,
    expiry_date: datetime.date,
    actor_name: str,
    channel: str = AuditChannel.PARTNER_API,
) -> Card:
    """Issue a card (kit) on a wallet. Only the last four digits of its number are ever stored; emits CARD_ISSUED."""
    if wallet.partner_id != partner.pk:
        raise ValidationError({"walletId": ["No such wallet."]})
    if wallet.status in TERMINAL:
        raise ValidationError({"walletId": [f"The wallet is {wallet.status}; no card can be issued on it."]})
    if Card.objects.filter(partner=partner, kit_no=kit_no).exists():
        raise ValidationError({"kitNo": ["A card with this kitNo already exists."]})
    card = Card.objects.create(
        partner=partner, wallet=wallet, kit_no=kit_no, last4=last4, expiry_date=expiry_date, status=Card.Status.ACTIVE
    )
    publish_event(
        partner=partner, event_name="CARD_ISSUED", data=_card_event_data(card), entity_id=str(card.card_id)
    )
    audit_record(
        channel=channel,
        actor=actor_name,
        action="card.created",
        object_type="card",
        object_id=card.card_id,
        partner=partner,
        after={"kitNo": kit_no, "last4": last4, "expiryDate": expiry_date.isoformat(),
               "walletId": str(wallet.wallet_id)},
    )
    return card


# ---------------------------------------------------------------------------------------------------------------
# Wallet status.


def _validate_status_change(*, to_status: str, reason: str, comment: str, actor: Actor) -> None:
    errors: dict[str, list[str]] = {}
    if to_status not in {status.value for status in WalletStatus}:
        errors["status"] = [f"Unknown status {to_status!r}."]
    if reason not in StatusReason.values:
        errors["reason"] = [f"Unknown reason code {reason!r}; see the documented list."]
    elif reason in SYSTEM_ONLY_REASONS and actor is not Actor.SYSTEM:
        errors["reason"] = [f"The reason {reason} is set by the platform only."]
    elif reason in COMMENT_REQUIRED_REASONS and not comment.strip():
        errors["comment"] = [f"A comment is required with the reason {reason}."]
    if errors:
        raise ValidationError(errors)


def _status_request_fingerprint(*, wallet: Wallet, to_status: str, reason: str, comment: str) -> str:
    body = {"walletId": str(wallet.wallet_id), "status": str(to_status), "reason": reason, "comment": comment}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def wallet_change_status(
    *,
    wallet: Wallet,
    to_status: str,
    actor: Actor,
    actor_name: str,
    reason: str,
    comment: str = "",
    channel: str | None = None,
    idempotency_key: str | None = None,
) -> WalletStatusTransition:
    """Move `wallet` to `to_status` on behalf of `actor`, if the state machine allows it.

    Locks the wallet row and decides on the status read under the lock, so concurrent changes serialize and the
    later one is judged against the earlier one's result. Writes the immutable transition, emits
    WALLET_STATUS_CHANGED (plus WALLET_LOCKED/BLOCKED/FRAUD_SUSPENDED/CLOSED where the catalog has one) and an audit
    entry, all in one transaction. With `idempotency_key`, a repeat of the same request returns the first transition
    and a different request with the key raises IdempotencyKeyReused.

    Raises TransitionNotAllowed (with the allowed targets) or ValidationError (unknown status or reason, a
    system-only reason from another actor, OTHER without a comment). `wallet.status` is refreshed on return."""
    actor = Actor(actor)
    comment = comment or ""
    _validate_status_change(to_status=to_status, reason=reason, comment=comment, actor=actor)
    to_status = WalletStatus(to_status)
    channel = channel or _TRANSITION_CHANNEL[actor]
    if channel not in TransitionChannel.values:
        raise ValueError(f"Unknown transition channel {channel!r}")

    with log_context(tenant=wallet.partner.tenant_id, wallet_id=str(wallet.wallet_id)), transaction.atomic():
        # of=("self",): lock only the wallet row, not the partner/cardholder rows joined in.
        locked = (
            Wallet.objects.select_for_update(of=("self",))
            .select_related("partner", "cardholder")
            .get(pk=wallet.pk)
        )
        fingerprint = ""
        if idempotency_key:
            fingerprint = _status_request_fingerprint(
                wallet=locked, to_status=to_status, reason=reason, comment=comment
            )
            previous = (
                StatusChangeIdempotencyKey.objects.select_related("transition")
                .filter(partner=locked.partner, key=idempotency_key)
                .first()
            )
            if previous is not None:
                if previous.fingerprint != fingerprint:
                    raise IdempotencyKeyReused(
                        "This Idempotency-Key was already used with a different request body or wallet."
                    )
                logger.info("Status change replayed for idempotency key")
                wallet.status = locked.status
                return previous.transition

        current = WalletStatus(locked.status)
        if not can_transition(current, to_status, actor):
            raise TransitionNotAllowed(current, to_status, allowed_targets(current, actor))

        locked.status = to_status
        locked.save(update_fields=["status", "updated_at"])
        data = {
            **_wallet_event_data(locked),
            "previousStatus": current.value,
            "newStatus": to_status.value,
            "reason": reason,
            "comment": comment,
            "channel": channel,
        }
        entity_id = str(locked.wallet_id)
        outbox = publish_event(
            partner=locked.partner, event_name="WALLET_STATUS_CHANGED", data=data, entity_id=entity_id
        )
        transition = WalletStatusTransition.objects.create(
            wallet=locked,
            from_status=current,
            to_status=to_status,
            reason=reason,
            comment=comment,
            actor=actor_name[:200],
            channel=channel,
            event_id=outbox.event_id,
        )
        specific = SPECIFIC_STATUS_EVENTS.get(to_status)
        if specific:
            publish_event(partner=locked.partner, event_name=specific, data=data, entity_id=entity_id)
        audit_record(
            channel=_AUDIT_CHANNEL[actor],
            actor=actor_name,
            action="wallet.status_changed",
            object_type="wallet",
            object_id=locked.wallet_id,
            partner=locked.partner,
            before={"status": current.value},
            after={"status": to_status.value, "reason": reason, "comment": comment, "channel": channel},
        )
        if idempotency_key:
            try:
                # A savepoint: the same key racing on another wallet loses here, and its whole change rolls back.
                with transaction.atomic():
                    StatusChangeIdempotencyKey.objects.create(
                        partner=locked.partner, key=idempotency_key, fingerprint=fingerprint, transition=transition
                    )
            except IntegrityError:
                raise IdempotencyKeyReused("This Idempotency-Key is being used by another request.") from None
        logger.info(
            "Wallet status changed %s -> %s by %s (%s, reason %s)", current, to_status, actor, channel, reason
        )

    wallet.status = locked.status
    return transition


# ---------------------------------------------------------------------------------------------------------------
# Card state changes made by the daily sweep (it emits the KIT_* events itself).


def card_expire(*, card: Card) -> None:
    """Mark the card EXPIRED; when the wallet has no other ACTIVE card, move the wallet to EXPIRED as the system
    (reason CARD_EXPIRED). Idempotent: an EXPIRED (or CLOSED) card is left as it is. Emits no KIT_* event."""
    with log_context(tenant=card.partner.tenant_id), transaction.atomic():
        # Lock the wallet before the card (the order every service uses): two cards of one wallet expiring at once
        # then serialize, and the second sees the first one's card already EXPIRED.
        wallet = Wallet.objects.select_for_update(of=("self",)).select_related("partner", "cardholder").get(
            pk=card.wallet_id
        )
        locked = Card.objects.select_for_update().get(pk=card.pk)
        if locked.status in (Card.Status.EXPIRED, Card.Status.CLOSED):
            card.status = locked.status
            return
        previous = locked.status
        locked.status = Card.Status.EXPIRED
        locked.save(update_fields=["status", "updated_at"])
        audit_record(
            channel=AuditChannel.SYSTEM,
            actor=SYSTEM_ACTOR_NAME,
            action="card.expired",
            object_type="card",
            object_id=locked.card_id,
            partner=wallet.partner,
            before={"status": previous},
            after={"status": locked.status, "expiryDate": locked.expiry_date.isoformat()},
        )
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
    """Mark an ACTIVE card INACTIVE for dormancy. Idempotent: a card in any other status is left as it is.
    Emits no KIT_* event (the sweep does)."""
    with log_context(tenant=card.partner.tenant_id), transaction.atomic():
        locked = Card.objects.select_for_update().get(pk=card.pk)
        if locked.status != Card.Status.ACTIVE:
            card.status = locked.status
            return
        locked.status = Card.Status.INACTIVE
        locked.save(update_fields=["status", "updated_at"])
        audit_record(
            channel=AuditChannel.SYSTEM,
            actor=SYSTEM_ACTOR_NAME,
            action="card.inactivated_for_dormancy",
            object_type="card",
            object_id=locked.card_id,
            partner=card.partner,
            before={"status": Card.Status.ACTIVE},
            after={"status": Card.Status.INACTIVE, "lastActivityAt": locked.last_activity_at.isoformat()},
        )
        logger.info("Card %s inactivated for dormancy", locked.kit_no)
    card.status = Card.Status.INACTIVE


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
        locked.status = Card.Status.ACTIVE
        # A new card restarts the dormancy clock; otherwise a dormant card would be inactivated again at once.
        locked.last_activity_at = now
        locked.save(update_fields=["last4", "expiry_date", "status", "last_activity_at", "updated_at"])

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


# ---------------------------------------------------------------------------------------------------------------
# Sandbox transaction simulation.

T = CardTransaction.Type

# Which policy question (DESIGN.md "transactions allowed") each simulated type asks. A reversal returns held money
# to the cardholder, so it is treated like a refund credit.
TRANSACTION_KINDS: dict[str, TransactionKind] = {
    T.LOAD: TransactionKind.CREDIT,
    T.DEPOSIT: TransactionKind.CREDIT,
    T.AUTHORIZATION: TransactionKind.DEBIT,
    T.CLEARING: TransactionKind.DEBIT,
    T.REFUND: TransactionKind.REFUND,
    T.REVERSAL: TransactionKind.REFUND,
    T.THREE_DS_CHALLENGE: TransactionKind.DEBIT,
}
APPROVED_EVENTS: dict[str, tuple[str, ...]] = {
    T.LOAD: ("WALLET_LOADED",),
    T.DEPOSIT: ("WALLET_LOADED", "WALLET_DEPOSIT_RECEIVED"),
    T.AUTHORIZATION: ("CARD_TRANSACTION_APPROVED",),
    T.CLEARING: ("CARD_TRANSACTION_CLEARED",),
    T.REFUND: ("CARD_TRANSACTION_REFUND",),
    T.REVERSAL: ("CARD_TRANSACTION_REVERSAL",),
    T.THREE_DS_CHALLENGE: ("CARD_3DS_CHALLENGE",),
}
DECLINED_EVENTS: dict[str, str] = {T.CLEARING: "CARD_TRANSACTION_CLEARING_FAILED"}
DEFAULT_DECLINED_EVENT = "CARD_TRANSACTION_DECLINED"
# The largest balance Wallet.balance (14 digits, 2 decimals) can hold.
MAX_BALANCE = Decimal("999999999999.99")
# Types that settle an earlier authorization; the money was already taken (or is given back) against it.
SETTLING_TYPES = frozenset({T.CLEARING, T.REVERSAL})


@dataclass
class SimulationResult:
    transaction: CardTransaction
    events: list[str] = field(default_factory=list)


def _balance_delta(*, transaction_type: str, amount: Decimal, original: CardTransaction | None) -> Decimal:
    if transaction_type == T.THREE_DS_CHALLENGE:
        return Decimal(0)
    if transaction_type == T.CLEARING and original is not None:
        return Decimal(0)  # the authorization already took the money; clearing only settles it
    if TRANSACTION_KINDS[transaction_type] is TransactionKind.DEBIT:
        return -amount
    return amount


def _resolve_original(
    *, card: Card, transaction_type: str, original_transaction_id: str | None, amount: Decimal | None
) -> tuple[CardTransaction | None, Decimal]:
    """The authorization a CLEARING or REVERSAL settles, and the amount; ValidationError for a bad reference."""
    if not original_transaction_id:
        if transaction_type == T.REVERSAL:
            raise ValidationError({"originalTransactionId": ["A REVERSAL must name the authorization it reverses."]})
        if amount is None:
            raise ValidationError({"amount": ["This field is required."]})
        return None, amount
    if transaction_type not in SETTLING_TYPES:
        raise ValidationError({"originalTransactionId": ["Only CLEARING and REVERSAL refer to an original."]})
    original = card_transaction_get(card=card, transaction_id=original_transaction_id)
    if original is None or original.transaction_type != T.AUTHORIZATION or original.status != "APPROVED":
        raise ValidationError(
            {"originalTransactionId": ["No approved AUTHORIZATION with this id on this card."]}
        )
    if original.follow_ups.filter(status=CardTransaction.Status.APPROVED).exists():
        raise ValidationError({"originalTransactionId": ["This authorization was already cleared or reversed."]})
    if amount is not None and amount != original.amount:
        raise ValidationError({"amount": [f"Must equal the authorization's amount ({_money(original.amount)})."]})
    return original, original.amount


def _decline_reason(*, card: Card, wallet: Wallet, kind: TransactionKind, delta: Decimal, today: datetime.date) -> str:
    if card.status != Card.Status.ACTIVE:
        return CardTransaction.DeclineReason.CARD_NOT_ACTIVE
    if card.expiry_date < today:
        return CardTransaction.DeclineReason.CARD_EXPIRED
    if not transaction_allowed(wallet.status, kind):
        return CardTransaction.DeclineReason.WALLET_STATUS
    if delta < 0 and wallet.balance + delta < 0:
        return CardTransaction.DeclineReason.INSUFFICIENT_FUNDS
    return ""


def transaction_simulate(
    *,
    card: Card,
    transaction_type: str,
    amount: Decimal | None,
    currency: str | None = None,
    merchant_name: str = "",
    original_transaction_id: str | None = None,
) -> SimulationResult:
    """Simulate one transaction on `card` (sandbox): decide it with the card's state, the wallet's status policy
    (`state_machine.transaction_allowed`) and the balance, record it, move the balance and the card's activity time
    when approved, and emit TRANSACTION_NOTIFICATION plus the matching specific event (entity = the cardId).

    A declined transaction is a result, not an error: it is recorded with its reason and emitted. Bad input
    (currency other than the wallet's, a bad original reference) raises ValidationError."""
    with log_context(tenant=card.partner.tenant_id), transaction.atomic():
        wallet = Wallet.objects.select_for_update(of=("self",)).select_related("partner", "cardholder").get(
            pk=card.wallet_id
        )
        locked = Card.objects.select_for_update().get(pk=card.pk)
        locked.wallet = wallet
        if currency and currency != wallet.currency:
            raise ValidationError({"currency": [f"The wallet's currency is {wallet.currency}."]})
        original, amount = _resolve_original(
            card=locked, transaction_type=transaction_type, original_transaction_id=original_transaction_id,
            amount=amount,
        )
        kind = TRANSACTION_KINDS[transaction_type]
        delta = _balance_delta(transaction_type=transaction_type, amount=amount, original=original)
        if wallet.balance + delta > MAX_BALANCE:
            raise ValidationError({"amount": [f"The balance would exceed {_money(MAX_BALANCE)}."]})
        now = timezone.now()
        decline_reason = _decline_reason(
            card=locked, wallet=wallet, kind=kind, delta=delta, today=timezone.localdate(now)
        )
        approved = not decline_reason
        if approved and delta:
            wallet.balance += delta
            wallet.save(update_fields=["balance", "updated_at"])
        if approved and transaction_type != T.THREE_DS_CHALLENGE:
            # Dormancy counts money movement; a declined attempt or a 3DS prompt does not keep a card alive.
            locked.last_activity_at = now
            locked.save(update_fields=["last_activity_at", "updated_at"])
        record = CardTransaction.objects.create(
            partner=wallet.partner,
            card=locked,
            wallet=wallet,
            transaction_type=transaction_type,
            amount=amount,
            currency=wallet.currency,
            merchant_name=merchant_name,
            status=CardTransaction.Status.APPROVED if approved else CardTransaction.Status.DECLINED,
            decline_reason=decline_reason,
            wallet_status=wallet.status,
            balance_after=wallet.balance,
            original=original,
            created_at=now,
        )
        events = _emit_transaction_events(card=locked, record=record)
        logger.info(
            "Simulated %s of %s %s on card %s: %s %s",
            transaction_type, _money(amount), wallet.currency, locked.kit_no, record.status, decline_reason,
        )
    return SimulationResult(transaction=record, events=events)


def _emit_transaction_events(*, card: Card, record: CardTransaction) -> list[str]:
    data = {
        **_card_event_data(card),
        "transactionId": str(record.transaction_id),
        "transactionType": record.transaction_type,
        "amount": _money(record.amount),
        "currency": record.currency,
        "merchantName": record.merchant_name,
        "balance": _money(record.balance_after),
        "status": record.status,
        "declineReason": record.decline_reason,
    }
    if record.original_id:
        data["originalTransactionId"] = str(record.original.transaction_id)
    if record.status == CardTransaction.Status.APPROVED:
        names = list(APPROVED_EVENTS[record.transaction_type])
    else:
        names = [DECLINED_EVENTS.get(record.transaction_type, DEFAULT_DECLINED_EVENT)]
        data["reason"] = record.decline_reason
    if record.transaction_type != T.THREE_DS_CHALLENGE:
        # A 3DS prompt is not a transaction yet, so it gets no TRANSACTION_NOTIFICATION.
        names.insert(0, "TRANSACTION_NOTIFICATION")
    entity_id = str(card.card_id)
    for name in names:
        payload = data
        if name == "CARD_3DS_CHALLENGE":
            # The one-time code travels only in the event that delivers it: not on the transaction row, not in a log.
            payload = {**data, "otp": f"{secrets.randbelow(1_000_000):06d}"}
        elif name == "WALLET_DEPOSIT_RECEIVED":
            payload = {**data, "operationId": str(record.transaction_id)}
        publish_event(partner=card.partner, event_name=name, data=payload, entity_id=entity_id)
    return names

