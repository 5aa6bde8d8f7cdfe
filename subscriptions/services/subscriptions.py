"""Event subscriptions: create, update (disable / re-enable) and delete, with the field rules every entry point
shares and the audited snapshot of a subscription."""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.partner_api.audit import audit_record
from notifications.models import DeliveryStatus, WebhookDelivery
from notifications.outbox import publish_endpoint_event
from notifications.queue import trigger_requeue_due_work
from subscriptions.destinations import validate_destination_url
from subscriptions.models import AuditChannel, EventSubscription, Partner, PayloadFormat, SignatureScheme
from subscriptions.options import (
    KEEP,
    NO_AUTH,
    AuthSettings,
    auth_summary,
    normalize_auth,
    validate_headers,
    validate_rate_limit,
    validate_signature_scheme,
)
from subscriptions.services.audit_values import iso_or_none
from subscriptions.services.secrets import new_signing_key, replace_signing_key
from subscriptions.validators import (
    default_max_retries,
    default_retry_interval_seconds,
    normalize_advance_periods,
    validate_event_name,
    validate_max_retries,
    validate_payload_format,
    validate_retry_interval_seconds,
)


class SubscriptionExists(Exception):
    """The partner already has a subscription for this eventName (one per tenant and eventName)."""

    def __init__(self, event_name: str):
        super().__init__(f"A subscription for {event_name} already exists; update it with PUT instead.")
        self.event_name = event_name


def subscription_snapshot(subscription: EventSubscription) -> dict[str, Any]:
    """The audited view of a subscription (never the secret)."""
    return {
        "event_name": subscription.event_name,
        "is_enabled": subscription.is_enabled,
        "destination": subscription.destination,
        "max_retries": subscription.max_retries,
        "retry_interval_seconds": subscription.retry_interval_seconds,
        "advance_notification_periods": list(subscription.advance_notification_periods or []),
        "payload_format": subscription.payload_format,
        "disabled_reason": subscription.disabled_reason,
        "disabled_at": iso_or_none(subscription.disabled_at),
        # Header names only: values may be credentials and are never audited (nor logged).
        "header_names": sorted(subscription.headers or {}),
        "rate_limit_per_second": subscription.rate_limit_per_second,
        "auth": auth_summary(subscription.auth_type, subscription.auth_config or {}),
        "signature_scheme": subscription.signature_scheme,
    }


def current_auth(subscription: EventSubscription) -> AuthSettings:
    """The stored `auth` of a subscription, secret included (for validating a change against it)."""
    if not subscription.auth_type:
        return NO_AUTH
    return AuthSettings(subscription.auth_type, dict(subscription.auth_config or {}), subscription.auth_secret)


@dataclass(frozen=True)
class DeliveryOptions:
    """The optional delivery options of a create or update; KEEP leaves one as it is (update only)."""

    headers: Any = KEEP  # dict (empty: none)
    rate_limit_per_second: Any = KEEP  # int, or None for no limit
    auth: Any = KEEP  # dict as the API takes it, or None for none
    signature_scheme: Any = KEEP  # SignatureScheme value


NO_OPTIONS = DeliveryOptions()


def _validate_options(options: DeliveryOptions, current: AuthSettings, errors: dict[str, list[str]]) -> dict:
    """Validated option values (only those given), with their errors collected into `errors`."""
    values: dict[str, Any] = {}
    checks = (("headers", "headers", validate_headers), ("rateLimitPerSecond", "rate_limit_per_second",
              validate_rate_limit), ("signatureScheme", "signature_scheme", validate_signature_scheme))
    for key, attr, validator in checks:
        given = getattr(options, attr)
        if given is KEEP:
            continue
        try:
            values[attr] = validator(given)
        except ValidationError as exc:
            errors.setdefault(key, []).extend(exc.messages)
    if options.auth is not KEEP:
        try:
            values["auth"] = normalize_auth(options.auth, current=current)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    return values


def _apply_options(locked: EventSubscription, values: dict) -> dict[str, Any]:
    """Write validated option values onto the subscription (not saved); returns audit notes for changes the
    snapshot cannot show (a secret or a header value changed)."""
    notes: dict[str, Any] = {}
    if "headers" in values:
        old = locked.headers or {}
        changed = sorted(n for n in set(old) & set(values["headers"]) if old[n] != values["headers"][n])
        if changed:
            notes["header_values_changed"] = changed
        locked.headers = values["headers"]
    if "rate_limit_per_second" in values:
        locked.rate_limit_per_second = values["rate_limit_per_second"]
    if "auth" in values:
        auth: AuthSettings = values["auth"]
        if locked.auth_type and auth.auth_type == locked.auth_type and auth.secret != locked.auth_secret:
            notes["auth_secret_changed"] = True
        locked.auth_type, locked.auth_config = auth.auth_type, auth.config
        locked.set_auth_secret(auth.secret)
    scheme = values.get("signature_scheme")
    if scheme is not None and scheme != locked.signature_scheme:
        locked.signature_scheme = scheme
        if locked.pk is not None:
            # A new key of the new kind; the old one keeps signing for the rotation overlap (receivers switch at
            # leisure, as for a rotation).
            notes["previous_key_expires_at"] = iso_or_none(replace_signing_key(locked))
    return notes


