"""Read-side queries of wallets and cards. Every partner-facing query filters by the partner (tenant isolation):
another tenant's id is simply not found."""

import uuid

from django.db.models import QuerySet

from notifications.models import InboxMessage
from subscriptions.models import Partner
from wallets.models import Card, Cardholder, CardTransaction, Product, Wallet, WalletStatusTransition


def parse_uuid(value: str | uuid.UUID) -> uuid.UUID | None:
    """The UUID in `value`, or None when it is not one (a malformed id is "not found", never a 500)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def product_list(*, partner: Partner) -> QuerySet[Product]:
    return Product.objects.filter(partner=partner).order_by("code")


def product_get(*, partner: Partner, code: str) -> Product | None:
    return Product.objects.filter(partner=partner, code=code).first()


def cardholder_list(*, partner: Partner) -> QuerySet[Cardholder]:
    return Cardholder.objects.filter(partner=partner).order_by("external_id")


def cardholder_get(*, partner: Partner, external_id: str) -> Cardholder | None:
    return Cardholder.objects.filter(partner=partner, external_id=external_id).first()


def wallet_list(*, partner: Partner, status: str | None = None, customer_id: str | None = None) -> QuerySet[Wallet]:
    wallets = Wallet.objects.filter(partner=partner).select_related("cardholder", "product").order_by("-created_at")
    if status:
        wallets = wallets.filter(status=status)
    if customer_id:
        wallets = wallets.filter(cardholder__external_id=customer_id)
    return wallets


def wallet_get(*, partner: Partner, wallet_id: str | uuid.UUID) -> Wallet | None:
    parsed = parse_uuid(wallet_id)
    if parsed is None:
        return None
    return Wallet.objects.select_related("cardholder", "product", "partner").filter(
        partner=partner, wallet_id=parsed
    ).first()


def wallet_status_history(*, wallet: Wallet) -> QuerySet[WalletStatusTransition]:
    """The wallet's transitions, newest first."""
    return WalletStatusTransition.objects.filter(wallet=wallet).select_related("wallet").order_by("-created_at", "-id")


def card_list(
    *, partner: Partner, wallet_id: str | None = None, kit_no: str | None = None, status: str | None = None
) -> QuerySet[Card]:
    cards = Card.objects.filter(partner=partner).select_related("wallet").order_by("-created_at")
    if wallet_id:
        parsed = parse_uuid(wallet_id)
        if parsed is None:
            return cards.none()
        cards = cards.filter(wallet__wallet_id=parsed)
    if kit_no:
        cards = cards.filter(kit_no=kit_no)
    if status:
        cards = cards.filter(status=status)
    return cards


def card_get(*, partner: Partner, card_id: str | uuid.UUID) -> Card | None:
    parsed = parse_uuid(card_id)
    if parsed is None:
        return None
    return Card.objects.select_related("wallet__cardholder", "partner").filter(partner=partner, card_id=parsed).first()


def card_get_by_kit_no(*, partner: Partner, kit_no: str) -> Card | None:
    return Card.objects.select_related("wallet__cardholder", "partner").filter(partner=partner, kit_no=kit_no).first()


def card_transaction_get(*, card: Card, transaction_id: str | uuid.UUID) -> CardTransaction | None:
    parsed = parse_uuid(transaction_id)
    if parsed is None:
        return None
    return CardTransaction.objects.filter(card=card, transaction_id=parsed).first()


def card_transaction_list(*, card: Card) -> QuerySet[CardTransaction]:
    """The card's transactions, newest first; they stay with the cardId across reissues."""
    return CardTransaction.objects.filter(card=card).select_related("card", "original").order_by("-created_at", "-id")


def inbox_list(*, cardholder: Cardholder, unread_only: bool = False) -> QuerySet[InboxMessage]:
    """The cardholder's inbox, newest first (the partner API pages it by cursor on id)."""
    entries = InboxMessage.objects.filter(cardholder=cardholder)
    return entries.filter(read_at=None) if unread_only else entries


def inbox_unread_count(*, cardholder: Cardholder) -> int:
    return InboxMessage.objects.filter(cardholder=cardholder, read_at=None).count()


def inbox_get(*, cardholder: Cardholder, entry_id: int) -> InboxMessage | None:
    return InboxMessage.objects.filter(cardholder=cardholder, pk=entry_id).first()
