"""The sandbox transaction simulator."""

from decimal import Decimal

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.fields import StrictBooleanField, StrictCharField
from config.partner_api.openapi import error_response, error_responses
from wallets import selectors
from wallets.apis.common import CURRENCY, WRITE, PartnerInputSerializer, TransactionOutput
from wallets.models import CardTransaction
from wallets.services.simulation import transaction_simulate


class SimulateTransactionApi(APIView):
    """Simulate a card transaction (sandbox): policy, balance and events as the real flow would apply them.
    Answers 404 when SIMULATE_API_ENABLED is off (production)."""

    required_level = {"POST": WRITE}

    class InputSerializer(PartnerInputSerializer):
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
            help_text="CLEARING (optional), CLEARING_PENDING and REVERSAL (required): the AUTHORIZATION they refer "
            "to",
        )
        forceDecline = StrictBooleanField(
            required=False, default=False, source="force_decline",
            help_text="Decline a transaction that would be approved, with declineReason SIMULATED (e.g. a CLEARING "
            "that fails: CARD_TRANSACTION_CLEARING_FAILED)",
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
        description="Sandbox only. The transaction is approved or declined on the card's status, the wallet's status "
        "and its balance as a real one would be (or declined on request with forceDecline); it is recorded, an "
        "approved one moves the balance, and the same events are emitted: the whole card-transaction family "
        "(approval, decline, clearing pending, clearing failed, cleared, refund, reversal, 3DS challenge). Where "
        "simulation is switched off (production) this endpoint answers 404.",
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
            force_decline=data["force_decline"],
        )
        output = {"transaction": result.transaction, "events": result.events}
        return Response(self.OutputSerializer(output).data, status=status.HTTP_201_CREATED)
