"""Partner API of the event catalog: GET /event-types/ (filterable by category and type) and
GET /event-types/{name}."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.openapi import error_responses
from notifications.webhooks.formats import example_bodies
from subscriptions import selectors
from subscriptions.apis.webhook_bodies import ExampleBodiesSerializer
from subscriptions.catalog import ALL_EVENTS, CATEGORIES
from subscriptions.models import TokenLevel
from subscriptions.validators import EVENT_NAME_MAX_LENGTH

TAG_EVENT_TYPES = "Event types"


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


class EventTypeDetailOutputSerializer(EventTypeOutputSerializer):
    exampleBodies = serializers.SerializerMethodField(
        help_text="An example webhook body of this event in each payloadFormat (standard, issuer, p2c)."
    )

    class Meta:
        ref_name = "EventTypeDetail"

    @extend_schema_field(ExampleBodiesSerializer)
    def get_exampleBodies(self, definition) -> dict:
        return example_bodies(definition)


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
    OutputSerializer = EventTypeDetailOutputSerializer

    @extend_schema(
        operation_id="event_types_retrieve",
        tags=[TAG_EVENT_TYPES],
        summary="Get one event type",
        description="One catalog entry with its variables, the JSON Schema of its `data`, and an example webhook "
        "body in each payloadFormat (`exampleBodies`: standard, issuer, p2c).",
        parameters=[OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, description="eventName")],
        responses={200: OpenApiResponse(OutputSerializer, description="The event type."), **error_responses(404)},
    )
    def get(self, request, name: str):
        definition = selectors.event_type_get(name=name)
        if definition is None:
            raise NotFound(f"Unknown event type {name[:EVENT_NAME_MAX_LENGTH]!r}.")
        return Response(EventTypeDetailApi.OutputSerializer(definition).data)
