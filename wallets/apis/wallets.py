"""Wallets: list, open and read them, change their status, and list their status history."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.fields import StrictCharField
from config.partner_api.openapi import error_response, error_responses
from config.partner_api.pagination import PAGE_PARAMETERS, paginated_response, paginated_schema
from wallets import selectors
from wallets.apis.common import (
    CURRENCY,
    IDEMPOTENCY_KEY,
    READ,
    WRITE,
    IdempotencyConflict,
    PartnerInputSerializer,
    TransitionConflict,
    _actor,
    _wallet_or_404,
)
from wallets.models import StatusReason
from wallets.services.issuance import wallet_create
from wallets.services.wallet_status import IdempotencyKeyReused, TransitionNotAllowed, wallet_change_status
from wallets.state_machine import Actor, WalletStatus, allowed_targets


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


class WalletsApi(APIView):
    """GET lists the tenant's wallets (filter by status, customerId); POST opens one."""

    required_level = {"GET": READ, "POST": WRITE}

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "WalletsFilter"

        status = serializers.ChoiceField(choices=[s.value for s in WalletStatus], required=False)
        customerId = serializers.CharField(max_length=100, required=False, source="customer_id")

    class InputSerializer(PartnerInputSerializer):
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
        supportOnly = serializers.BooleanField(
            required=False, help_text="transition_not_allowed only: true when support staff can make this move "
            "(BLOCKED and FRAUD wallets, and REFUND_ONLY to BLOCKED or FRAUD)",
        )
        howToAsk = serializers.CharField(
            required=False, help_text="Present when supportOnly is true: how to ask support for the move"
        )

        class Meta:
            ref_name = "WalletStatusConflictBody"

    error = Body()

    class Meta:
        ref_name = "WalletStatusConflict"


_HOW_TO_ASK_EXAMPLE = (
    "ask the platform's support team to move the wallet from BLOCKED to ACTIVE, giving the walletId, the reason; the "
    "change then appears in the wallet's status history and as WALLET_STATUS_CHANGED with channel SUPPORT."
)
TRANSITION_CONFLICT_EXAMPLE = {
    "error": {
        "code": "transition_not_allowed",
        "message": "A wallet in status BLOCKED cannot be moved to ACTIVE; allowed: none. Support staff can make this "
        f"move: {_HOW_TO_ASK_EXAMPLE}",
        "currentStatus": "BLOCKED",
        "requestedStatus": "ACTIVE",
        "allowedTargets": [],
        "supportOnly": True,
        "howToAsk": _HOW_TO_ASK_EXAMPLE,
    }
}


class WalletStatusApi(APIView):
    """Update Wallet Status (seed 000): the state machine decides; forbidden moves are a 409 naming what is allowed."""

    required_level = {"POST": WRITE}

    class InputSerializer(PartnerInputSerializer):
        class Meta:
            ref_name = "WalletStatusInput"

        status = serializers.ChoiceField(choices=[s.value for s in WalletStatus])
        reason = serializers.ChoiceField(
            choices=StatusReason.values,
            help_text="Why the status changes. OTHER requires a comment; CARD_EXPIRED is set by the platform only.",
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
        description="Moves the wallet to `status` if that move is open to you from its current status (the wallet's "
        "`allowedStatusTargets` lists those moves). A move that is not allowed is a 409 that names the statuses the "
        "wallet can move to. Emits WALLET_STATUS_CHANGED, and also WALLET_LOCKED, WALLET_BLOCKED, "
        "WALLET_FRAUD_SUSPENDED or WALLET_CLOSED when the wallet moves to one of those statuses.",
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
                description="The transition is not allowed (`allowedTargets` lists what is; `supportOnly` and "
                "`howToAsk` say when support staff can make it and how to ask them), or the idempotency key was "
                "used with a different request (`idempotency_key_reused`).",
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
                    "supportOnly": exc.support_only,
                    **({"howToAsk": exc.how_to_ask} if exc.support_only else {}),
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
