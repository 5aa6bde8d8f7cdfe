"""What several wallet and card resources share: access levels, input patterns, the 409 exceptions, the base of
every request body, the transaction output, the request's audit actor and the wallet/card lookups that answer 404."""

import re

from rest_framework import serializers
from rest_framework.exceptions import NotFound

from config.partner_api.audit import actor_of_request
from config.partner_api.errors import Conflict
from config.partner_api.fields import StrictInputSerializer
from subscriptions.models import TokenLevel
from wallets import selectors
from wallets.card_data import RejectCardDataMixin
from wallets.models import Card, Cardholder, CardTransaction, Wallet

READ, WRITE, ADMIN = TokenLevel.READ_ONLY, TokenLevel.STANDARD, TokenLevel.ADMIN
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]+$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
LOCALE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")  # printable ASCII, no spaces


class TransitionConflict(Conflict):
    default_code = "transition_not_allowed"


class IdempotencyConflict(Conflict):
    default_code = "idempotency_key_reused"


class CardStateConflict(Conflict):
    default_code = "card_not_reissuable"


# The base of every request body here. Its docstring is what partners read: drf-spectacular describes a request body
# with the first docstring up its class tree, which would otherwise be RejectCardDataMixin's developer notes.
class PartnerInputSerializer(RejectCardDataMixin, StrictInputSerializer):
    """Fields not listed here are refused with a 400, and so is card data: a field named like a card number, CVV or
    PIN, or a value with a run of 12 or more digits (UUIDs and the phone number aside). Send only a card's last four
    digits."""


def _actor(request) -> dict[str, str]:
    """The audit channel and actor of a request, as the creation services take them."""
    channel, actor_name = actor_of_request(request)
    return {"channel": channel, "actor_name": actor_name}


# A card transaction as both a card's history and the sandbox simulator return it.
class TransactionOutput(serializers.Serializer):
    transactionId = serializers.UUIDField(source="transaction_id")
    cardId = serializers.UUIDField(source="card.card_id")
    kitNo = serializers.CharField(source="card.kit_no")
    type = serializers.ChoiceField(choices=CardTransaction.Type.choices, source="transaction_type")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    merchantName = serializers.CharField(source="merchant_name")
    status = serializers.ChoiceField(choices=CardTransaction.Status.choices)
    declineReason = serializers.CharField(source="decline_reason", help_text="Empty when approved")
    walletStatus = serializers.CharField(source="wallet_status", help_text="Wallet status when decided")
    balance = serializers.DecimalField(max_digits=14, decimal_places=2, source="balance_after")
    originalTransactionId = serializers.UUIDField(source="original.transaction_id", allow_null=True, default=None)
    createdAt = serializers.DateTimeField(source="created_at")


def _wallet_or_404(request, wallet_id: str) -> Wallet:
    wallet = selectors.wallet_get(partner=request.user.partner, wallet_id=wallet_id)
    if wallet is None:
        raise NotFound("No wallet with this walletId.")
    return wallet


def _card_or_404(request, card_id: str) -> Card:
    card = selectors.card_get(partner=request.user.partner, card_id=card_id)
    if card is None:
        raise NotFound("No card with this cardId.")
    return card


def _cardholder_or_404(request, customer_id: str) -> Cardholder:
    # A customerId that could never have been created (bad characters, NUL bytes) is simply not found.
    valid = len(customer_id) <= 100 and SAFE_ID.match(customer_id)
    cardholder = valid and selectors.cardholder_get(partner=request.user.partner, external_id=customer_id)
    if not cardholder:
        raise NotFound("No cardholder with this customerId.")
    return cardholder
