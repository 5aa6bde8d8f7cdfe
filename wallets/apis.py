"""Partner API of wallets and cards (base /prepaid/auth/v1/). Views validate input, resolve ids through the
tenant-filtered selectors (another tenant's id is a 404) and call one service; domain errors become 4xx here.

Access levels (`required_level`): reads 1, writes 2, card reissue 3."""

import functools
import re
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.audit import actor_of_request
from config.partner_api.errors import Conflict
from config.partner_api.fields import StrictBooleanField, StrictCharField, StrictInputSerializer, StrictIntegerField
from config.partner_api.openapi import error_response, error_responses
from config.partner_api.pagination import PAGE_PARAMETERS, paginated_response, paginated_schema
from notifications.models import CustomerChannel
from subscriptions.models import TokenLevel
from wallets import selectors
from wallets.card_data import RejectCardDataMixin
from wallets.models import Card, CardReissue, CardTransaction, StatusReason
from wallets.services.cards import CardNotReissuable, card_reissue
from wallets.services.issuance import card_create, cardholder_create, product_create, wallet_create
from wallets.services.simulation import transaction_simulate
from wallets.services.wallet_status import IdempotencyKeyReused, TransitionNotAllowed, wallet_change_status
from wallets.state_machine import Actor, WalletStatus, allowed_targets

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


@functools.cache
def _time_zones() -> frozenset[str]:
    # available_timezones() walks the tz database on every call; the set does not change while the process runs.
    return frozenset(zoneinfo.available_timezones())


def _actor(request) -> dict[str, str]:
    """The audit channel and actor of a request, as the creation services take them."""
    channel, actor_name = actor_of_request(request)
    return {"channel": channel, "actor_name": actor_name}


# ---------------------------------------------------------------------------------------------------------------
# Output serializers shared by several views.


class ProductOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    dormancyDays = serializers.IntegerField(source="dormancy_days")
    currency = serializers.CharField()
    defaultLocale = serializers.CharField(source="default_locale")
    channelFallbackOrder = serializers.ListField(child=serializers.CharField(), source="channel_fallback_order")
    createdAt = serializers.DateTimeField(source="created_at")


class CardholderOutput(serializers.Serializer):
    customerId = serializers.CharField(source="external_id")
    name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    hasPushToken = serializers.SerializerMethodField(help_text="Whether a push token is registered (not returned)")
    locale = serializers.CharField()
    timezone = serializers.CharField()
    channelPreferences = serializers.DictField(child=serializers.BooleanField(), source="channel_preferences")
    createdAt = serializers.DateTimeField(source="created_at")

    def get_hasPushToken(self, cardholder) -> bool:
        return bool(cardholder.push_token)


class WalletOutput(serializers.Serializer):
    walletId = serializers.UUIDField(source="wallet_id")
    customerId = serializers.CharField(source="cardholder.external_id")
    productCode = serializers.CharField(source="product.code")
    status = serializers.ChoiceField(choices=[s.value for s in WalletStatus])
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    allowedStatusTargets = serializers.SerializerMethodField(
        help_text="Statuses this partner may move the wallet to now (support-only moves are not listed)"
    )
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowedStatusTargets(self, wallet) -> list[str]:
        return sorted(allowed_targets(wallet.status, Actor.PARTNER))


class CardOutput(serializers.Serializer):
    cardId = serializers.UUIDField(source="card_id")
    kitNo = serializers.CharField(source="kit_no")
    last4 = serializers.CharField()
    maskedNumber = serializers.CharField(source="masked_number")
    expiryDate = serializers.DateField(source="expiry_date")
    status = serializers.ChoiceField(choices=Card.Status.choices)
    lastActivityAt = serializers.DateTimeField(source="last_activity_at")
    walletId = serializers.UUIDField(source="wallet.wallet_id")
    createdAt = serializers.DateTimeField(source="created_at")


