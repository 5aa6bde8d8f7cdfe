"""Partner API for inspecting and replaying events and deliveries. Views only validate and call services.

What the webhook would refuse to send is not shown here either: event data, ids and stored texts are returned with
card numbers masked (notifications.guards; docs/security.md section 7)."""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.audit import actor_of_request
from config.partner_api.errors import Conflict
from config.partner_api.fields import StrictInputSerializer
from config.partner_api.pagination import PAGE_PARAMETERS, paginated_response, paginated_schema
from notifications import guards, selectors, services
from notifications.models import DeliveryStatus, RecoverJob
from subscriptions.catalog import SUBSCRIBABLE_EVENT_NAMES
from subscriptions.models import EventSubscription

ERRORS = {
    400: OpenApiResponse(description="Invalid parameters: `error.fields` names each bad field."),
    401: OpenApiResponse(description="Missing or invalid bearer token."),
    403: OpenApiResponse(description="X-TENANT-ID does not match the token, or the token's level is too low."),
    404: OpenApiResponse(description="No such object for this tenant."),
}


class MaskedCharField(serializers.CharField):
    """Text with card numbers masked."""

    def to_representation(self, value) -> str:
        return guards.mask_card_numbers(super().to_representation(value))


class MaskedJSONField(serializers.JSONField):
    """JSON data with card numbers masked in every string."""

    def to_representation(self, value) -> object:
        return guards.mask_card_numbers_in(super().to_representation(value))


class AttemptOutput(serializers.Serializer):
    attemptNumber = serializers.IntegerField(source="attempt_number")
    startedAt = serializers.DateTimeField(source="started_at")
    durationMs = serializers.IntegerField(source="duration_ms")
    statusCode = serializers.IntegerField(source="status_code", allow_null=True)
    succeeded = serializers.BooleanField()
    responseBody = MaskedCharField(source="response_body", help_text="First 2 KB of the response body")
    errorClass = serializers.CharField(source="error_class")
    errorMessage = MaskedCharField(source="error_message")


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    eventId = MaskedCharField(source="event.event_id")
    subscriptionEventName = serializers.CharField(source="subscription.event_name", allow_null=True, default=None)
    destination = serializers.CharField(source="subscription.destination", allow_null=True, default=None)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attemptCount = serializers.IntegerField(source="attempt_count")
    nextAttemptAt = serializers.DateTimeField(source="next_attempt_at")
    lastStatusCode = serializers.IntegerField(source="last_status_code", allow_null=True)
    lastError = MaskedCharField(source="last_error")
    createdAt = serializers.DateTimeField(source="created_at")
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    attempts = AttemptOutput(many=True)


class MessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    channel = serializers.CharField()
    status = serializers.CharField(help_text="PENDING, HELD, SENDING, SENT (the provider accepted it), DELIVERED / "
                                   "UNDELIVERED (the provider's receipt), FAILED or SKIPPED")
    skipReason = serializers.CharField(source="skip_reason")
    providerMessageId = serializers.CharField(source="provider_message_id")
    providerErrorCode = serializers.CharField(source="provider_error_code",
                                              help_text="The provider's code, e.g. 30005, 550, UNREGISTERED")
    lastError = MaskedCharField(source="last_error")
    attemptCount = serializers.IntegerField(source="attempt_count")
    createdAt = serializers.DateTimeField(source="created_at")
    sentAt = serializers.DateTimeField(source="sent_at", allow_null=True)
    receiptAt = serializers.DateTimeField(source="receipt_at", allow_null=True,
                                          help_text="When the provider's delivery receipt arrived")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True,
                                           help_text="When the message reached its current final state")
    fallbackOf = serializers.IntegerField(source="fallback_of_id", allow_null=True,
                                          help_text="The message this one replaces on another channel")