def _disabled_reason_for(channel: str) -> str:
    if channel == AuditChannel.ADMIN:
        return "Disabled by support staff"
    if channel in (AuditChannel.PARTNER_API, AuditChannel.PORTAL):
        return "Disabled by the partner"
    return "Disabled by an operator"


def _validate_subscription_fields(
    *,
    event_name: str,
    destination: str | None,
    max_retries: int | None,
    retry_interval_seconds: int | None,
    advance_notification_periods: list[int] | None,
    options: DeliveryOptions = NO_OPTIONS,
    current_auth_settings: AuthSettings = NO_AUTH,
    payload_format: str | None = None,
) -> tuple[list[int] | None, dict[str, Any]]:
    """Apply every field rule, collecting errors under the API's field names; returns the normalised periods and
    the validated delivery options."""
    # Collect every field's errors before raising, so a client fixes its request in one round trip.
    errors: dict[str, list[str]] = {}

    def check(key: str, validator, *args) -> Any:
        try:
            return validator(*args)
        except ValidationError as exc:
            errors.setdefault(key, []).extend(exc.messages)
            return None

    check("eventName", validate_event_name, event_name)
    if destination is not None:
        check("destination", validate_destination_url, destination)
    if max_retries is not None:
        check("retryConfig.maxRetries", validate_max_retries, max_retries)
    if retry_interval_seconds is not None:
        check("retryConfig.retryIntervalSeconds", validate_retry_interval_seconds, retry_interval_seconds)
    if payload_format is not None:
        check("payloadFormat", validate_payload_format, payload_format)
    periods = None
    # Whether periods are allowed depends on the event's type, which is unknowable for an invalid eventName.
    if advance_notification_periods is not None and "eventName" not in errors:
        periods = check(
            "advanceNotificationPeriods",
            lambda: normalize_advance_periods(event_name=event_name, periods=advance_notification_periods),
        )
    option_values = _validate_options(options, current_auth_settings, errors)
    if errors:
        raise ValidationError(errors)
    return periods, option_values


@transaction.atomic
def subscription_create(
    *,
    partner: Partner,
    event_name: str,
    destination: str,
    channel: str,
    actor: str,
    is_enabled: bool = True,
    max_retries: int | None = None,
    retry_interval_seconds: int | None = None,
    advance_notification_periods: list[int] | None = None,
    options: DeliveryOptions = NO_OPTIONS,
    payload_format: str | None = None,
) -> EventSubscription:
    """Create the partner's subscription for `event_name` with a new signing secret (or Ed25519 key).

    Omitted retry settings take the WEBHOOK_DEFAULT_* settings; omitted options are off. Raises ValidationError for
    a bad field and SubscriptionExists when the partner already subscribed to this eventName."""
    periods, option_values = _validate_subscription_fields(
        event_name=event_name,
        destination=destination,
        max_retries=max_retries,
        retry_interval_seconds=retry_interval_seconds,
        advance_notification_periods=advance_notification_periods or [],
        options=options,
        payload_format=payload_format,
    )
    # The friendly check; the unique constraint below settles a race between two concurrent creates.
    if EventSubscription.objects.filter(partner=partner, event_name=event_name).exists():
        raise SubscriptionExists(event_name)
    subscription = EventSubscription(
        partner=partner,
        event_name=event_name,
        destination=destination,
        is_enabled=is_enabled,
        max_retries=default_max_retries() if max_retries is None else max_retries,
        retry_interval_seconds=(
            default_retry_interval_seconds() if retry_interval_seconds is None else retry_interval_seconds
        ),
        advance_notification_periods=periods or [],
        payload_format=payload_format or PayloadFormat.STANDARD,
    )
    if not is_enabled:
        subscription.disabled_at = timezone.now()
        subscription.disabled_reason = _disabled_reason_for(channel)
    _apply_options(subscription, option_values)
    subscription.set_secret(new_signing_key(subscription.signature_scheme or SignatureScheme.HMAC_SHA256))
    try:
        # A savepoint, so that losing a race with a concurrent create leaves the outer transaction usable.
        with transaction.atomic():
            subscription.save()
    except IntegrityError:
        raise SubscriptionExists(event_name) from None
    audit_record(
        channel=channel,
        actor=actor,
        partner=partner,
        action="subscription.created",
        object_type="EventSubscription",
        object_id=subscription.pk,
        after=subscription_snapshot(subscription),
    )
    return subscription


