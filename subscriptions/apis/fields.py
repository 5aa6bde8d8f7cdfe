"""Serializer fields shared by the event-subscription views: the eventName and destination fields (which run the
same validators as the services), the retryConfig input/output serializers and the advance-notification-periods
field."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as DrfValidationError

from config.partner_api.fields import StrictCharField, StrictInputSerializer, StrictIntegerField
from subscriptions.catalog import ALL_EVENTS
from subscriptions.destinations import MAX_URL_LENGTH, validate_destination_url
from subscriptions.models import EndpointAuthType, PayloadFormat, SignatureScheme
from subscriptions.options import HEADER_NAME_MAX_LENGTH, HEADER_VALUE_MAX_LENGTH, MAX_HEADERS, RATE_LIMIT_MAX
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


# --- delivery options (subscriptions.options holds the rules; these fields check only the JSON types) ---------------


def headers_field(**kwargs) -> serializers.DictField:
    return serializers.DictField(
        child=StrictCharField(allow_blank=True, trim_whitespace=False, max_length=HEADER_VALUE_MAX_LENGTH),
        help_text=(
            f"Extra HTTP headers sent with every webhook request to this subscription, e.g. "
            f'{{"X-Api-Key": "…"}}. At most {MAX_HEADERS}; names are HTTP tokens of up to {HEADER_NAME_MAX_LENGTH} '
            f"characters, values printable ASCII of up to {HEADER_VALUE_MAX_LENGTH}. Refused: webhook-*, content-*, "
            "proxy-*, Host, Authorization (use `auth`), Expect and the connection headers (Connection, Keep-Alive, "
            "TE, Trailer, Transfer-Encoding, Upgrade). On PUT the object replaces the stored headers; {} removes "
            "them."
        ),
        **kwargs,
    )


def rate_limit_field(**kwargs) -> StrictIntegerField:
    return StrictIntegerField(
        min_value=1, max_value=RATE_LIMIT_MAX, allow_null=True,
        help_text="At most this many webhook requests per second reach the destination, counted across all of the "
        "platform's workers. Deliveries beyond it wait their turn; none is failed or dropped for it. null: no limit "
        "(the default).",
        **kwargs,
    )


def signature_scheme_field(**kwargs) -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=SignatureScheme.values,
        help_text="hmac-sha256 (default): Standard Webhooks `v1` signatures with the `whsec_` secret. ed25519: `v1a` "
        "signatures; verify them with the `whpk_` public key from GET …/{eventName}/secret. Changing it replaces the "
        "signing key; the previous key keeps signing beside the new one for 24 hours.",
        **kwargs,
    )


class AuthInputSerializer(StrictInputSerializer):
    """How the platform authenticates to your endpoint besides the signature. `type` decides which fields apply:
    oauth2 (tokenUrl, clientId, clientSecret, scope), mtls (certificate, privateKey), basic (username, password).
    Secrets are stored encrypted and never returned; on PUT a secret may be left out to keep the stored one (same
    type, and for mtls the same certificate)."""

    type = serializers.ChoiceField(choices=[t.value for t in EndpointAuthType if t.value])
    tokenUrl = StrictCharField(required=False, help_text="oauth2: the token endpoint (https; the same address rules "
                               "as destinations).")
    clientId = StrictCharField(required=False, help_text="oauth2: the client id.")
    clientSecret = StrictCharField(required=False, write_only=True, help_text="oauth2: the client secret.")
    scope = StrictCharField(required=False, help_text="oauth2: space-separated scopes to request (optional).")
    certificate = StrictCharField(required=False, trim_whitespace=False,
                                  help_text="mtls: the client certificate (PEM; intermediates may follow).")
    privateKey = StrictCharField(required=False, write_only=True, trim_whitespace=False,
                                 help_text="mtls: its private key (unencrypted PEM; RSA ≥ 2048 bits, EC or Ed25519).")
    username = StrictCharField(required=False, help_text="basic: the user name.")
    password = StrictCharField(required=False, write_only=True, help_text="basic: the password.")

    # What GET adds about a certificate may be sent back (GET → PUT round trip); it is worked out from the PEM.
    ignored_fields = ("certificateSubject", "certificateExpiresAt", "certificateSha256")

    class Meta:
        ref_name = "EndpointAuthInput"

    def to_internal_value(self, data):
        # Only the fields actually sent: the service tells which ones the type needs.
        value = super().to_internal_value(data)
        return {k: v for k, v in value.items() if v is not None}


class AuthOutputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=[t.value for t in EndpointAuthType if t.value])
    tokenUrl = serializers.CharField(required=False)
    clientId = serializers.CharField(required=False)
    scope = serializers.CharField(required=False)
    username = serializers.CharField(required=False)
    certificate = serializers.CharField(required=False, help_text="mtls: the client certificate (PEM).")
    certificateSubject = serializers.CharField(required=False)
    certificateExpiresAt = serializers.DateTimeField(required=False)
    certificateSha256 = serializers.CharField(required=False)

    class Meta:
        ref_name = "EndpointAuth"


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
