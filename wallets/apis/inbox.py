"""A cardholder's in-app inbox (the IN_APP channel): list (cursor pagination, newest first), count unread, mark one
or all read. Tenant-scoped through the cardholder: another tenant's customerId is a 404."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.openapi import error_response, error_responses
from config.partner_api.pagination import PAGE_PARAMETERS, paginated_response, paginated_schema
from wallets import selectors
from wallets.apis.common import READ, WRITE, _cardholder_or_404
from wallets.services.inbox import inbox_mark_all_read, inbox_mark_read


class InboxEntryOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The notification's id, for …/inbox/{id}/read")
    eventId = serializers.CharField(source="event_id")
    eventName = serializers.CharField(source="event_name")
    category = serializers.CharField(help_text="The event's catalog category")
    title = serializers.CharField()
    body = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")
    readAt = serializers.DateTimeField(source="read_at", allow_null=True, help_text="null while unread")


class InboxApi(APIView):
    required_level = {"GET": READ}

    class FilterSerializer(serializers.Serializer):
        unread = serializers.BooleanField(required=False, default=False, help_text="Only unread notifications")

    @extend_schema(
        operation_id="cardholders_inbox_list",
        summary="A cardholder's in-app notifications, newest first",
        parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, description="Only unread ones"),
                    *PAGE_PARAMETERS],
        responses={200: paginated_schema(InboxEntryOutput, "InboxPage"),
                   404: error_response(404, "No cardholder with this customerId, or a bad cursor.")},
    )
    def get(self, request, customer_id: str):
        cardholder = _cardholder_or_404(request, customer_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        entries = selectors.inbox_list(cardholder=cardholder, unread_only=filters.validated_data["unread"])
        return paginated_response(self, request, entries, InboxEntryOutput)


class InboxUnreadCountApi(APIView):
    required_level = {"GET": READ}

    @extend_schema(
        operation_id="cardholders_inbox_unread_count",
        summary="How many of the cardholder's in-app notifications are unread",
        responses={200: inline_serializer("InboxUnreadCount", fields={"unread": serializers.IntegerField()}),
                   **error_responses(404)},
    )
    def get(self, request, customer_id: str):
        cardholder = _cardholder_or_404(request, customer_id)
        return Response({"unread": selectors.inbox_unread_count(cardholder=cardholder)})


class InboxEntryReadApi(APIView):
    required_level = {"POST": WRITE}

    @extend_schema(
        operation_id="cardholders_inbox_mark_read",
        summary="Mark one in-app notification read",
        description="Marking it again keeps the first readAt.",
        request=None,
        responses={200: InboxEntryOutput, **error_responses(404)},
    )
    def post(self, request, customer_id: str, entry_id: int):
        cardholder = _cardholder_or_404(request, customer_id)
        entry = selectors.inbox_get(cardholder=cardholder, entry_id=entry_id)
        if entry is None:
            raise NotFound("No notification with this id in the cardholder's inbox.")
        return Response(InboxEntryOutput(inbox_mark_read(entry=entry)).data)


class InboxReadAllApi(APIView):
    required_level = {"POST": WRITE}

    @extend_schema(
        operation_id="cardholders_inbox_mark_all_read",
        summary="Mark all of the cardholder's in-app notifications read",
        request=None,
        responses={200: inline_serializer("InboxMarkedRead", fields={
            "marked": serializers.IntegerField(help_text="How many were unread")}), **error_responses(404)},
    )
    def post(self, request, customer_id: str):
        cardholder = _cardholder_or_404(request, customer_id)
        return Response({"marked": inbox_mark_all_read(cardholder=cardholder)})