class EventSummaryOutput(serializers.Serializer):
    eventId = MaskedCharField(source="event_id")
    eventName = serializers.CharField(source="event_name")
    eventType = serializers.CharField(source="event_type")
    occurredAt = serializers.DateTimeField(source="occurred_at")
    receivedAt = serializers.DateTimeField(source="received_at")
    entityId = MaskedCharField(source="entity_id")
    sequence = serializers.IntegerField(allow_null=True)
    data = MaskedJSONField()
    deliveryStatuses = serializers.SerializerMethodField()

    def get_deliveryStatuses(self, event) -> dict[str, int]:
        counts: dict[str, int] = {}
        for d in event.deliveries.all():
            counts[d.status] = counts.get(d.status, 0) + 1
        return counts


class EventDetailOutput(EventSummaryOutput):
    deliveries = DeliveryOutput(many=True)
    messages = MessageOutput(many=True)

    def get_deliveryStatuses(self, event) -> dict[str, int]:
        return super().get_deliveryStatuses(event)


class EventListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        eventName = serializers.ChoiceField(choices=SUBSCRIBABLE_EVENT_NAMES[1:], required=False, source="event_name")
        entityId = serializers.CharField(required=False, max_length=128, source="entity_id")
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)
        deliveryStatus = serializers.ChoiceField(
            choices=DeliveryStatus.choices, required=False, source="delivery_status"
        )

    @extend_schema(
        operation_id="events_list",
        summary="List events received for this tenant, newest first (cursor pagination).",
        parameters=[FilterSerializer, *PAGE_PARAMETERS],
        responses={
            200: paginated_schema(EventSummaryOutput, "EventPage"),
            **ERRORS,
            404: OpenApiResponse(description="The cursor is not valid (start again without it)."),
        },
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.event_list(partner=request.user.partner, filters=filters.validated_data)
        return paginated_response(self, request, queryset, EventSummaryOutput)


class EventDetailApi(APIView):
    @extend_schema(
        operation_id="events_retrieve",
        summary="One event with its webhook deliveries (and their attempts) and customer messages side by side.",
        responses={200: EventDetailOutput, **ERRORS},
    )
    def get(self, request, event_id: str):
        event = selectors.event_get(partner=request.user.partner, event_id=event_id)
        if event is None:
            raise Http404
        return Response(EventDetailOutput(event).data)


class EventDeliveriesApi(APIView):
    @extend_schema(
        operation_id="events_deliveries_list",
        summary="The webhook deliveries of one event, with every attempt.",
        responses={200: DeliveryOutput(many=True), **ERRORS},
    )
    def get(self, request, event_id: str):
        event = selectors.event_get(partner=request.user.partner, event_id=event_id)
        if event is None:
            raise Http404
        return Response(DeliveryOutput(event.deliveries.all(), many=True).data)


class DeliveryRetryApi(APIView):
    @extend_schema(
        operation_id="deliveries_retry",
        summary="Send a delivery again now, with a fresh retry budget (FAILED, SUCCEEDED or PENDING deliveries).",
        request=None,
        responses={202: DeliveryOutput, 409: OpenApiResponse(description="Being sent now, or cancelled."), **ERRORS},
    )
    def post(self, request, delivery_id: int):
        delivery = selectors.delivery_get(partner=request.user.partner, delivery_id=delivery_id)
        if delivery is None:
            raise Http404
        channel, actor = actor_of_request(request)
        try:
            delivery = services.delivery_retry(delivery=delivery, actor=actor, channel=channel)
        except services.DeliveryNotRetryable as exc:
            raise Conflict(str(exc)) from None
        return Response(DeliveryOutput(selectors.delivery_get(partner=request.user.partner,
                                                               delivery_id=delivery.pk)).data,
                        status=status.HTTP_202_ACCEPTED)


class SubscriptionTestApi(APIView):
    @extend_schema(
        operation_id="event_subscriptions_test",
        summary="Send a signed sample event (eventName WEBHOOK_TEST) to this subscription's destination now.",
        request=None,
        responses={
            202: inline_serializer("TestSent", {"eventId": serializers.CharField(),
                                                "deliveryId": serializers.IntegerField()}),
            409: OpenApiResponse(description="The subscription is disabled."),
            **ERRORS,
        },
    )
    def post(self, request, eventName: str):
        subscription = EventSubscription.objects.filter(partner=request.user.partner, event_name=eventName).first()
        if subscription is None:
            raise Http404
        channel, actor = actor_of_request(request)
        try:
            delivery = services.subscription_send_test(subscription=subscription, channel=channel, actor=actor)
        except services.SubscriptionDisabled as exc:
            raise Conflict(str(exc)) from None
        return Response({"eventId": delivery.event.event_id, "deliveryId": delivery.pk},
                        status=status.HTTP_202_ACCEPTED)


# --- Recover -------------------------------------------------------------------------------------------------------


class RecoverJobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    subscriptionEventName = serializers.CharField(source="subscription.event_name")
    state = serializers.ChoiceField(choices=RecoverJob.State.choices,
                                    help_text="QUEUED, RUNNING, then SUCCEEDED (or FAILED: ask again).")
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    status = serializers.CharField(source="delivery_status", help_text="Which deliveries are sent again.")
    matched = serializers.IntegerField(help_text="Deliveries in the window with that status.")
    processed = serializers.IntegerField(help_text="How many of them the job has gone through so far.")
    replayed = serializers.IntegerField(help_text="How many were sent again.")
    error = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)

    class Meta:
        ref_name = "RecoverJob"


