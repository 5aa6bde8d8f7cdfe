"""Partner API of the templates app: a tenant's product-level template overrides, previews and variables.

Base path /prepaid/auth/v1/notification-templates/. A partner sees and changes only templates of its own products;
the platform defaults are readable (`includeDefaults=true`) but not writable, and another tenant's template is a
404. Invalid templates are a 400 whose field message names the unknown variable or the syntax error's line, or the
limit a trial render with the event's sample values went over (templates/limits.py).

One class per operation; operations sharing a URL are composed into one URL class (Django routes by path)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.audit import actor_of_request
from config.partner_api.errors import Conflict
from config.partner_api.fields import StrictBooleanField, StrictCharField, StrictInputSerializer
from config.partner_api.openapi import error_response, error_responses
from config.partner_api.throttling import PartnerScopedThrottle
from notifications.models import CustomerChannel
from subscriptions.catalog import get_event
from subscriptions.models import TokenLevel
from templates import selectors, services
from templates.models import LOCALE_RE, NotificationTemplate
from templates.rendering import TemplateContentError
from wallets.models import Product

TAG = "Notification templates"
PREVIEW_THROTTLE_SCOPE = "template_preview"  # rate: TEMPLATE_PREVIEW_THROTTLE_RATE
BODY_MAX_LENGTH = 10_000
SUBJECT_MAX_LENGTH = 300
# Model field -> API field, for validation errors raised by the model's clean().
_API_FIELD = {"event_name": "eventName", "is_active": "isActive", "product": "productCode", "html_body": "htmlBody"}

# --- shared ----------------------------------------------------------------------------------------------------------


def _validate_event_name(value: str) -> str:
    definition = get_event(value)
    if definition is None:
        raise DrfValidationError(f"Unknown event {value[:64]!r}; see GET /prepaid/auth/v1/event-types/.")
    if not definition.customer_facing:
        raise DrfValidationError(f"{value} is not customer-facing: no customer messages are sent for it.")
    return value


def _validate_locale(value: str) -> str:
    if not LOCALE_RE.match(value):
        raise DrfValidationError("Use a language code such as 'en', 'hi' or 'hi-IN'.")
    return value


class TemplateOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    productCode = serializers.SerializerMethodField(help_text="The product it overrides; null for a platform default.")
    eventName = serializers.CharField(source="event_name")
    channel = serializers.CharField()
    locale = serializers.CharField()
    subject = serializers.CharField(help_text="Email subject, push or in-app title; empty for SMS.")
    body = serializers.CharField(help_text="The text; for EMAIL the plain-text part (empty: generated from htmlBody)")
    htmlBody = serializers.CharField(source="html_body", help_text="EMAIL only: the HTML part (variables escaped); "
                                     "empty: built from the text")
    isActive = serializers.BooleanField(source="is_active")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        ref_name = "NotificationTemplate"

    def get_productCode(self, obj: NotificationTemplate) -> str | None:
        return obj.product.code if obj.product_id else None


class VariableSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    example = serializers.CharField(help_text="The value used in previews.")

    class Meta:
        ref_name = "TemplateVariable"


def _raise_validation(exc: DjangoValidationError) -> None:
    if hasattr(exc, "error_dict"):
        detail = {_API_FIELD.get(k, k): v for k, v in exc.message_dict.items()}
    else:
        detail = {"nonFieldErrors": exc.messages}
    raise DrfValidationError(detail) from None


def _template_or_404(request, template_id: int) -> NotificationTemplate:
    template = selectors.template_get(partner=request.user.partner, template_id=template_id)
    if template is None:
        raise NotFound(f"No template {template_id} among this tenant's product templates.")
    return template


_EXAMPLE = {
    "id": 812,
    "productCode": "travel-card",
    "eventName": "CARD_TRANSACTION_APPROVED",
    "channel": "SMS",
    "locale": "en",
    "subject": "",
    "body": "Travel Card: {{ currency }} {{ amount }} at {{ merchantName }} on {{ maskedCardNumber }}.",
    "isActive": True,
    "updatedAt": "2026-02-12T10:30:00Z",
}
_UNKNOWN_VARIABLE = {
    "error": {
        "code": "validation_error",
        "message": "The request has invalid fields.",
        "fields": {"body": ["Unknown variable 'cardNumber' on line 1 for event CARD_TRANSACTION_APPROVED. "
                            "Allowed: amount, balance, cardholderName, …"]},
    }
}

# --- list / create ---------------------------------------------------------------------------------------------------


class TemplateListApi(APIView):
    required_level = {"GET": TokenLevel.READ_ONLY}

    class FilterSerializer(serializers.Serializer):
        productCode = serializers.CharField(required=False, max_length=64)
        eventName = serializers.CharField(required=False, max_length=64)
        channel = serializers.ChoiceField(choices=CustomerChannel.values, required=False)
        locale = serializers.CharField(required=False, max_length=16)
        includeDefaults = serializers.BooleanField(required=False, default=False)

    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        results = TemplateOutputSerializer(many=True)

        class Meta:
            ref_name = "NotificationTemplateList"

    @extend_schema(
        operation_id="notification_templates_list",
        tags=[TAG],
        summary="List the tenant's product templates",
        description="Templates of the tenant's products (product-level overrides). With includeDefaults=true the "
        "platform defaults (productCode null) are listed too, to copy from.",
        parameters=[
            OpenApiParameter("productCode", OpenApiTypes.STR, description="Only this product's templates"),
            OpenApiParameter("eventName", OpenApiTypes.STR),
            OpenApiParameter("channel", OpenApiTypes.STR, enum=CustomerChannel.values),
            OpenApiParameter("locale", OpenApiTypes.STR),
            OpenApiParameter("includeDefaults", OpenApiTypes.BOOL, description="Also list the platform defaults"),
        ],
        responses={200: OutputSerializer, **error_responses(400)},
        examples=[OpenApiExample("Templates", value={"count": 1, "results": [_EXAMPLE]}, response_only=True)],
    )
    def get(self, request):
        filters = TemplateListApi.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        templates = list(
            selectors.template_list(
                partner=request.user.partner,
                filters={
                    "product_code": f.get("productCode"), "event_name": f.get("eventName"),
                    "channel": f.get("channel"), "locale": f.get("locale"),
                    "include_defaults": f.get("includeDefaults"),
                },
            )
        )
        return Response(TemplateListApi.OutputSerializer({"count": len(templates), "results": templates}).data)


class TemplateCreateApi(APIView):
    required_level = {"POST": TokenLevel.STANDARD}

    class InputSerializer(StrictInputSerializer):
        """A new product template. Unknown fields are rejected (400)."""

        productCode = StrictCharField(max_length=64, help_text="One of your products; the template overrides the "
                                      "platform default for cardholders of that product.")
        eventName = StrictCharField(max_length=64, validators=[_validate_event_name],
                                    help_text="A customer-facing catalog event.")
        channel = serializers.ChoiceField(choices=CustomerChannel.values)
        locale = StrictCharField(max_length=16, required=False, default="en", validators=[_validate_locale])
        subject = StrictCharField(max_length=SUBJECT_MAX_LENGTH, required=False, default="", allow_blank=True,
                                  help_text="Email subject (required for EMAIL), push or in-app title; empty for SMS.")
        body = StrictCharField(max_length=BODY_MAX_LENGTH, required=False, default="", allow_blank=True,
                               help_text="Jinja2 text; variables as {{ name }}. Required, except for an EMAIL "
                               "template with an htmlBody (its text part is then generated from the HTML).")
        htmlBody = StrictCharField(max_length=BODY_MAX_LENGTH, required=False, default="", allow_blank=True,
                                   help_text="EMAIL only: Jinja2 HTML; every {{ variable }} is HTML-escaped.")
        isActive = StrictBooleanField(required=False, default=True)

        class Meta:
            ref_name = "NotificationTemplateCreate"

    @extend_schema(
        operation_id="notification_templates_create",
        tags=[TAG],
        summary="Create a product template",
        description="Adds a product-level template. It is validated before it is saved: unknown variables and "
        "syntax errors are a 400 naming the variable or line (see GET …/variables/{eventName}), and the template "
        "is rendered with the event's sample values within the rendering limits (time, work, output size), so a "
        "template that fails or goes over a limit is a 400 giving the reason. One template per product, event, "
        "channel and locale (409 otherwise). Requires token level 2.",
        request=InputSerializer,
        responses={201: TemplateOutputSerializer, **error_responses(400, 409)},
        examples=[
            OpenApiExample("SMS override", request_only=True, value={
                k: v for k, v in _EXAMPLE.items() if k in ("productCode", "eventName", "channel", "locale", "body")
            }),
            OpenApiExample("Created", value=_EXAMPLE, response_only=True, status_codes=["201"]),
            OpenApiExample("Unknown variable", value=_UNKNOWN_VARIABLE, response_only=True, status_codes=["400"]),
        ],
    )
    def post(self, request):
        serializer = TemplateCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        product = Product.objects.filter(partner=request.user.partner, code=data["productCode"]).first()
        if product is None:
            raise DrfValidationError({"productCode": [f"No product {data['productCode']!r} for this tenant."]})
        audit_channel, actor = actor_of_request(request)
        try:
            template = services.template_create(
                product=product, event_name=data["eventName"], channel=data["channel"], locale=data["locale"],
                subject=data["subject"], body=data["body"], html_body=data["htmlBody"], is_active=data["isActive"],
                audit_channel=audit_channel, actor=actor,
            )
        except services.TemplateConflict as exc:
            raise Conflict(
                "A template for this product, event, channel and locale already exists.",
                extra={"templateId": exc.existing.pk},
            ) from None
        except DjangoValidationError as exc:
            _raise_validation(exc)
        return Response(TemplateOutputSerializer(template).data, status=status.HTTP_201_CREATED)


class TemplateCollectionApi(TemplateListApi, TemplateCreateApi):
    """`/notification-templates/`: GET lists, POST creates."""

    required_level = {**TemplateListApi.required_level, **TemplateCreateApi.required_level}


# --- detail / update / delete ----------------------------------------------------------------------------------------


class TemplateDetailGetApi(APIView):
    required_level = {"GET": TokenLevel.READ_ONLY}

    @extend_schema(
        operation_id="notification_templates_get",
        tags=[TAG],
        summary="Get one product template",
        description="One of the tenant's product templates; platform defaults and other tenants' templates are 404.",
        parameters=[OpenApiParameter("template_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: TemplateOutputSerializer, **error_responses(404)},
        examples=[OpenApiExample("Template", value=_EXAMPLE, response_only=True)],
    )
    def get(self, request, template_id: int):
        return Response(TemplateOutputSerializer(_template_or_404(request, template_id)).data)


class TemplateUpdateApi(APIView):
    required_level = {"PUT": TokenLevel.STANDARD}

    class InputSerializer(StrictInputSerializer):
        """The fields to change. What a GET returned may be sent back: id, productCode, eventName, channel and
        updatedAt are ignored (they cannot change); any other unknown field is rejected (400)."""

        # What a GET returned may be sent back: the identifying fields are ignored (they cannot change).
        ignored_fields = ("id", "productCode", "eventName", "channel", "updatedAt")

        locale = StrictCharField(max_length=16, required=False, validators=[_validate_locale])
        subject = StrictCharField(max_length=SUBJECT_MAX_LENGTH, required=False, allow_blank=True)
        body = StrictCharField(max_length=BODY_MAX_LENGTH, required=False, allow_blank=True)
        htmlBody = StrictCharField(max_length=BODY_MAX_LENGTH, required=False, allow_blank=True)
        isActive = StrictBooleanField(required=False)

        class Meta:
            ref_name = "NotificationTemplateUpdate"

    @extend_schema(
        operation_id="notification_templates_update",
        tags=[TAG],
        summary="Update a product template",
        description="Changes subject, body, locale or isActive; fields not given keep their value. Validated like "
        "create (400 naming the variable or line; 409 if the new locale is taken). Requires token level 2.",
        request=InputSerializer,
        parameters=[OpenApiParameter("template_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: TemplateOutputSerializer, **error_responses(400, 404, 409)},
        examples=[
            OpenApiExample("New wording", request_only=True,
                           value={"body": "{{ currency }} {{ amount }} spent at {{ merchantName }}."}),
            OpenApiExample("Unknown variable", value=_UNKNOWN_VARIABLE, response_only=True, status_codes=["400"]),
        ],
    )
    def put(self, request, template_id: int):
        template = _template_or_404(request, template_id)
        serializer = TemplateUpdateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        names = {"locale": "locale", "subject": "subject", "body": "body", "htmlBody": "html_body",
                 "isActive": "is_active"}
        changes: dict[str, Any] = {names[k]: v for k, v in serializer.validated_data.items()}
        audit_channel, actor = actor_of_request(request)
        try:
            template = services.template_update(
                template=template, data=changes, audit_channel=audit_channel, actor=actor
            )
        except services.TemplateConflict as exc:
            raise Conflict(
                "A template for this product, event, channel and locale already exists.",
                extra={"templateId": exc.existing.pk},
            ) from None
        except DjangoValidationError as exc:
            _raise_validation(exc)
        return Response(TemplateOutputSerializer(template).data)


class TemplateDeleteApi(APIView):
    required_level = {"DELETE": TokenLevel.STANDARD}

    @extend_schema(
        operation_id="notification_templates_delete",
        tags=[TAG],
        summary="Delete a product template",
        description="Cardholders of the product get the platform default again. Requires token level 2.",
        parameters=[OpenApiParameter("template_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(404)},
    )
    def delete(self, request, template_id: int):
        template = _template_or_404(request, template_id)
        audit_channel, actor = actor_of_request(request)
        services.template_delete(template=template, audit_channel=audit_channel, actor=actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TemplateDetailApi(TemplateDetailGetApi, TemplateUpdateApi, TemplateDeleteApi):
    """`/notification-templates/{id}`: GET, PUT, DELETE."""

    required_level = {
        **TemplateDetailGetApi.required_level,
        **TemplateUpdateApi.required_level,
        **TemplateDeleteApi.required_level,
    }


# --- preview and variables -------------------------------------------------------------------------------------------


class TemplatePreviewApi(APIView):
    # Nothing is stored, but a preview runs partner-written code: it takes a writing token, as saving one does, and
    # is rate-limited per tenant so that one tenant's previews cannot take the web processes from the others.
    required_level = {"POST": TokenLevel.STANDARD}
    throttle_classes = [PartnerScopedThrottle]
    throttle_scope = PREVIEW_THROTTLE_SCOPE

    class InputSerializer(StrictInputSerializer):
        """A draft template to validate and render. Unknown fields are rejected (400)."""

        eventName = StrictCharField(max_length=64, validators=[_validate_event_name])
        subject = StrictCharField(max_length=SUBJECT_MAX_LENGTH, required=False, default="", allow_blank=True)
        body = StrictCharField(max_length=BODY_MAX_LENGTH, required=False, default="", allow_blank=True)
        htmlBody = StrictCharField(max_length=BODY_MAX_LENGTH, required=False, default="", allow_blank=True,
                                   help_text="An email's HTML part; the preview then shows both parts.")
        data = serializers.DictField(
            required=False, default=dict,
            help_text="Values to use instead of the samples, e.g. {\"amount\": \"99.00\"} (unknown names ignored).",
        )

        class Meta:
            ref_name = "NotificationTemplatePreviewRequest"

        def validate(self, attrs: dict) -> dict:
            if not attrs["body"].strip() and not attrs["htmlBody"].strip():
                raise DrfValidationError({"body": ["Give a body (or, for an email, an htmlBody)."]})
            return attrs

    class OutputSerializer(serializers.Serializer):
        subject = serializers.CharField()
        body = serializers.CharField()
        htmlBody = serializers.CharField(help_text="The HTML part, when the draft has an htmlBody")
        variables = VariableSerializer(many=True)

        class Meta:
            ref_name = "NotificationTemplatePreview"

    def throttled(self, request, wait):
        raise Throttled(wait=wait, detail="Too many template previews for this tenant; try again later.")

    @extend_schema(
        operation_id="notification_templates_preview",
        tags=[TAG],
        summary="Preview a template",
        description="Validates a draft subject/body and renders it with a sample event of eventName (override "
        "sample values with `data`), within the same limits as every render (time, work, output size; see the "
        "security documentation). Invalid templates are a 400 naming the field, and the variable or line. Nothing "
        "is saved. Requires token level 2. Previews are rate-limited per tenant (30 a minute by default): over the "
        "rate the answer is 429 with Retry-After.",
        request=InputSerializer,
        responses={
            200: OutputSerializer, **error_responses(400),
            429: error_response(429, description="Too many previews from this tenant; see the Retry-After header.",
                                message="Too many template previews for this tenant; try again later. Expected "
                                "available in 42 seconds."),
        },
        examples=[
            OpenApiExample("Draft", request_only=True, value={
                "eventName": "CARD_TRANSACTION_APPROVED", "body": _EXAMPLE["body"], "data": {"amount": "99.00"}}),
            OpenApiExample("Rendered", response_only=True, value={
                "subject": "", "body": "Travel Card: INR 99.00 at Chai Point on XXXX XXXX XXXX 1234.",
                "variables": [{"name": "amount", "description": "Decimal amount, e.g. \"125.50\"",
                               "example": "125.50"}]}),
            OpenApiExample("Unknown variable", value=_UNKNOWN_VARIABLE, response_only=True, status_codes=["400"]),
        ],
    )
    def post(self, request):
        serializer = TemplatePreviewApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            rendered, _ = selectors.template_preview(
                event_name=data["eventName"], subject=data["subject"], body=data["body"], data=data["data"],
                html_body=data["htmlBody"],
            )
        except TemplateContentError as exc:
            raise DrfValidationError({exc.field: [exc.message]}) from None
        variables = selectors.template_variables_describe(event_name=data["eventName"])
        return Response(TemplatePreviewApi.OutputSerializer(
            {"subject": rendered.subject, "body": rendered.body, "htmlBody": rendered.html, "variables": variables}
        ).data)


class TemplateVariablesApi(APIView):
    required_level = {"GET": TokenLevel.READ_ONLY}

    class OutputSerializer(serializers.Serializer):
        eventName = serializers.CharField()
        variables = VariableSerializer(many=True)

        class Meta:
            ref_name = "TemplateVariables"

    @extend_schema(
        operation_id="notification_templates_variables",
        tags=[TAG],
        summary="Variables a template of an event may use",
        description="The names a template of this customer-facing event may use, with the sample values of "
        "previews.",
        responses={200: OutputSerializer, **error_responses(404)},
    )
    def get(self, request, eventName: str):  # the OpenAPI path parameter, named as the docs write it
        event_name = eventName
        definition = get_event(event_name)
        if definition is None or not definition.customer_facing:
            raise NotFound(f"No customer-facing event {event_name[:64]!r}.")
        variables = selectors.template_variables_describe(event_name=event_name)
        return Response(TemplateVariablesApi.OutputSerializer({"eventName": event_name, "variables": variables}).data)