class TransitionOutput(serializers.Serializer):
    transitionId = serializers.IntegerField(source="id")
    walletId = serializers.UUIDField(source="wallet.wallet_id")
    fromStatus = serializers.CharField(source="from_status")
    toStatus = serializers.CharField(source="to_status")
    reason = serializers.CharField()
    comment = serializers.CharField()
    actor = serializers.CharField()
    channel = serializers.CharField(help_text="PARTNER_API, SUPPORT or SYSTEM")
    eventId = serializers.CharField(source="event_id", help_text="eventId of the WALLET_STATUS_CHANGED event")
    createdAt = serializers.DateTimeField(source="created_at")


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


# ---------------------------------------------------------------------------------------------------------------
# Products.


class ProductsApi(APIView):
    """GET lists the tenant's products; POST creates one."""

    required_level = {"GET": READ, "POST": WRITE}

    class InputSerializer(RejectCardDataMixin, StrictInputSerializer):
        class Meta:
            ref_name = "ProductsInput"

        code = serializers.SlugField(max_length=64)
        name = StrictCharField(max_length=200)
        dormancyDays = StrictIntegerField(source="dormancy_days", min_value=1, max_value=3650, default=365)
        currency = serializers.RegexField(CURRENCY, default="INR", error_messages={"invalid": "ISO 4217, e.g. INR."})
        defaultLocale = serializers.RegexField(
            LOCALE, source="default_locale", default="en", error_messages={"invalid": "A locale such as en or hi-IN."}
        )
        channelFallbackOrder = serializers.ListField(
            child=serializers.ChoiceField(choices=CustomerChannel.values),
            source="channel_fallback_order",
            default=list,
            max_length=len(CustomerChannel.values),
        )

        def validate_channelFallbackOrder(self, value: list[str]) -> list[str]:
            if len(set(value)) != len(value):
                raise serializers.ValidationError("Each channel may appear once.")
            return value

    @extend_schema(
        operation_id="products_list",
        summary="List products (card programs)",
        parameters=PAGE_PARAMETERS,
        responses={
            200: paginated_schema(ProductOutput, "PaginatedProductList"), 404: error_response(404, "Bad cursor.")
        },
    )
    def get(self, request):
        return paginated_response(self, request, selectors.product_list(partner=request.user.partner), ProductOutput)

    @extend_schema(
        operation_id="products_create",
        summary="Create a product (card program) with its dormancy period and notification settings",
        request=InputSerializer,
        responses={201: ProductOutput, **error_responses(400)},
        examples=[
            OpenApiExample(
                "Product",
                value={"code": "gift-card", "name": "Gift card", "dormancyDays": 180, "currency": "INR",
                       "defaultLocale": "en", "channelFallbackOrder": ["PUSH", "SMS", "EMAIL"]},
                request_only=True,
            )
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = product_create(
            partner=request.user.partner, **_actor(request), **serializer.validated_data
        )
        return Response(ProductOutput(product).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------------------------------------------
# Cardholders.


class CardholdersApi(APIView):
    """GET lists the tenant's cardholders; POST registers one."""

    required_level = {"GET": READ, "POST": WRITE}

    class InputSerializer(RejectCardDataMixin, StrictInputSerializer):
        class Meta:
            ref_name = "CardholdersInput"

        # An E.164 number has up to 15 digits; its own pattern bounds it.
        card_data_exempt_fields = ("phone",)

        customerId = serializers.RegexField(
            SAFE_ID, max_length=100, source="external_id",
            error_messages={"invalid": "Letters, digits and . _ : - only."},
        )
        name = StrictCharField(max_length=200)
        phone = serializers.RegexField(
            E164, required=False, default="", allow_blank=True,
            error_messages={"invalid": "An E.164 number such as +919800000001."},
        )
        email = serializers.EmailField(required=False, default="", allow_blank=True, max_length=254)
        pushToken = StrictCharField(source="push_token", max_length=500, required=False, default="", allow_blank=True)
        locale = serializers.RegexField(LOCALE, default="en", error_messages={"invalid": "A locale such as en."})
        timezone = StrictCharField(source="timezone_name", max_length=64, default="UTC")
        channelPreferences = serializers.DictField(
            child=StrictBooleanField(), source="channel_preferences", default=dict,
            help_text='Opt-outs per channel, e.g. {"SMS": false}; an absent channel is opted in',
        )

        def validate_timezone(self, value: str) -> str:
            if value not in _time_zones():
                raise serializers.ValidationError("An IANA time zone such as Asia/Kolkata.")
            return value

        def validate_channelPreferences(self, value: dict) -> dict:
            unknown = sorted(set(value) - set(CustomerChannel.values))
            if unknown:
                raise serializers.ValidationError(f"Unknown channels {unknown}; use {CustomerChannel.values}.")
            return value

    @extend_schema(
        operation_id="cardholders_list",
        summary="List cardholders",
        parameters=PAGE_PARAMETERS,
        responses={200: paginated_schema(CardholderOutput, "PaginatedCardholderList"),
                   404: error_response(404, "Bad cursor.")},
    )
    def get(self, request):
        holders = selectors.cardholder_list(partner=request.user.partner)
        return paginated_response(self, request, holders, CardholderOutput)

    @extend_schema(
        operation_id="cardholders_create",
        summary="Register a cardholder (emits CUSTOMER_REGISTERED)",
        request=InputSerializer,
        responses={201: CardholderOutput, **error_responses(400)},
        examples=[
            OpenApiExample(
                "Cardholder",
                value={"customerId": "CUST0001", "name": "Asha Rao", "phone": "+919800000001",
                       "email": "asha@example.com", "locale": "en", "timezone": "Asia/Kolkata",
                       "channelPreferences": {"SMS": True, "EMAIL": False}},
                request_only=True,
            )
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cardholder = cardholder_create(
            partner=request.user.partner, **_actor(request), **serializer.validated_data
        )
        return Response(CardholderOutput(cardholder).data, status=status.HTTP_201_CREATED)


class CardholderDetailApi(APIView):
    required_level = {"GET": READ}

    @extend_schema(
        operation_id="cardholders_retrieve",
        summary="Read a cardholder by customerId",
        responses={200: CardholderOutput, **error_responses(404)},
    )
    def get(self, request, customer_id: str):
        # A customerId that could never have been created (bad characters, NUL bytes) is simply not found.
        valid = len(customer_id) <= 100 and SAFE_ID.match(customer_id)
        cardholder = valid and selectors.cardholder_get(partner=request.user.partner, external_id=customer_id)
        if not cardholder:
            raise NotFound("No cardholder with this customerId.")
        return Response(CardholderOutput(cardholder).data)


# ---------------------------------------------------------------------------------------------------------------
# Wallets.


class WalletsApi(APIView):
    """GET lists the tenant's wallets (filter by status, customerId); POST opens one."""

    required_level = {"GET": READ, "POST": WRITE}

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "WalletsFilter"

        status = serializers.ChoiceField(choices=[s.value for s in WalletStatus], required=False)
        customerId = serializers.CharField(max_length=100, required=False, source="customer_id")

    class InputSerializer(RejectCardDataMixin, StrictInputSerializer):
        class Meta:
            ref_name = "WalletsInput"

        customerId = StrictCharField(max_length=100, source="customer_id")
        productCode = StrictCharField(max_length=64, source="product_code")
        currency = serializers.RegexField(
            CURRENCY, required=False, error_messages={"invalid": "ISO 4217, e.g. INR."},
            help_text="Defaults to the product's currency",
        )

    @extend_schema(
        operation_id="wallets_list",
        summary="List wallets",
        parameters=[FilterSerializer, *PAGE_PARAMETERS],
        responses={200: paginated_schema(WalletOutput, "PaginatedWalletList"), **error_responses(400),
                   404: error_response(404, "Bad cursor.")},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wallets = selectors.wallet_list(partner=request.user.partner, **filters.validated_data)
        return paginated_response(self, request, wallets, WalletOutput)

    @extend_schema(
        operation_id="wallets_create",
        summary="Open an ACTIVE wallet for a cardholder on a product",
        request=InputSerializer,
        responses={201: WalletOutput, **error_responses(400)},
        examples=[
            OpenApiExample("Wallet", value={"customerId": "CUST0001", "productCode": "gift-card"}, request_only=True)
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        partner = request.user.partner
        data = serializer.validated_data
        cardholder = selectors.cardholder_get(partner=partner, external_id=data["customer_id"])
        product = selectors.product_get(partner=partner, code=data["product_code"])
        errors = {}
        if cardholder is None:
            errors["customerId"] = ["No cardholder with this customerId."]
        if product is None:
            errors["productCode"] = ["No product with this code."]
        if errors:
            raise serializers.ValidationError(errors)
        wallet = wallet_create(
            partner=partner, cardholder=cardholder, product=product, currency=data.get("currency"),
            **_actor(request),
        )
        return Response(WalletOutput(wallet).data, status=status.HTTP_201_CREATED)


def _wallet_or_404(request, wallet_id: str):
    wallet = selectors.wallet_get(partner=request.user.partner, wallet_id=wallet_id)
    if wallet is None:
        raise NotFound("No wallet with this walletId.")
    return wallet


class WalletDetailApi(APIView):
    required_level = {"GET": READ}

    @extend_schema(
        operation_id="wallets_retrieve",
        summary="Read a wallet",
        responses={200: WalletOutput, **error_responses(404)},
    )
    def get(self, request, wallet_id: str):
        return Response(WalletOutput(_wallet_or_404(request, wallet_id)).data)


class TransitionConflictOutput(serializers.Serializer):
    """The 409 body of a refused status change."""

    class Body(serializers.Serializer):
        code = serializers.CharField(help_text="transition_not_allowed or idempotency_key_reused")
        message = serializers.CharField()
        currentStatus = serializers.CharField(required=False, help_text="transition_not_allowed only")
        requestedStatus = serializers.CharField(required=False, help_text="transition_not_allowed only")
        allowedTargets = serializers.ListField(
            child=serializers.CharField(), required=False,
            help_text="transition_not_allowed only: the statuses this partner may move the wallet to now",
        )

        class Meta:
            ref_name = "WalletStatusConflictBody"

    error = Body()

    class Meta:
        ref_name = "WalletStatusConflict"


TRANSITION_CONFLICT_EXAMPLE = {
    "error": {
        "code": "transition_not_allowed",
        "message": "A wallet in status BLOCKED cannot be moved to ACTIVE; allowed: none.",
        "currentStatus": "BLOCKED",
        "requestedStatus": "ACTIVE",
        "allowedTargets": [],
    }
}


class WalletStatusApi(APIView):
    """Update Wallet Status (seed 000): the state machine decides; forbidden moves are a 409 naming what is allowed."""

    required_level = {"POST": WRITE}

    class InputSerializer(RejectCardDataMixin, StrictInputSerializer):
        class Meta:
            ref_name = "WalletStatusInput"

        status = serializers.ChoiceField(choices=[s.value for s in WalletStatus])
        reason = serializers.ChoiceField(
            choices=StatusReason.values,
            help_text="Reason code (docs/wallets.md). OTHER requires a comment; CARD_EXPIRED is set by the "
            "platform only.",
        )
        comment = StrictCharField(max_length=500, required=False, default="", allow_blank=True)
        idempotencyKey = serializers.RegexField(
            IDEMPOTENCY_KEY, required=False, source="idempotency_key",
            error_messages={"invalid": "1-100 printable ASCII characters without spaces."},
            help_text="Optional; the Idempotency-Key header works too. The same key with the same body returns the "
            "first result; with a different body it is a 409.",
        )

    @extend_schema(
        operation_id="wallets_status_update",
        summary="Change a wallet's status",
        request=InputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", OpenApiTypes.STR, location=OpenApiParameter.HEADER, required=False,
                description="Same as the body's idempotencyKey (if both are sent they must match).",
            )
        ],
        responses={
            200: TransitionOutput,
            **error_responses(400, 404),
            409: OpenApiResponse(
                TransitionConflictOutput,
                description="The transition is not allowed (`allowedTargets` lists what is), or the idempotency key "
                "was used with a different request (`idempotency_key_reused`).",
                examples=[OpenApiExample("Not allowed", value=TRANSITION_CONFLICT_EXAMPLE, response_only=True,
                                         status_codes=["409"])],
            ),
        },
        examples=[
            OpenApiExample(
                "Lock a wallet",
                value={"status": "LOCKED", "reason": "SUSPECTED_FRAUD", "comment": "Unusual spend pattern",
                       "idempotencyKey": "lock-7f3a"},
                request_only=True,
            )
        ],
    )
    def post(self, request, wallet_id: str):
        wallet = _wallet_or_404(request, wallet_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key = self._idempotency_key(request, data.get("idempotency_key"))
        try:
            transition = wallet_change_status(
                wallet=wallet,
                to_status=data["status"],
                actor=Actor.PARTNER,
                actor_name=_actor(request)["actor_name"],
                reason=data["reason"],
                comment=data["comment"],
                idempotency_key=key,
            )
        except TransitionNotAllowed as exc:
            raise TransitionConflict(
                str(exc),
                extra={
                    "currentStatus": exc.current,
                    "requestedStatus": exc.target,
                    "allowedTargets": exc.allowed_targets,
                },
            ) from None
        except IdempotencyKeyReused as exc:
            raise IdempotencyConflict(str(exc)) from None
        return Response(TransitionOutput(transition).data)

    @staticmethod
    def _idempotency_key(request, body_key: str | None) -> str | None:
        header_key = request.headers.get("Idempotency-Key")
        if header_key is not None and not IDEMPOTENCY_KEY.match(header_key):
            raise serializers.ValidationError(
                {"Idempotency-Key": ["1-100 printable ASCII characters without spaces."]}
            )
        if header_key and body_key and header_key != body_key:
            raise serializers.ValidationError(
                {"idempotencyKey": ["Differs from the Idempotency-Key header; send one or make them equal."]}
            )
        return body_key or header_key or None


class WalletStatusHistoryApi(APIView):
    required_level = {"GET": READ}

    @extend_schema(
        operation_id="wallets_status_history",
        summary="List a wallet's status changes, newest first",
        parameters=PAGE_PARAMETERS,
        responses={200: paginated_schema(TransitionOutput, "PaginatedWalletTransitionList"), **error_responses(404)},
    )
    def get(self, request, wallet_id: str):
        wallet = _wallet_or_404(request, wallet_id)
        return paginated_response(self, request, selectors.wallet_status_history(wallet=wallet), TransitionOutput)


# ---------------------------------------------------------------------------------------------------------------
# Cards.


class CardsApi(APIView):
    """GET lists the tenant's cards (filter by walletId, kitNo, status); POST issues a card on a wallet."""

    required_level = {"GET": READ, "POST": WRITE}

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CardsFilter"

        walletId = serializers.UUIDField(required=False, source="wallet_id")
        kitNo = serializers.CharField(max_length=64, required=False, source="kit_no")
        status = serializers.ChoiceField(choices=Card.Status.choices, required=False)

    class InputSerializer(RejectCardDataMixin, StrictInputSerializer):
        class Meta:
            ref_name = "CardsInput"

        walletId = serializers.UUIDField(source="wallet_id")
        kitNo = serializers.RegexField(
            r"^[A-Za-z0-9-]{1,64}$", source="kit_no", error_messages={"invalid": "Letters, digits and - only."}
        )
        last4 = serializers.RegexField(
            r"^\d{4}$", error_messages={"invalid": "Exactly the last four digits of the card number."}
        )
        expiryDate = serializers.DateField(source="expiry_date", help_text="YYYY-MM-DD; must be in the future")

        def validate_expiryDate(self, value):
            if value <= timezone.localdate():
                raise serializers.ValidationError("The expiry date must be in the future.")
            return value

    @extend_schema(
        operation_id="cards_list",
        summary="List cards (kits)",
        parameters=[FilterSerializer, *PAGE_PARAMETERS],
        responses={200: paginated_schema(CardOutput, "PaginatedCardList"), **error_responses(400),
                   404: error_response(404, "Bad cursor.")},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        cards = selectors.card_list(partner=request.user.partner, **filters.validated_data)
        return paginated_response(self, request, cards, CardOutput)

    @extend_schema(
        operation_id="cards_create",
        summary="Issue a card (kit) on a wallet: kitNo and last4 only, never the full number or CVV",
        request=InputSerializer,
        responses={201: CardOutput, **error_responses(400)},
        examples=[
            OpenApiExample(
                "Card",
                value={"walletId": "0b6c7a36-5c35-4f53-9b0a-7f0e0d3c9d11", "kitNo": "K0001", "last4": "4242",
                       "expiryDate": "2030-12-31"},
                request_only=True,
            )
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        wallet = selectors.wallet_get(partner=request.user.partner, wallet_id=data.pop("wallet_id"))
        if wallet is None:
            raise serializers.ValidationError({"walletId": ["No wallet with this walletId."]})
        card = card_create(
            partner=request.user.partner, wallet=wallet, **_actor(request), **data
        )
        return Response(CardOutput(card).data, status=status.HTTP_201_CREATED)


def _card_or_404(request, card_id: str) -> Card:
    card = selectors.card_get(partner=request.user.partner, card_id=card_id)
    if card is None:
        raise NotFound("No card with this cardId.")
    return card


class CardDetailApi(APIView):
    required_level = {"GET": READ}

    @extend_schema(
        operation_id="cards_retrieve",
        summary="Read a card",
        responses={200: CardOutput, **error_responses(404)},
    )
    def get(self, request, card_id: str):
        return Response(CardOutput(_card_or_404(request, card_id)).data)


class CardTransactionsApi(APIView):
    required_level = {"GET": READ}

    @extend_schema(
        operation_id="cards_transactions_list",
        summary="List a card's transactions, newest first (kept across reissues)",
        parameters=PAGE_PARAMETERS,
        responses={200: paginated_schema(TransactionOutput, "PaginatedCardTransactionList"), **error_responses(404)},
    )
    def get(self, request, card_id: str):
        card = _card_or_404(request, card_id)
        return paginated_response(self, request, selectors.card_transaction_list(card=card), TransactionOutput)


class CardReissueApi(APIView):
    """Reissue Card (seed 002): new number and expiry, same cardId; irreversible, so it must be confirmed."""

    required_level = {"POST": ADMIN}

    class InputSerializer(RejectCardDataMixin, StrictInputSerializer):
        class Meta:
            ref_name = "CardReissueInput"

        confirmIrreversible = StrictBooleanField(
            help_text="Must be true: the previous card number becomes inactive and this cannot be undone."
        )
        reason = serializers.ChoiceField(choices=CardReissue.Reason.choices, default=CardReissue.Reason.OTHER)

        def validate_confirmIrreversible(self, value: bool) -> bool:
            if value is not True:
                raise serializers.ValidationError(
                    "Reissue is irreversible: send confirmIrreversible=true to confirm."
                )
            return value

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CardReissueOutput"

        card = CardOutput()
        previousCard = serializers.SerializerMethodField()
        reason = serializers.CharField()
        reissuedAt = serializers.DateTimeField(source="created_at")

        @extend_schema_field(
            inline_serializer(
                "ReplacedCardNumber",
                fields={
                    "last4": serializers.CharField(),
                    "expiryDate": serializers.DateField(),
                    "status": serializers.CharField(help_text="Always REPLACED: the previous number is inactive"),
                },
            )
        )
        def get_previousCard(self, reissue: CardReissue) -> dict:
            return {
                "last4": reissue.previous_last4,
                "expiryDate": reissue.previous_expiry_date.isoformat(),
                "status": Card.Status.REPLACED,
            }

    @extend_schema(
        operation_id="cards_reissue",
        summary="Reissue a card (level 3): new number, CVV and expiry; same cardId, balance and history",
        description="Irreversible: the previous card number is inactive at once. Emits CARD_RENEWAL and "
        "CARD_REISSUED. Requires an API token of access level 3 (Admin).",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **error_responses(400, 404),
            409: error_response(409, "The card is CLOSED or its wallet is CLOSED/EXPIRED."),
        },
        examples=[
            OpenApiExample("Reissue", value={"confirmIrreversible": True, "reason": "LOST"}, request_only=True)
        ],
    )
    def post(self, request, card_id: str):
        card = _card_or_404(request, card_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            reissue = card_reissue(
                card=card, reason=serializer.validated_data["reason"], **_actor(request)
            )
        except CardNotReissuable as exc:
            raise CardStateConflict(str(exc)) from None
        return Response(self.OutputSerializer(reissue).data)


# ---------------------------------------------------------------------------------------------------------------
# Sandbox.


class SimulateTransactionApi(APIView):
    """Simulate a card transaction (sandbox): policy, balance and events as the real flow would apply them.
    Answers 404 when SIMULATE_API_ENABLED is off (production)."""

    required_level = {"POST": WRITE}

    class InputSerializer(RejectCardDataMixin, StrictInputSerializer):
        class Meta:
            ref_name = "SimulateTransactionInput"

        kitNo = StrictCharField(max_length=64, required=False, source="kit_no")
        cardId = serializers.UUIDField(required=False, source="card_id")
        type = serializers.ChoiceField(choices=CardTransaction.Type.choices, source="transaction_type")
        amount = serializers.DecimalField(
            max_digits=12, decimal_places=2, min_value=Decimal("0.01"), required=False,
            help_text="Required unless originalTransactionId names the authorization (then it defaults to its "
            "amount)",
        )
        currency = serializers.RegexField(CURRENCY, required=False, help_text="Defaults to the wallet's currency")
        merchantName = StrictCharField(max_length=100, required=False, default="", source="merchant_name")
        originalTransactionId = serializers.UUIDField(
            required=False, source="original_transaction_id",
            help_text="CLEARING (optional) and REVERSAL (required): the AUTHORIZATION they settle",
        )

        def validate(self, attrs: dict) -> dict:
            if ("kit_no" in attrs) == ("card_id" in attrs):
                raise serializers.ValidationError({"kitNo": ["Send exactly one of kitNo and cardId."]})
            return attrs

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SimulateTransactionOutput"

        transaction = TransactionOutput()
        events = serializers.ListField(child=serializers.CharField(), help_text="Event names emitted")

    @extend_schema(
        operation_id="simulate_transaction",
        summary="Simulate a card transaction (sandbox): approved or declined, with the matching events",
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400),
                   404: error_response(404, "The simulate API is disabled in this environment.")},
        examples=[
            OpenApiExample(
                "Purchase",
                value={"kitNo": "K0001", "type": "AUTHORIZATION", "amount": "125.50", "currency": "INR",
                       "merchantName": "Coffee House"},
                request_only=True,
            )
        ],
    )
    def post(self, request):
        if not settings.SIMULATE_API_ENABLED:
            raise NotFound("The simulate API is disabled in this environment.")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        partner = request.user.partner
        if "kit_no" in data:
            card = selectors.card_get_by_kit_no(partner=partner, kit_no=data["kit_no"])
            if card is None:
                raise serializers.ValidationError({"kitNo": ["No card with this kitNo."]})
        else:
            card = selectors.card_get(partner=partner, card_id=data["card_id"])
            if card is None:
                raise serializers.ValidationError({"cardId": ["No card with this cardId."]})
        original = data.get("original_transaction_id")
        result = transaction_simulate(
            card=card,
            transaction_type=data["transaction_type"],
            amount=data.get("amount"),
            currency=data.get("currency"),
            merchant_name=data["merchant_name"],
            original_transaction_id=str(original) if original else None,
        )
        output = {"transaction": result.transaction, "events": result.events}
        return Response(self.OutputSerializer(output).data, status=status.HTTP_201_CREATED)
