"""The webhook bodies in the OpenAPI document: one schema per payloadFormat, the callback a subscription triggers
(OpenAPI 3.0 `callbacks` on POST /event-subscriptions/, sent to the subscription's `destination`), and each event's
example in every format for GET /event-types/{name}."""

from drf_spectacular.utils import (
    OpenApiCallback,
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import serializers

from notifications.webhooks.formats import example_bodies
from notifications.webhooks.formats.issuer import ISSUER_STATUSES
from subscriptions.catalog import get_event


class StandardWebhookBody(serializers.Serializer):
    """payloadFormat `standard` (the default)."""

    eventId = serializers.CharField(help_text="Unique per tenant; also the `webhook-id` header.")
    eventName = serializers.CharField(help_text="The catalog name, e.g. TRANSACTION_NOTIFICATION.")
    eventType = serializers.ChoiceField(choices=["INSTANT", "ADVANCE"])
    tenantId = serializers.CharField()
    occurredAt = serializers.DateTimeField()
    data = serializers.DictField(help_text="The event's variables (GET /event-types/{name}).")
    entityId = serializers.CharField(required=False, help_text="The card or wallet the event is about, if any.")
    sequence = serializers.IntegerField(required=False, help_text="1, 2, 3… per tenant and entityId.")

    class Meta:
        ref_name = "WebhookBodyStandard"


class IssuerWebhookBody(serializers.Serializer):
    """payloadFormat `issuer`: the envelope of the issuer platform (operation, sub-operation, status)."""

    operation = serializers.CharField(help_text="CARD, CARD_TRANSACTION, TRANSACTION, WALLET, TREASURY, CUSTOMER, "
                                      "FEE or WEBHOOK.")
    sub_operation = serializers.CharField(help_text="The activity within the operation, e.g. AUTHORIZATION.")
    operation_id = serializers.CharField(help_text="The eventId; also the `webhook-id` header.")
    status = serializers.ChoiceField(choices=ISSUER_STATUSES)
    reason = serializers.CharField(required=False, help_text="Present only when status is FAILED: why.")
    data = serializers.DictField(help_text="The event's variables, as in the standard format.")

    class Meta:
        ref_name = "WebhookBodyIssuer"


class P2cWebhookBody(serializers.Serializer):
    """payloadFormat `p2c`: EventId, EventName, Data with PascalCase names."""

    EventId = serializers.CharField(help_text="The eventId; also the `webhook-id` header.")
    EventName = serializers.CharField(help_text="E.g. TransactionCompleted, CardStatusChanged, KitStatusUpdate.")
    Data = serializers.DictField(help_text="The event's variables with PascalCase names.")

    class Meta:
        ref_name = "WebhookBodyP2c"


class ExampleBodiesSerializer(serializers.Serializer):
    standard = StandardWebhookBody()
    issuer = IssuerWebhookBody()
    p2c = P2cWebhookBody()

    class Meta:
        ref_name = "WebhookExampleBodies"


def _examples() -> list[OpenApiExample]:
    bodies = example_bodies(get_event("CARD_TRANSACTION_DECLINED"))
    return [OpenApiExample(f"payloadFormat {fmt}", summary=f"{fmt}: a declined card transaction", value=body)
            for fmt, body in bodies.items()]


WEBHOOK_CALLBACK = OpenApiCallback(
    name="webhook",
    path="{$request.body#/destination}",
    decorator=extend_schema(
        summary="The signed webhook sent to the destination for each event",
        description="POSTed to the subscription's `destination` with the Standard Webhooks headers `webhook-id` "
        "(the eventId), `webhook-timestamp` and `webhook-signature`, signed the same way whatever the "
        "payloadFormat. The body is one of the three formats, as the subscription's payloadFormat says.",
        request=PolymorphicProxySerializer(
            component_name="WebhookBody",
            serializers=[StandardWebhookBody, IssuerWebhookBody, P2cWebhookBody],
            resource_type_field_name=None,
        ),
        responses={
            200: OpenApiResponse(description="Any 2xx answer acknowledges the webhook; anything else, or no "
                                 "answer within the timeout, is retried per retryConfig."),
        },
        examples=_examples(),
    ),
)