@transaction.atomic
def subscription_update(
    *,
    subscription: EventSubscription,
    channel: str,
    actor: str,
    is_enabled: bool | None = None,
    destination: str | None = None,
    max_retries: int | None = None,
    retry_interval_seconds: int | None = None,
    advance_notification_periods: list[int] | None = None,
    options: DeliveryOptions = NO_OPTIONS,
    payload_format: str | None = None,
) -> EventSubscription:
    """Change the given fields; a field passed as None (an option passed as KEEP) keeps its value.

    Disabling records when and why. Re-enabling clears the disabled/failing state, makes the subscription's pending
    deliveries due now and, after commit, asks the workers to pick them up."""
    # Lock the row: two concurrent PUTs (or a PUT and the endpoint-health disabler) must not interleave.
    locked = EventSubscription.objects.select_for_update().get(pk=subscription.pk)
    periods, option_values = _validate_subscription_fields(
        event_name=locked.event_name,
        destination=destination,
        max_retries=max_retries,
        retry_interval_seconds=retry_interval_seconds,
        advance_notification_periods=advance_notification_periods,
        options=options,
        current_auth_settings=current_auth(locked),
        payload_format=payload_format,
    )
    before = subscription_snapshot(locked)
    now = timezone.now()
    if destination is not None:
        locked.destination = destination
    if max_retries is not None:
        locked.max_retries = max_retries
    if retry_interval_seconds is not None:
        locked.retry_interval_seconds = retry_interval_seconds
    if periods is not None:
        locked.advance_notification_periods = periods
    notes = _apply_options(locked, option_values)
    if payload_format is not None:
        # Deliveries not sent yet go out in the new format too (webhooks.bodies renders what ingest did not).
        locked.payload_format = payload_format
    re_enabled = is_enabled is True and not locked.is_enabled
    if is_enabled is False and locked.is_enabled:
        locked.is_enabled = False
        locked.disabled_at = now
        locked.disabled_reason = _disabled_reason_for(channel)
        publish_endpoint_event(subscription=locked, event_name="ENDPOINT_DISABLED",
                               data={"reason": locked.disabled_reason, "lastError": ""})
    elif re_enabled:
        locked.is_enabled = True
        locked.disabled_at = None
        locked.disabled_reason = ""
        locked.failing_since = None
    locked.save()
    if re_enabled:
        # Deliveries that waited while disabled may be hours into their back-off; the partner fixed the endpoint,
        # so try them now rather than at their old schedule. The task runs after commit so it sees this change.
        WebhookDelivery.objects.filter(subscription=locked, status=DeliveryStatus.PENDING).update(next_attempt_at=now)
        # Redis is only the trigger (a broker error is logged, not raised): if it is down, the beat sweep finds the
        # re-opened deliveries anyway.
        transaction.on_commit(trigger_requeue_due_work)
        publish_endpoint_event(subscription=locked, event_name="ENDPOINT_ENABLED",
                               data={"enabledBy": _actor_kind(channel)})
    after = subscription_snapshot(locked)
    # A PUT that changes nothing (e.g. a retried request) leaves no audit noise.
    if after != before or notes:
        after.update(notes)
        audit_record(
            channel=channel,
            actor=actor,
            partner=locked.partner,
            action="subscription.updated",
            object_type="EventSubscription",
            object_id=locked.pk,
            before=before,
            after=after,
        )
    return locked


def _actor_kind(channel: str) -> str:
    return {AuditChannel.ADMIN: "SUPPORT", AuditChannel.PARTNER_API: "PARTNER"}.get(channel, "PLATFORM")


@transaction.atomic
def subscription_delete(*, subscription: EventSubscription, channel: str, actor: str) -> int:
    """Delete the subscription and cancel its undelivered (PENDING/SENDING) deliveries; returns how many."""
    locked = EventSubscription.objects.select_for_update().get(pk=subscription.pk)
    now = timezone.now()
    # SENDING rows too: clearing claim_token turns the worker's outcome write (WHERE claim_token = its own) into a
    # no-op, so a request already in flight is not recorded over CANCELLED nor retried.
    cancelled = WebhookDelivery.objects.filter(
        subscription=locked, status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
    ).update(
        status=DeliveryStatus.CANCELLED,
        completed_at=now,
        lease_expires_at=None,
        claim_token=None,
        last_error="Subscription deleted before delivery",
    )
    before = subscription_snapshot(locked)
    object_id = locked.pk
    partner = locked.partner
    locked.delete()
    audit_record(
        channel=channel,
        actor=actor,
        partner=partner,
        action="subscription.deleted",
        object_type="EventSubscription",
        object_id=object_id,
        before=before,
        after={"cancelled_deliveries": cancelled},
    )
    return cancelled
