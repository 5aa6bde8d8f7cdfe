"""Cards (kits): list, issue and read them, list their transactions, and reissue them."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.fields import StrictBooleanField
from config.partner_api.openapi import error_response, error_responses
from config.partner_api.pagination import PAGE_PARAMETERS, paginated_response, paginated_schema
from wallets import selectors
from wallets.apis.common import (
    ADMIN,
    READ,
    WRITE,
    CardStateConflict,
    PartnerInputSerializer,
    TransactionOutput,
    _actor,
    _card_or_404,
)
from wallets.models import Card, CardReissue
from wallets.services.cards import CardNotReissuable, card_reissue
from wallets.services.issuance import card_create


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


class CardsApi(APIView):
    """GET lists the tenant's cards (filter by walletId, kitNo, status); POST issues a card on a wallet."""

    required_level = {"GET": READ, "POST": WRITE}

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CardsFilter"

        walletId = serializers.UUIDField(required=False, source="wallet_id")
        kitNo = serializers.CharField(max_length=64, required=False, source="kit_no")
        status = serializers.ChoiceField(choices=Card.Status.choices, required=False)

    class InputSerializer(PartnerInputSerializer):
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

    class InputSerializer(PartnerInputSerializer):
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
