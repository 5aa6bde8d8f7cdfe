"""Cardholders: list, register and read by customerId."""

import functools
import zoneinfo

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.fields import StrictBooleanField, StrictCharField
from config.partner_api.openapi import error_response, error_responses
from config.partner_api.pagination import PAGE_PARAMETERS, paginated_response, paginated_schema
from notifications.models import CustomerChannel
from wallets import selectors
from wallets.apis.common import E164, LOCALE, READ, SAFE_ID, WRITE, PartnerInputSerializer, _actor
from wallets.services.issuance import cardholder_create


@functools.cache
def _time_zones() -> frozenset[str]:
    # available_timezones() walks the tz database on every call; the set does not change while the process runs.
    return frozenset(zoneinfo.available_timezones())


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


class CardholdersApi(APIView):
    """GET lists the tenant's cardholders; POST registers one."""

    required_level = {"GET": READ, "POST": WRITE}

    class InputSerializer(PartnerInputSerializer):
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
