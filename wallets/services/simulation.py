"""Sandbox transaction simulation: a simulated card transaction is decided with the card's state, the wallet's
status policy and the balance, recorded, and emitted as the real flow would."""

import datetime
import logging
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.logging import log_context
from notifications.outbox import publish_event
from wallets.models import Card, CardTransaction, Wallet
from wallets.selectors import card_transaction_get
from wallets.services.event_data import _card_event_data, _money
from wallets.state_machine import TransactionKind, transaction_allowed

logger = logging.getLogger(__name__)

T = CardTransaction.Type

# Which policy question (DESIGN.md "transactions allowed") each simulated type asks. A reversal returns held money
# to the cardholder, so it is treated like a refund credit.
TRANSACTION_KINDS: dict[str, TransactionKind] = {
    T.LOAD: TransactionKind.CREDIT,
    T.DEPOSIT: TransactionKind.CREDIT,
    T.AUTHORIZATION: TransactionKind.DEBIT,
    T.CLEARING_PENDING: TransactionKind.DEBIT,
    T.CLEARING: TransactionKind.DEBIT,
    T.REFUND: TransactionKind.REFUND,
    T.REVERSAL: TransactionKind.REFUND,
    T.THREE_DS_CHALLENGE: TransactionKind.DEBIT,
}
APPROVED_EVENTS: dict[str, tuple[str, ...]] = {
    T.LOAD: ("WALLET_LOADED",),
    T.DEPOSIT: ("WALLET_LOADED", "WALLET_DEPOSIT_RECEIVED"),
    T.AUTHORIZATION: ("CARD_TRANSACTION_APPROVED",),
    T.CLEARING_PENDING: ("CARD_TRANSACTION_CLEARING_PENDING",),
    T.CLEARING: ("CARD_TRANSACTION_CLEARED",),
    T.REFUND: ("CARD_TRANSACTION_REFUND",),
    T.REVERSAL: ("CARD_TRANSACTION_REVERSAL",),
    T.THREE_DS_CHALLENGE: ("CARD_3DS_CHALLENGE",),
}
DECLINED_EVENTS: dict[str, str] = {
    T.CLEARING: "CARD_TRANSACTION_CLEARING_FAILED",
    T.CLEARING_PENDING: "CARD_TRANSACTION_CLEARING_FAILED",
}
DEFAULT_DECLINED_EVENT = "CARD_TRANSACTION_DECLINED"
# The largest balance Wallet.balance (14 digits, 2 decimals) can hold.
MAX_BALANCE = Decimal("999999999999.99")
# Types that settle an earlier authorization; the money was already taken (or is given back) against it.
SETTLING_TYPES = frozenset({T.CLEARING, T.REVERSAL})
# Types that refer to an authorization (a pending clearing reports on one without settling it), and those that must.
REFERRING_TYPES = frozenset({*SETTLING_TYPES, T.CLEARING_PENDING})
ORIGINAL_REQUIRED = {T.REVERSAL: "A REVERSAL must name the authorization it reverses.",
                     T.CLEARING_PENDING: "A CLEARING_PENDING must name the authorization being cleared."}
# Types that move no money: no balance change, and they do not count as card activity for dormancy.
NO_MONEY_TYPES = frozenset({T.THREE_DS_CHALLENGE, T.CLEARING_PENDING})


@dataclass
class SimulationResult:
    transaction: CardTransaction
    events: list[str] = field(default_factory=list)


def _balance_delta(*, transaction_type: str, amount: Decimal, original: CardTransaction | None) -> Decimal:
    if transaction_type in NO_MONEY_TYPES:
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
        if transaction_type in ORIGINAL_REQUIRED:
            raise ValidationError({"originalTransactionId": [ORIGINAL_REQUIRED[transaction_type]]})
        if amount is None:
            raise ValidationError({"amount": ["This field is required."]})
        return None, amount
    if transaction_type not in REFERRING_TYPES:
        raise ValidationError(
            {"originalTransactionId": ["Only CLEARING_PENDING, CLEARING and REVERSAL refer to an original."]}
        )
    original = card_transaction_get(card=card, transaction_id=original_transaction_id)
    if original is None or original.transaction_type != T.AUTHORIZATION or original.status != "APPROVED":
        raise ValidationError(
            {"originalTransactionId": ["No approved AUTHORIZATION with this id on this card."]}
        )
    if original.follow_ups.filter(status=CardTransaction.Status.APPROVED, transaction_type__in=SETTLING_TYPES).exists():
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
    force_decline: bool = False,
) -> SimulationResult:
    """Simulate one transaction on `card` (sandbox): decide it with the card's state, the wallet's status policy
    (`state_machine.transaction_allowed`) and the balance, record it, move the balance and the card's activity time
    when approved, and emit TRANSACTION_NOTIFICATION plus the matching specific event (entity = the cardId).

    A declined transaction is a result, not an error: it is recorded with its reason and emitted. `force_decline`
    declines one that would be approved, with reason SIMULATED (e.g. a clearing that fails). Bad input (currency
    other than the wallet's, a bad original reference) raises ValidationError."""
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
        ) or (CardTransaction.DeclineReason.SIMULATED if force_decline else "")
        approved = not decline_reason
        if approved and delta:
            wallet.balance += delta
            wallet.save(update_fields=["balance", "updated_at"])
        if approved and transaction_type not in NO_MONEY_TYPES:
            # Dormancy counts money movement; a declined attempt, a 3DS prompt or a pending clearing does not keep a
            # card alive.
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
