"""Serializer fields shared by the event-subscription views: the eventName and destination fields (which run the
same validators as the services), the retryConfig input/output serializers and the advance-notification-periods
field."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as DrfValidationError

from config.partner_api.fields import StrictCharField, StrictInputSerializer, StrictIntegerField
from subscriptions.catalog import ALL_EVENTS
from subscriptions.destinations import MAX_URL_LENGTH, validate_destination_url
from subscriptions.models import PayloadFormat
from subscriptions.validators import (
    ADVANCE_PERIOD_MAX_DAYS,
    ADVANCE_PERIODS_MAX_COUNT,
    EVENT_NAME_MAX_LENGTH,
    MAX_RETRIES_MAX,
    MAX_RETRIES_MIN,
    RETRY_INTERVAL_MAX,
    RETRY_INTERVAL_MIN,
    payload_format_error,
    validate_event_name,
)


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
    """How failed webhook deliveries are retried. Unknown fields are rejected (400)."""

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


def advance_periods_field(**kwargs) -> serializers.ListField:
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


class PayloadFormatField(serializers.ChoiceField):
    """`payloadFormat`: a JSON string, one of the allowed values; anything else is a 400 that names them."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            "The body shape of this subscription's webhooks (the signature and headers are the same for all): "
            "`standard` (default) the platform's envelope; `issuer` the envelope `operation`, `sub_operation`, "
            "`operation_id` (= eventId), `status` (SUCCESS, CANCELLED or FAILED), `reason`, `data`; `p2c` "
            "`EventId`, `EventName`, `Data` with PascalCase names. See GET /event-types/{name} for each event's "
            "example in every format.",
        )
        kwargs.setdefault("error_messages", {"null": payload_format_error(None)})
        super().__init__(choices=PayloadFormat.values, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or data not in PayloadFormat.values:
            raise DrfValidationError([payload_format_error(data)], code="invalid_choice")
        return data
