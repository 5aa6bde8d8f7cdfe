"""Cardholders: list, register, read and change by customerId; the invalid marks of their destinations; the
preference-centre link."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.fields import StrictBooleanField, StrictCharField
from config.partner_api.openapi import error_response, error_responses
from config.partner_api.pagination import PAGE_PARAMETERS, paginated_response, paginated_schema
from wallets import preference_rules, selectors
from wallets.apis.common import E164, LOCALE, READ, SAFE_ID, WRITE, PartnerInputSerializer, _actor, _cardholder_or_404
from wallets.links import preference_token_create, preference_url
from wallets.models import CONTACT_FIELDS
from wallets.services.issuance import cardholder_create
from wallets.services.preferences import cardholder_destination_clear, cardholder_update, quiet_hours_of


class InvalidMarkOutput(serializers.Serializer):
    reason = serializers.CharField(help_text="What the provider answered")
    errorCode = serializers.CharField(help_text="The provider's code, e.g. UNREGISTERED, 550, 30005")
    markedAt = serializers.DateTimeField()


@extend_schema_field({
    "type": "object", "nullable": True,
    "properties": {"enabled": {"type": "boolean"}, "start": {"type": "string", "example": "22:00"},
                   "end": {"type": "string", "example": "07:00"}},
})
class QuietHoursField(serializers.Field):
    """`null` (the product's quiet hours), `{"enabled": false}` (none), or `{"enabled": true, "start": "22:00",
    "end": "07:00"}` in the cardholder's time zone."""

    def to_internal_value(self, data):
        try:
            return preference_rules.quiet_hours_clean(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value):
        return value


class CardholderOutput(serializers.Serializer):
    customerId = serializers.CharField(source="external_id")
    name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    hasPushToken = serializers.SerializerMethodField(help_text="Whether a push token is registered (not returned)")
    locale = serializers.CharField()
    timezone = serializers.CharField()
    channelPreferences = serializers.DictField(child=serializers.BooleanField(), source="channel_preferences")
    categoryOptOuts = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), source="category_opt_outs",
        help_text='Per catalog category, the channels opted out of, e.g. {"Transactions": ["EMAIL"]}',
    )
    quietHours = serializers.SerializerMethodField(
        help_text='The cardholder\'s own quiet hours: null = the product\'s, {"enabled": false} = none, or '
        '{"enabled": true, "start": "22:00", "end": "07:00"} in `timezone`')
    invalidDestinations = serializers.DictField(
        child=InvalidMarkOutput(), source="invalid_destinations",
        help_text="Channels whose destination a provider reported dead (not tried until cleared or changed)",
    )
    createdAt = serializers.DateTimeField(source="created_at")

    def get_hasPushToken(self, cardholder) -> bool:
        return bool(cardholder.push_token)

    def get_quietHours(self, cardholder) -> dict | None:
        return quiet_hours_of(cardholder)


def _clean(function, value):
    try:
        return function(value)
    except ValueError as exc:
        raise serializers.ValidationError(str(exc)) from None


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
            return _clean(preference_rules.time_zone_clean, value)

        def validate_channelPreferences(self, value: dict) -> dict:
            return _clean(preference_rules.channel_preferences_clean, value)

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
    """GET reads a cardholder; PATCH changes contact data and preferences."""

    required_level = {"GET": READ, "PATCH": WRITE}

    class PatchInputSerializer(PartnerInputSerializer):
        class Meta:
            ref_name = "CardholderPatch"

        card_data_exempt_fields = ("phone",)
        ignored_fields = ("customerId", "hasPushToken", "invalidDestinations", "createdAt")

        name = StrictCharField(max_length=200, required=False)
        phone = serializers.RegexField(
            E164, required=False, allow_blank=True,
            error_messages={"invalid": "An E.164 number such as +919800000001."},
        )
        email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
        pushToken = StrictCharField(source="push_token", max_length=500, required=False, allow_blank=True,
                                    help_text="A new token clears the PUSH invalid mark")
        locale = serializers.RegexField(LOCALE, required=False, error_messages={"invalid": "A locale such as en."})
        timezone = StrictCharField(max_length=64, required=False, help_text="IANA time zone; quiet hours use it")
        channelPreferences = serializers.DictField(
            child=StrictBooleanField(), source="channel_preferences", required=False,
            help_text='Opt-outs per channel, e.g. {"SMS": false}; replaces the previous value',
        )
        categoryOptOuts = serializers.JSONField(
            source="category_opt_outs", required=False,
            help_text='Per category (GET /event-types lists them), the channels opted out of, e.g. '
            '{"Transactions": ["EMAIL", "SMS"]}; replaces the previous value. Critical notices ignore it.',
        )
        quietHours = QuietHoursField(source="quiet_hours", required=False, allow_null=True)

        def validate_timezone(self, value: str) -> str:
            return _clean(preference_rules.time_zone_clean, value)

        def validate_channelPreferences(self, value: dict) -> dict:
            return _clean(preference_rules.channel_preferences_clean, value)

        def validate_categoryOptOuts(self, value) -> dict:
            return _clean(preference_rules.category_opt_outs_clean, value)

    @extend_schema(
        operation_id="cardholders_retrieve",
        summary="Read a cardholder by customerId",
        responses={200: CardholderOutput, **error_responses(404)},
    )
    def get(self, request, customer_id: str):
        return Response(CardholderOutput(_cardholder_or_404(request, customer_id)).data)

    @extend_schema(
        operation_id="cardholders_partial_update",
        summary="Change a cardholder's contact data and preferences",
        description="Only the fields given change; what a GET returned may be sent back. A new phone, email or "
        "pushToken clears that channel's invalid mark (and a new phone or email emits CUSTOMER_CONTACT_CHANGED). "
        "Unknown fields, channels or categories, and bad time zones or times are a 400 naming the field.",
        request=PatchInputSerializer,
        responses={200: CardholderOutput, **error_responses(400, 404)},
        examples=[OpenApiExample(
            "Preferences", request_only=True,
            value={"channelPreferences": {"SMS": False}, "categoryOptOuts": {"Transactions": ["EMAIL"]},
                   "quietHours": {"enabled": True, "start": "22:00", "end": "07:00"}, "timezone": "Asia/Kolkata"},
        )],
    )
    def patch(self, request, customer_id: str):
        cardholder = _cardholder_or_404(request, customer_id)
        serializer = self.PatchInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cardholder = cardholder_update(cardholder=cardholder, changes=dict(serializer.validated_data),
                                       **_actor(request))
        return Response(CardholderOutput(cardholder).data)


class CardholderInvalidDestinationApi(APIView):
    """DELETE clears the invalid mark of one channel's destination."""

    required_level = {"DELETE": WRITE}

    @extend_schema(
        operation_id="cardholders_invalid_destination_clear",
        summary="Clear a destination's invalid mark",
        description="The channel (SMS, EMAIL or PUSH) is tried again from the next message on. 404 when the "
        "channel has no mark. Changing the destination (PATCH) clears its mark too.",
        responses={204: None, **error_responses(404)},
    )
    def delete(self, request, customer_id: str, channel: str):
        cardholder = _cardholder_or_404(request, customer_id)
        if channel not in CONTACT_FIELDS:
            raise NotFound(f"No channel {channel[:20]!r}; use {', '.join(CONTACT_FIELDS)}.")
        actor = _actor(request)
        if not cardholder_destination_clear(cardholder=cardholder, channel=channel, actor_name=actor["actor_name"],
                                            audit_channel=actor["channel"]):
            raise NotFound(f"The cardholder's {channel} destination has no invalid mark.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class CardholderPreferenceLinkApi(APIView):
    """POST returns a signed, expiring link to the cardholder's preference centre."""

    required_level = {"POST": WRITE}

    @extend_schema(
        operation_id="cardholders_preference_link_create",
        summary="A link to the cardholder's preference centre",
        description="A signed link, valid until expiresAt, to a small page (in the cardholder's language) where they "
        "choose channels, categories and quiet hours without an account. Put it in your app; anyone holding it "
        "can change that cardholder's preferences until it expires.",
        request=None,
        responses={201: inline_serializer("PreferenceLink", fields={
            "url": serializers.URLField(), "expiresAt": serializers.DateTimeField()}), **error_responses(404)},
    )
    def post(self, request, customer_id: str):
        cardholder = _cardholder_or_404(request, customer_id)
        token, expires_at = preference_token_create(cardholder=cardholder)
        base = f"{request.scheme}://{request.get_host()}"
        return Response({"url": preference_url(token, base=base), "expiresAt": expires_at},
                        status=status.HTTP_201_CREATED)