def _subscription_or_404(request, event_name: str) -> EventSubscription:
    subscription = EventSubscription.objects.filter(partner=request.user.partner, event_name=event_name).first()
    if subscription is None:
        raise Http404
    return subscription


class SubscriptionRecoverApi(APIView):
    class InputSerializer(StrictInputSerializer):
        """The window to recover. Unknown fields are rejected (400)."""

        since = serializers.DateTimeField(help_text="Start of the window (ISO 8601), inclusive.")
        until = serializers.DateTimeField(required=False, help_text="End of the window, exclusive; default now. "
                                          "At most 14 days after since.")
        status = serializers.ChoiceField(choices=list(services.RECOVERABLE), required=False,
                                         default=DeliveryStatus.FAILED,
                                         help_text="FAILED (default): deliveries that failed for good. SUCCEEDED: "
                                         "send delivered events again (e.g. after losing them on your side).")

        class Meta:
            ref_name = "RecoverRequest"

    @extend_schema(
        operation_id="event_subscriptions_recover",
        summary="Send again every failed delivery of this subscription in a time window (a background job).",
        description="Starts a job that re-sends, with a fresh retry budget, the subscription's deliveries of the "
        "given status (default FAILED) created between since and until (default now; at most 14 days). One job per "
        "subscription at a time: the same request while its job is queued or running returns that job (200); a "
        "different one is 409. Follow the job at GET …/recover-jobs/{id}. Requires token level 2.",
        request=InputSerializer,
        responses={202: RecoverJobOutput, 200: RecoverJobOutput,
                   409: OpenApiResponse(description="Another recover job of this subscription is running."),
                   **ERRORS},
    )
    def post(self, request, eventName: str):
        subscription = _subscription_or_404(request, eventName)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        channel, actor = actor_of_request(request)
        try:
            job, created = services.recover_job_request(
                subscription=subscription, since=data["since"], until=data.get("until"), status=data["status"],
                channel=channel, actor=actor)
        except services.RecoverJobConflict as exc:
            raise Conflict(str(exc), extra={"recoverJobId": exc.job.pk}) from None
        return Response(RecoverJobOutput(job).data,
                        status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class RecoverJobApi(APIView):
    @extend_schema(
        operation_id="event_subscriptions_recover_job",
        summary="The progress of a recover job.",
        responses={200: RecoverJobOutput, **ERRORS},
    )
    def get(self, request, eventName: str, job_id: int):
        subscription = _subscription_or_404(request, eventName)
        job = RecoverJob.objects.filter(pk=job_id, subscription=subscription).select_related("subscription").first()
        if job is None:
            raise Http404
        return Response(RecoverJobOutput(job).data)
