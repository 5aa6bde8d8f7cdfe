"""Partner API of the subscriptions app: event subscriptions (seed 001) and the event catalog.

One class per operation, each with its nested InputSerializer/OutputSerializer. Operations that share a URL are
composed into one URL class (e.g. `SubscriptionCollectionApi` = list + create + update on `/event-subscriptions/`),
because Django routes by path, not by method."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.audit import actor_of_request
from config.partner_api.errors import Conflict
from config.partner_api.fields import StrictBooleanField, StrictCharField, StrictInputSerializer, StrictIntegerField
from config.partner_api.openapi import error_responses
from subscriptions import selectors
from subscriptions.catalog import ALL_EVENTS, CATEGORIES, get_event
from subscriptions.destinations import MAX_URL_LENGTH, validate_destination_url
from subscriptions.models import EventSubscription, TokenLevel
from subscriptions.services.secrets import subscription_secret_reveal, subscription_secret_rotate
from subscriptions.services.subscriptions import (
    SubscriptionExists,
    subscription_create,
    subscription_delete,
    subscription_update,
)
from subscriptions.validators import (
    ADVANCE_PERIOD_MAX_DAYS,
    ADVANCE_PERIODS_MAX_COUNT,
    EVENT_NAME_MAX_LENGTH,
    MAX_RETRIES_MAX,
    MAX_RETRIES_MIN,
    RETRY_INTERVAL_MAX,
    RETRY_INTERVAL_MIN,
    accepts_advance_periods,
    normalize_advance_periods,
    validate_event_name,
)

TAG_SUBSCRIPTIONS = "Event subscriptions"
TAG_EVENT_TYPES = "Event types"

# --- shared serializers -------------------------------------------------------------------------------------------


def _django_to_drf(validator):
    """Run a Django validator inside a DRF field so its message lands under that field."""

    def run(value):
        try:
            validator(value)
        except DjangoValidationError as exc:
            raise DrfValidationError(exc.messages) from None

    return run


class EventNameField(StrictCharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", EVENT_NAME_MAX_LENGTH)
        kwargs.setdefault("validators", [_django_to_drf(validate_event_name)])
        kwargs.setdefault(
            "help_text",
            f"A catalog event name (see GET /event-types/), or {ALL_EVENTS} to receive every event.",
        )
        super().__init__(**kwargs)


class DestinationField(StrictCharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_URL_LENGTH)
        kwargs.setdefault("validators", [_django_to_drf(validate_destination_url)])
        kwargs.setdefault(
            "help_text",
            "The https URL webhooks are POSTed to. It must not contain a user name/password and must not name a "
            "private, loopback, link-local or metadata address (in any spelling) or localhost.",
        )
        super().__init__(**kwargs)


class RetryConfigInputSerializer(StrictInputSerializer):
    maxRetries = StrictIntegerField(
        min_value=MAX_RETRIES_MIN,
        max_value=MAX_RETRIES_MAX,
        required=False,
        help_text="Retries after the first failed attempt (default 5).",
    )
    retryIntervalSeconds = StrictIntegerField(
        min_value=RETRY_INTERVAL_MIN,
        max_value=RETRY_INTERVAL_MAX,
        required=False,
        help_text="Base delay before the first retry, in seconds (default 60); later retries back off from it.",
    )

    class Meta:
        ref_name = "RetryConfigInput"


class RetryConfigOutputSerializer(serializers.Serializer):
    maxRetries = serializers.IntegerField(source="max_retries")
    retryIntervalSeconds = serializers.IntegerField(source="retry_interval_seconds")

    class Meta:
        ref_name = "RetryConfig"


def _periods_field(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=ADVANCE_PERIOD_MAX_DAYS),
        max_length=50,
        help_text=(
            "ADVANCE events (and ALL_EVENTS) only: days before the expiry/inactivation date on which a notice is "
            f"sent, e.g. [30, 15, 7]. Positive integers up to {ADVANCE_PERIOD_MAX_DAYS}, at most "
            f"{ADVANCE_PERIODS_MAX_COUNT} distinct values; stored de-duplicated and sorted descending. Empty or "
            "omitted: the platform's default schedule."
        ),
        **kwargs,
    )


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
    disabledReason = serializers.SerializerMethodField(
        help_text="Why the subscription is disabled (by the partner, support, or after repeated delivery "
        "failures); null while enabled."
    )
    disabledAt = serializers.DateTimeField(source="disabled_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        ref_name = "EventSubscription"

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


class SecretOutputSerializer(serializers.Serializer):
    eventName = serializers.CharField()
    secret = serializers.CharField(help_text="Standard Webhooks signing secret (`whsec_` + base64 of 32 bytes).")
    previousSecretExpiresAt = serializers.DateTimeField(
        allow_null=True,
        help_text="During a rotation: until when the previous secret also signs (a second `v1,` signature).",
    )

    class Meta:
        ref_name = "SubscriptionSecret"


def _secret_payload(subscription: EventSubscription, secret: str) -> dict:
    expires = subscription.previous_secret_expires_at
    # After the overlap the old secret no longer signs, so its expiry is no longer news.
    active_previous = bool(subscription.previous_secret_encrypted) and len(subscription.signing_secrets()) > 1
    return {
        "eventName": subscription.event_name,
        "secret": secret,
        "previousSecretExpiresAt": expires if active_previous else None,
    }


def _get_subscription_or_404(request, event_name: str) -> EventSubscription:
    subscription = selectors.subscription_get(partner=request.user.partner, event_name=event_name)
    if subscription is None:
        # Another tenant's subscription is just as absent as a missing one.
        raise NotFound(f"No subscription for eventName {event_name[:EVENT_NAME_MAX_LENGTH]!r} for this tenant.")
    return subscription


def _deleted_meanwhile(event_name: str) -> NotFound:
    # The services lock the row; a concurrent DELETE can win between our lookup and that lock.
    return NotFound(f"The subscription for {event_name[:EVENT_NAME_MAX_LENGTH]!r} was deleted meanwhile.")


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
_SUBSCRIPTION_EXAMPLE = {
    "eventName": "TRANSACTION_NOTIFICATION",
    "eventType": "INSTANT",
    "isEnabled": True,
    "destination": "https://your-app.com/webhooks/transactions",
    "retryConfig": {"maxRetries": 3, "retryIntervalSeconds": 60},
    "disabledReason": None,
    "disabledAt": None,
    "createdAt": "2026-02-12T10:30:00Z",
    "updatedAt": "2026-02-12T10:30:00Z",
}
_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

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
        description="Returns all configured subscriptions for the tenant (seed 001), ordered by eventName. "
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
        eventName = EventNameField()
        isEnabled = StrictBooleanField(required=False, default=True, help_text="Default true.")
        destination = DestinationField()
        retryConfig = RetryConfigInputSerializer(
            required=False, help_text="Omitted fields take the defaults: maxRetries 5, retryIntervalSeconds 60."
        )
        advanceNotificationPeriods = _periods_field(required=False)

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
        secret = serializers.CharField(
            help_text="The signing secret (`whsec_…`) for verifying webhooks (Standard Webhooks). "
            "Store it; it can be read again with GET …/{eventName}/secret."
        )

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
            OpenApiExample("Seed 001: transaction webhook", value=SEED_CREATE_REQUEST, request_only=True),
            OpenApiExample("Seed 001: advance event schedule", value=SEED_ADVANCE_REQUEST, request_only=True),
            OpenApiExample("Created", value={**_SUBSCRIPTION_EXAMPLE, "secret": _SECRET}, response_only=True,
                           status_codes=["201"]),
        ],
    )
    def post(self, request):
        serializer = SubscriptionCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # Omitted retry fields stay None so the service applies the current settings' defaults.
        retry = data.get("retryConfig", {})
        channel, actor = actor_of_request(request)
        try:
            subscription = subscription_create(
                partner=request.user.partner,
                event_name=data["eventName"],
                destination=data["destination"],
                is_enabled=data["isEnabled"],
                max_retries=retry.get("maxRetries"),
                retry_interval_seconds=retry.get("retryIntervalSeconds"),
                advance_notification_periods=data.get("advanceNotificationPeriods"),
                channel=channel,
                actor=actor,
            )
        except SubscriptionExists as exc:
            raise Conflict(str(exc), extra={"eventName": exc.event_name}) from None
        except DjangoValidationError as exc:
            _raise_api_validation(exc)
        body = SubscriptionCreateApi.OutputSerializer(subscription).data
        return Response(body, status=status.HTTP_201_CREATED)


class SubscriptionUpdateApi(APIView):
    required_level = {"PUT": TokenLevel.STANDARD}

    class InputSerializer(StrictInputSerializer):
        # Read-only fields of a GET response are ignored, so a read-modify-write round trip works.
        ignored_fields = READ_ONLY_RESPONSE_FIELDS

        eventName = EventNameField(help_text="Which subscription to update (it cannot be changed).")
        isEnabled = StrictBooleanField(
            required=False, help_text="false disables the subscription; true re-enables it and retries pending "
            "deliveries at once."
        )
        destination = DestinationField(required=False)
        retryConfig = RetryConfigInputSerializer(required=False, help_text="Only the given fields change.")
        advanceNotificationPeriods = _periods_field(required=False)

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
            OpenApiExample("Seed 001: move the destination", value=SEED_UPDATE_REQUEST, request_only=True),
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
        subscription = _get_subscription_or_404(request, data["eventName"])
        retry = data.get("retryConfig", {})
        channel, actor = actor_of_request(request)
        try:
            subscription = subscription_update(
                subscription=subscription,
                is_enabled=data.get("isEnabled"),
                destination=data.get("destination"),
                max_retries=retry.get("maxRetries"),
                retry_interval_seconds=retry.get("retryIntervalSeconds"),
                advance_notification_periods=data.get("advanceNotificationPeriods"),
                channel=channel,
                actor=actor,
            )
        except DjangoValidationError as exc:
            _raise_api_validation(exc)
        except EventSubscription.DoesNotExist:
            raise _deleted_meanwhile(data["eventName"]) from None
        return Response(SubscriptionUpdateApi.OutputSerializer(subscription).data)


class SubscriptionCollectionApi(SubscriptionListApi, SubscriptionCreateApi, SubscriptionUpdateApi):
    """`/event-subscriptions/`: GET lists, POST creates, PUT updates (seed 001's paths)."""

    required_level = {
        **SubscriptionListApi.required_level,
        **SubscriptionCreateApi.required_level,
        **SubscriptionUpdateApi.required_level,
    }


_EVENT_NAME_PATH = OpenApiParameter(
    "event_name", OpenApiTypes.STR, OpenApiParameter.PATH,
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
        parameters=[_EVENT_NAME_PATH],
        responses={200: OpenApiResponse(OutputSerializer, description="The subscription."), **error_responses(404)},
        examples=[OpenApiExample("Subscription", value=_SUBSCRIPTION_EXAMPLE, response_only=True)],
    )
    def get(self, request, event_name: str):
        subscription = _get_subscription_or_404(request, event_name)
        return Response(SubscriptionDetailGetApi.OutputSerializer(subscription).data)


class SubscriptionDeleteApi(APIView):
    required_level = {"DELETE": TokenLevel.STANDARD}

    @extend_schema(
        operation_id="event_subscriptions_destroy",
        tags=[TAG_SUBSCRIPTIONS],
        summary="Delete a subscription",
        description="Deletes the subscription; webhooks not yet delivered to it are cancelled. Requires token "
        "level 2.",
        parameters=[_EVENT_NAME_PATH],
        responses={204: OpenApiResponse(description="Deleted; no body."), **error_responses(404)},
    )
    def delete(self, request, event_name: str):
        subscription = _get_subscription_or_404(request, event_name)
        channel, actor = actor_of_request(request)
        try:
            subscription_delete(subscription=subscription, channel=channel, actor=actor)
        except EventSubscription.DoesNotExist:
            raise _deleted_meanwhile(event_name) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionDetailApi(SubscriptionDetailGetApi, SubscriptionDeleteApi):
    """`/event-subscriptions/{eventName}`: GET reads, DELETE deletes."""

    required_level = {**SubscriptionDetailGetApi.required_level, **SubscriptionDeleteApi.required_level}


class SubscriptionSecretApi(APIView):
    # Whoever holds the secret can forge webhooks to the partner: reading it needs a standard token, not read-only.
    required_level = {"GET": TokenLevel.STANDARD}
    OutputSerializer = SecretOutputSerializer

    @extend_schema(
        operation_id="event_subscriptions_secret_retrieve",
        tags=[TAG_SUBSCRIPTIONS],
        summary="Read the signing secret",
        description="The current signing secret of the subscription. Requires token level 2; every read is "
        "audited.",
        parameters=[_EVENT_NAME_PATH],
        responses={200: OpenApiResponse(OutputSerializer, description="The signing secret."), **error_responses(404)},
        examples=[
            OpenApiExample(
                "Secret",
                value={"eventName": "TRANSACTION_NOTIFICATION", "secret": _SECRET, "previousSecretExpiresAt": None},
                response_only=True,
            )
        ],
    )
    def get(self, request, event_name: str):
        subscription = _get_subscription_or_404(request, event_name)
        channel, actor = actor_of_request(request)
        secret = subscription_secret_reveal(subscription=subscription, channel=channel, actor=actor)
        return Response(SubscriptionSecretApi.OutputSerializer(_secret_payload(subscription, secret)).data)


class SubscriptionSecretRotateApi(APIView):
    required_level = {"POST": TokenLevel.ADMIN}
    OutputSerializer = SecretOutputSerializer

    @extend_schema(
        operation_id="event_subscriptions_secret_rotate",
        tags=[TAG_SUBSCRIPTIONS],
        summary="Rotate the signing secret",
        description="Creates a new signing secret and returns it. The previous secret keeps signing beside the "
        "new one (two space-separated `v1,` signatures) for 24 hours (WEBHOOK_SECRET_ROTATION_OVERLAP_HOURS), "
        "so receivers can switch without losing a webhook. Rotating again within that window drops the older "
        "secret. No request body. Requires token level 3.",
        parameters=[_EVENT_NAME_PATH],
        request=None,
        responses={
            200: OpenApiResponse(OutputSerializer, description="The new secret and when the old one stops signing."),
            **error_responses(404),
        },
        examples=[
            OpenApiExample(
                "Rotated",
                value={
                    "eventName": "TRANSACTION_NOTIFICATION",
                    "secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                    "previousSecretExpiresAt": "2026-02-13T10:30:00Z",
                },
                response_only=True,
            )
        ],
    )
    def post(self, request, event_name: str):
        subscription = _get_subscription_or_404(request, event_name)
        channel, actor = actor_of_request(request)
        try:
            subscription = subscription_secret_rotate(
                subscription=subscription, channel=channel, actor=actor
            )
        except EventSubscription.DoesNotExist:
            raise _deleted_meanwhile(event_name) from None
        return Response(SubscriptionSecretRotateApi.OutputSerializer(
            _secret_payload(subscription, subscription.secret)
        ).data)


# --- event catalog ------------------------------------------------------------------------------------------------


class EventVariableSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField(help_text="JSON type: string, integer, boolean, number, object, array.")
    description = serializers.CharField()
    required = serializers.BooleanField()

    class Meta:
        ref_name = "EventVariable"


class EventTypeOutputSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The eventName used in messages and subscriptions.")
    category = serializers.CharField()
    type = serializers.ChoiceField(choices=["INSTANT", "ADVANCE"], source="event_type",
                                   help_text="INSTANT fires when it happens; ADVANCE N days before.")
    description = serializers.CharField()
    variables = serializers.SerializerMethodField(help_text="The fields of the event's `data` object.")
    dataSchema = serializers.SerializerMethodField(help_text="JSON Schema of the event's `data` object.")
    customerFacing = serializers.BooleanField(source="customer_facing",
                                              help_text="The cardholder may be notified (SMS/email/push).")
    critical = serializers.BooleanField(help_text="Reaches the cardholder even on channels they opted out of.")
    urgent = serializers.BooleanField(help_text="Sent at once, even in the cardholder's quiet hours.")

    class Meta:
        ref_name = "EventType"

    @extend_schema_field(EventVariableSerializer(many=True))
    def get_variables(self, definition) -> list[dict]:
        return [
            {"name": name, "type": json_type, "description": description, "required": name in definition.required}
            for name, (json_type, description) in definition.variables.items()
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_dataSchema(self, definition) -> dict:
        return definition.data_schema()


class EventTypeListApi(APIView):
    required_level = {"GET": TokenLevel.READ_ONLY}

    class FilterSerializer(serializers.Serializer):
        category = serializers.ChoiceField(choices=CATEGORIES, required=False)
        type = serializers.ChoiceField(choices=["INSTANT", "ADVANCE"], required=False)

    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        categories = serializers.ListField(child=serializers.CharField(), help_text="Category names, in order.")
        allEventsName = serializers.CharField(
            help_text="The eventName that subscribes one destination to every event."
        )
        results = EventTypeOutputSerializer(many=True)

        class Meta:
            ref_name = "EventTypeList"

    @extend_schema(
        operation_id="event_types_list",
        tags=[TAG_EVENT_TYPES],
        summary="List the event catalog",
        description="Every event the platform emits, tagged with its category and ordered by category, with the "
        "variables its `data` carries and their JSON Schema. Any of these names (or ALL_EVENTS) can be "
        "subscribed to.",
        parameters=[
            OpenApiParameter("category", OpenApiTypes.STR, enum=CATEGORIES, description="Only this category."),
            OpenApiParameter("type", OpenApiTypes.STR, enum=["INSTANT", "ADVANCE"], description="Only this type."),
        ],
        responses={200: OpenApiResponse(OutputSerializer, description="The catalog."), **error_responses(400)},
    )
    def get(self, request):
        # Unknown query parameters are ignored (cache busters, tracing); only known ones are validated.
        filters = EventTypeListApi.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        definitions = selectors.event_type_list(
            category=filters.validated_data.get("category"), event_type=filters.validated_data.get("type")
        )
        categories = list(dict.fromkeys(d.category for d in definitions))
        payload = {"count": len(definitions), "categories": categories, "allEventsName": ALL_EVENTS,
                   "results": definitions}
        return Response(EventTypeListApi.OutputSerializer(payload).data)


class EventTypeDetailApi(APIView):
    required_level = {"GET": TokenLevel.READ_ONLY}
    OutputSerializer = EventTypeOutputSerializer

    @extend_schema(
        operation_id="event_types_retrieve",
        tags=[TAG_EVENT_TYPES],
        summary="Get one event type",
        description="One catalog entry with its variables and the JSON Schema of its `data`.",
        parameters=[OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, description="eventName")],
        responses={200: OpenApiResponse(OutputSerializer, description="The event type."), **error_responses(404)},
    )
    def get(self, request, name: str):
        definition = selectors.event_type_get(name=name)
        if definition is None:
            raise NotFound(f"Unknown event type {name[:EVENT_NAME_MAX_LENGTH]!r}.")
        return Response(EventTypeDetailApi.OutputSerializer(definition).data)
