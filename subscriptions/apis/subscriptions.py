"""Partner API of event subscriptions: list, create and update on `/event-subscriptions/`, get and delete on
`/event-subscriptions/{eventName}`.

One class per operation, each with its nested InputSerializer/OutputSerializer. Operations that share a URL are
composed into one URL class (e.g. `SubscriptionCollectionApi` = list + create + update on `/event-subscriptions/`),
because Django routes by path, not by method. The subscription lookup and the `{eventName}` path parameter are
shared with the secret endpoints (`subscriptions.apis.secrets`)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.audit import actor_of_request
from config.partner_api.errors import Conflict
from config.partner_api.fields import StrictBooleanField, StrictInputSerializer
from config.partner_api.openapi import error_responses
from subscriptions import selectors
from subscriptions.apis.fields import (
    AuthInputSerializer,
    AuthOutputSerializer,
    DestinationField,
    EventNameField,
    PayloadFormatField,
    RetryConfigInputSerializer,
    RetryConfigOutputSerializer,
    advance_periods_field,
    headers_field,
    rate_limit_field,
    signature_scheme_field,
)
from subscriptions.apis.webhook_bodies import WEBHOOK_CALLBACK
from subscriptions.catalog import get_event
from subscriptions.models import EventSubscription, Partner, PayloadFormat, TokenLevel
from subscriptions.options import KEEP, auth_public_view
from subscriptions.services.subscriptions import (
    DeliveryOptions,
    SubscriptionExists,
    subscription_create,
    subscription_delete,
    subscription_update,
)
from subscriptions.validators import EVENT_NAME_MAX_LENGTH, accepts_advance_periods, normalize_advance_periods

TAG_SUBSCRIPTIONS = "Event subscriptions"

# Output-only fields a PUT may carry back from a GET; they are ignored rather than rejected.
READ_ONLY_RESPONSE_FIELDS = ("eventType", "disabledReason", "disabledAt", "createdAt", "updatedAt")


class SubscriptionOutputSerializer(serializers.Serializer):
    eventName = serializers.CharField(source="event_name")
    eventType = serializers.SerializerMethodField(help_text="INSTANT or ADVANCE; null for ALL_EVENTS.")
    isEnabled = serializers.BooleanField(source="is_enabled")
    destination = serializers.CharField()
    retryConfig = RetryConfigOutputSerializer(source="*")
    advanceNotificationPeriods = serializers.ListField(
        source="advance_notification_periods",
        child=serializers.IntegerField(),
        required=False,
        help_text="Present only for ADVANCE events and ALL_EVENTS. Empty: the platform's default schedule.",
    )
    payloadFormat = serializers.ChoiceField(
        source="payload_format", choices=PayloadFormat.values,
        help_text="The body shape of this subscription's webhooks: standard, issuer or p2c.",
    )
    disabledReason = serializers.SerializerMethodField(
        help_text="Why the subscription is disabled (by the partner, support, or after repeated delivery "
        "failures); null while enabled."
    )
    disabledAt = serializers.DateTimeField(source="disabled_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    headers = serializers.DictField(child=serializers.CharField(), help_text="Extra headers sent with every request.")
    rateLimitPerSecond = serializers.IntegerField(source="rate_limit_per_second", allow_null=True,
                                                  help_text="Requests per second at most; null: no limit.")
    auth = serializers.SerializerMethodField(help_text="Endpoint authentication besides the signature, without its "
                                             "secret; null: none.")
    signatureScheme = serializers.CharField(source="signature_scheme", help_text="hmac-sha256 (v1) or ed25519 (v1a).")

    class Meta:
        ref_name = "EventSubscription"

    @extend_schema_field(AuthOutputSerializer(allow_null=True))
    def get_auth(self, obj: EventSubscription) -> dict | None:
        return auth_public_view(obj.auth_type, obj.auth_config or {})

    @extend_schema_field(serializers.ChoiceField(choices=["INSTANT", "ADVANCE"], allow_null=True))
    def get_eventType(self, obj: EventSubscription) -> str | None:
        definition = get_event(obj.event_name)
        return definition.event_type if definition else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_disabledReason(self, obj: EventSubscription) -> str | None:
        return obj.disabled_reason or None

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # An INSTANT subscription has no schedule; showing an empty list would suggest it could have one.
        if not accepts_advance_periods(instance.event_name):
            data.pop("advanceNotificationPeriods", None)
        return data


# --- shared with the secret endpoints ------------------------------------------------------------------------------


def get_subscription_or_404(request, event_name: str) -> EventSubscription:
    subscription = selectors.subscription_get(partner=request.user.partner, event_name=event_name)
    if subscription is None:
        # Another tenant's subscription is just as absent as a missing one.
        raise NotFound(f"No subscription for eventName {event_name[:EVENT_NAME_MAX_LENGTH]!r} for this tenant.")
    return subscription


def deleted_meanwhile(event_name: str) -> NotFound:
    # The services lock the row; a concurrent DELETE can win between our lookup and that lock.
    return NotFound(f"The subscription for {event_name[:EVENT_NAME_MAX_LENGTH]!r} was deleted meanwhile.")


def delivery_options(data: dict) -> DeliveryOptions:
    """The options a request body gave; those it left out keep their value (an explicit null removes one)."""
    return DeliveryOptions(
        headers=data.get("headers", KEEP),
        rate_limit_per_second=data.get("rateLimitPerSecond", KEEP),
        auth=data.get("auth", KEEP),
        signature_scheme=data.get("signatureScheme", KEEP),
    )


def _raise_api_validation(exc: DjangoValidationError):
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"nonFieldErrors": exc.messages}
    raise DrfValidationError(detail) from None


# --- examples (seed 001) ------------------------------------------------------------------------------------------

SEED_CREATE_REQUEST = {
    "eventName": "TRANSACTION_NOTIFICATION",
    "isEnabled": True,
    "destination": "https://your-app.com/webhooks/transactions",
    "retryConfig": {"maxRetries": 3, "retryIntervalSeconds": 60},
}
SEED_ADVANCE_REQUEST = {
    "eventName": "KIT_EXPIRY_ADVANCE_NOTIFICATION",
    "isEnabled": True,
    "destination": "https://your-app.com/webhooks/card-expiry-warning",
    "advanceNotificationPeriods": [30, 15, 7],
}
SEED_UPDATE_REQUEST = {
    "eventName": "TRANSACTION_NOTIFICATION",
    "isEnabled": True,
    "destination": "https://your-app.com/v2/webhooks/transactions",
}
SEED_OPTIONS_REQUEST = {
    "eventName": "TRANSACTION_NOTIFICATION",
    "destination": "https://your-app.com/webhooks/transactions",
    "headers": {"X-Api-Key": "your-receiver-key"},
    "rateLimitPerSecond": 20,
    "auth": {"type": "oauth2", "tokenUrl": "https://auth.your-app.com/oauth/token", "clientId": "prepaid-webhooks",
             "clientSecret": "…", "scope": "webhooks:write"},
    "signatureScheme": "ed25519",
}
_SUBSCRIPTION_EXAMPLE = {
    "eventName": "TRANSACTION_NOTIFICATION",
    "eventType": "INSTANT",
    "isEnabled": True,
    "destination": "https://your-app.com/webhooks/transactions",
    "retryConfig": {"maxRetries": 3, "retryIntervalSeconds": 60},
    "payloadFormat": "standard",
    "disabledReason": None,
    "disabledAt": None,
    "createdAt": "2026-02-12T10:30:00Z",
    "updatedAt": "2026-02-12T10:30:00Z",
    "headers": {},
    "rateLimitPerSecond": None,
    "auth": None,
    "signatureScheme": "hmac-sha256",
}
EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

# --- event subscriptions ------------------------------------------------------------------------------------------


class SubscriptionListApi(APIView):
    required_level = {"GET": TokenLevel.READ_ONLY}

    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        results = SubscriptionOutputSerializer(many=True)

        class Meta:
            ref_name = "EventSubscriptionList"

    @extend_schema(
        operation_id="event_subscriptions_list",
        tags=[TAG_SUBSCRIPTIONS],
        summary="List the tenant's subscriptions",
        description="Returns all configured subscriptions for the tenant, ordered by eventName. "
        "Signing secrets are never included; read one with GET /event-subscriptions/{eventName}/secret.",
        responses={200: OpenApiResponse(OutputSerializer, description="The tenant's subscriptions.")},
        examples=[
            OpenApiExample("Subscriptions", value={"count": 1, "results": [_SUBSCRIPTION_EXAMPLE]},
                           response_only=True)
        ],
    )
    def get(self, request):
        # A tenant has at most one subscription per catalog event (~45), so the list is not paginated.
        subscriptions = list(selectors.subscription_list(partner=request.user.partner))
        data = SubscriptionListApi.OutputSerializer({"count": len(subscriptions), "results": subscriptions}).data
        return Response(data)


class SubscriptionCreateApi(APIView):
    required_level = {"POST": TokenLevel.STANDARD}

    class InputSerializer(StrictInputSerializer):
        """A new subscription. Unknown fields are rejected (400)."""

        eventName = EventNameField()
        isEnabled = StrictBooleanField(required=False, default=True, help_text="Default true.")
        destination = DestinationField()
        retryConfig = RetryConfigInputSerializer(
            required=False, help_text="Omitted fields take the defaults: maxRetries 5, retryIntervalSeconds 60."
        )
        advanceNotificationPeriods = advance_periods_field(required=False)
        headers = headers_field(required=False)
        rateLimitPerSecond = rate_limit_field(required=False)
        auth = AuthInputSerializer(required=False, allow_null=True)
        signatureScheme = signature_scheme_field(required=False)
        payloadFormat = PayloadFormatField(required=False)

        class Meta:
            ref_name = "EventSubscriptionCreate"

        def validate(self, attrs):
            periods = attrs.get("advanceNotificationPeriods")
            if periods:
                try:
                    attrs["advanceNotificationPeriods"] = normalize_advance_periods(
                        event_name=attrs["eventName"], periods=periods
                    )
                except DjangoValidationError as exc:
                    raise DrfValidationError({"advanceNotificationPeriods": exc.messages}) from None
            return attrs

    class OutputSerializer(SubscriptionOutputSerializer):
        secret = serializers.SerializerMethodField(
            help_text="The signing secret (`whsec_…`) for verifying webhooks (Standard Webhooks). "
            "Store it; it can be read again with GET …/{eventName}/secret. null for signatureScheme ed25519."
        )
        publicKey = serializers.SerializerMethodField(
            help_text="signatureScheme ed25519: the public key (`whpk_…`) that verifies the `v1a` signatures; null "
            "for hmac-sha256. The private key never leaves the platform."
        )

        @extend_schema_field(serializers.CharField(allow_null=True))
        def get_secret(self, obj: EventSubscription) -> str | None:
            return None if obj.public_key else obj.secret

        @extend_schema_field(serializers.CharField(allow_null=True))
        def get_publicKey(self, obj: EventSubscription) -> str | None:
            return obj.public_key

        class Meta:
            ref_name = "EventSubscriptionCreated"

    @extend_schema(
        operation_id="event_subscriptions_create",
        tags=[TAG_SUBSCRIPTIONS],
        summary="Create a subscription",
        description="Registers a webhook destination for one eventName (or ALL_EVENTS). One subscription per "
        "tenant and eventName: a second POST for the same eventName is 409. The response includes the signing "
        "`secret`. Unknown fields are rejected (400). Requires token level 2.",
        request=InputSerializer,
        responses={
            201: OpenApiResponse(OutputSerializer, description="Created; includes the signing secret."),
            **error_responses(400, 409),
        },
        examples=[
            OpenApiExample("Transaction webhook", value=SEED_CREATE_REQUEST, request_only=True),
            OpenApiExample("Advance event schedule", value=SEED_ADVANCE_REQUEST, request_only=True),
            OpenApiExample("With delivery options", value=SEED_OPTIONS_REQUEST, request_only=True),
            OpenApiExample("Created", value={**_SUBSCRIPTION_EXAMPLE, "secret": EXAMPLE_SECRET, "publicKey": None},
                           response_only=True,
                           status_codes=["201"]),
        ],
        callbacks=[WEBHOOK_CALLBACK],
    )
    def post(self, request):
        serializer = SubscriptionCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        channel, actor = actor_of_request(request)
        subscription = SubscriptionCreateApi.create(
            partner=request.user.partner, data=serializer.validated_data, channel=channel, actor=actor
        )
        body = SubscriptionCreateApi.OutputSerializer(subscription).data
        return Response(body, status=status.HTTP_201_CREATED)

    @staticmethod
    def create(*, partner: Partner, data: dict, channel: str, actor: str) -> EventSubscription:
        """Create from validated input (shared with the partner portal's form). Raises the API's errors."""
        # Omitted retry fields stay None so the service applies the current settings' defaults.
        retry = data.get("retryConfig", {})
        try:
            subscription = subscription_create(
                partner=partner,
                event_name=data["eventName"],
                destination=data["destination"],
                is_enabled=data["isEnabled"],
                max_retries=retry.get("maxRetries"),
                retry_interval_seconds=retry.get("retryIntervalSeconds"),
                advance_notification_periods=data.get("advanceNotificationPeriods"),
                options=delivery_options(data),
                payload_format=data.get("payloadFormat"),
                channel=channel,
                actor=actor,
            )
        except SubscriptionExists as exc:
            raise Conflict(str(exc), extra={"eventName": exc.event_name}) from None
        except DjangoValidationError as exc:
            _raise_api_validation(exc)
        return subscription


class SubscriptionUpdateApi(APIView):
    required_level = {"PUT": TokenLevel.STANDARD}

    class InputSerializer(StrictInputSerializer):
        """The subscription to change, named by eventName, and the fields to change. The read-only fields of a GET
        response may be sent back and are ignored; any other unknown field is rejected (400)."""

        # Read-only fields of a GET response are ignored, so a read-modify-write round trip works.
        ignored_fields = READ_ONLY_RESPONSE_FIELDS

        eventName = EventNameField(help_text="Which subscription to update (it cannot be changed).")
        isEnabled = StrictBooleanField(
            required=False, help_text="false disables the subscription; true re-enables it and retries pending "
            "deliveries at once."
        )
        destination = DestinationField(required=False)
        retryConfig = RetryConfigInputSerializer(required=False, help_text="Only the given fields change.")
        advanceNotificationPeriods = advance_periods_field(required=False)
        headers = headers_field(required=False)
        rateLimitPerSecond = rate_limit_field(required=False)
        auth = AuthInputSerializer(required=False, allow_null=True, help_text="null removes it.")
        signatureScheme = signature_scheme_field(required=False)
        payloadFormat = PayloadFormatField(required=False)

        class Meta:
            ref_name = "EventSubscriptionUpdate"

    OutputSerializer = SubscriptionOutputSerializer

    @extend_schema(
        operation_id="event_subscriptions_update",
        tags=[TAG_SUBSCRIPTIONS],
        summary="Update a subscription",
        description="The body names the subscription by eventName; fields not given keep their value. "
        "Read-only response fields (createdAt, updatedAt, eventType, disabledReason, disabledAt) are ignored; "
        "any other unknown field is rejected (400). Requires token level 2.",
        request=InputSerializer,
        responses={
            200: OpenApiResponse(OutputSerializer, description="The updated subscription."),
            **error_responses(400, 404),
        },
        examples=[
            OpenApiExample("Move the destination", value=SEED_UPDATE_REQUEST, request_only=True),
            OpenApiExample("Disable", value={"eventName": "TRANSACTION_NOTIFICATION", "isEnabled": False},
                           request_only=True),
            OpenApiExample(
                "Updated",
                value={**_SUBSCRIPTION_EXAMPLE, "destination": SEED_UPDATE_REQUEST["destination"]},
                response_only=True,
            ),
        ],
    )
    def put(self, request):
        serializer = SubscriptionUpdateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription = get_subscription_or_404(request, data["eventName"])
        channel, actor = actor_of_request(request)
        subscription = SubscriptionUpdateApi.update(subscription=subscription, data=data, channel=channel, actor=actor)
        return Response(SubscriptionUpdateApi.OutputSerializer(subscription).data)

    @staticmethod
    def update(*, subscription: EventSubscription, data: dict, channel: str, actor: str) -> EventSubscription:
        """Apply validated input to the subscription (shared with the partner portal's form). Raises the API's
        errors."""
        retry = data.get("retryConfig", {})
        try:
            subscription = subscription_update(
                subscription=subscription,
                is_enabled=data.get("isEnabled"),
                destination=data.get("destination"),
                max_retries=retry.get("maxRetries"),
                retry_interval_seconds=retry.get("retryIntervalSeconds"),
                advance_notification_periods=data.get("advanceNotificationPeriods"),
                options=delivery_options(data),
                payload_format=data.get("payloadFormat"),
                channel=channel,
                actor=actor,
            )
        except DjangoValidationError as exc:
            _raise_api_validation(exc)
        except EventSubscription.DoesNotExist:
            raise deleted_meanwhile(data["eventName"]) from None
        return subscription


class SubscriptionCollectionApi(SubscriptionListApi, SubscriptionCreateApi, SubscriptionUpdateApi):
    """`/event-subscriptions/`: GET lists, POST creates, PUT updates (seed 001's paths)."""

    required_level = {
        **SubscriptionListApi.required_level,
        **SubscriptionCreateApi.required_level,
        **SubscriptionUpdateApi.required_level,
    }


EVENT_NAME_PATH = OpenApiParameter(
    "eventName", OpenApiTypes.STR, OpenApiParameter.PATH,
    description="The subscription's eventName, e.g. TRANSACTION_NOTIFICATION or ALL_EVENTS."
)


class SubscriptionDetailGetApi(APIView):
    required_level = {"GET": TokenLevel.READ_ONLY}
    OutputSerializer = SubscriptionOutputSerializer

    @extend_schema(
        operation_id="event_subscriptions_retrieve",
        tags=[TAG_SUBSCRIPTIONS],
        summary="Get one subscription",
        description="The tenant's subscription for one eventName (404 if the tenant has none). Never includes "
        "the signing secret.",
        parameters=[EVENT_NAME_PATH],
        responses={200: OpenApiResponse(OutputSerializer, description="The subscription."), **error_responses(404)},
        examples=[OpenApiExample("Subscription", value=_SUBSCRIPTION_EXAMPLE, response_only=True)],
    )
    def get(self, request, eventName: str):
        subscription = get_subscription_or_404(request, eventName)
        return Response(SubscriptionDetailGetApi.OutputSerializer(subscription).data)


class SubscriptionDeleteApi(APIView):
    required_level = {"DELETE": TokenLevel.STANDARD}

    @extend_schema(
        operation_id="event_subscriptions_destroy",
        tags=[TAG_SUBSCRIPTIONS],
        summary="Delete a subscription",
        description="Deletes the subscription; webhooks not yet delivered to it are cancelled. Requires token "
        "level 2.",
        parameters=[EVENT_NAME_PATH],
        responses={204: OpenApiResponse(description="Deleted; no body."), **error_responses(404)},
    )
    def delete(self, request, eventName: str):
        subscription = get_subscription_or_404(request, eventName)
        channel, actor = actor_of_request(request)
        try:
            subscription_delete(subscription=subscription, channel=channel, actor=actor)
        except EventSubscription.DoesNotExist:
            raise deleted_meanwhile(eventName) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionDetailApi(SubscriptionDetailGetApi, SubscriptionDeleteApi):
    """`/event-subscriptions/{eventName}`: GET reads, DELETE deletes."""

    required_level = {**SubscriptionDetailGetApi.required_level, **SubscriptionDeleteApi.required_level}
