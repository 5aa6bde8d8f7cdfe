"""Event payloads of wallets and cards: identifiers and names only, never a card number (the card carries only its
last four digits)."""

from decimal import Decimal

from wallets.models import Card, Wallet


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
