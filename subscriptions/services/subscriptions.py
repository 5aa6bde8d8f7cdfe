"""Event subscriptions: create, update (disable / re-enable) and delete, with the field rules every entry point
shares and the audited snapshot of a subscription."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.partner_api.audit import audit_record
from notifications.models import DeliveryStatus, WebhookDelivery
from notifications.queue import trigger_requeue_due_work
from subscriptions.destinations import validate_destination_url
from subscriptions.models import AuditChannel, EventSubscription, Partner, generate_signing_secret
from subscriptions.services.audit_values import iso_or_none
from subscriptions.validators import (
    default_max_retries,
    default_retry_interval_seconds,
    normalize_advance_periods,
    validate_event_name,
    validate_max_retries,
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
        "disabled_reason": subscription.disabled_reason,
        "disabled_at": iso_or_none(subscription.disabled_at),
    }


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
) -> list[int] | None:
    """Apply every field rule, collecting errors under the API's field names; returns the normalised periods."""
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
    periods = None
    # Whether periods are allowed depends on the event's type, which is unknowable for an invalid eventName.
    if advance_notification_periods is not None and "eventName" not in errors:
        periods = check(
            "advanceNotificationPeriods",
            lambda: normalize_advance_periods(event_name=event_name, periods=advance_notification_periods),
        )
    if errors:
        raise ValidationError(errors)
    return periods


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
) -> EventSubscription:
    """Create the partner's subscription for `event_name` with a new signing secret.

    Omitted retry settings take the WEBHOOK_DEFAULT_* settings. Raises ValidationError for a bad field and
    SubscriptionExists when the partner already subscribed to this eventName."""
    periods = _validate_subscription_fields(
        event_name=event_name,
        destination=destination,
        max_retries=max_retries,
        retry_interval_seconds=retry_interval_seconds,
        advance_notification_periods=advance_notification_periods or [],
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
    )
    if not is_enabled:
        subscription.disabled_at = timezone.now()
        subscription.disabled_reason = _disabled_reason_for(channel)
    subscription.set_secret(generate_signing_secret())
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
) -> EventSubscription:
    """Change the given fields; a field passed as None keeps its value.

    Disabling records when and why. Re-enabling clears the disabled/failing state, makes the subscription's pending
    deliveries due now and, after commit, asks the workers to pick them up."""
    # Lock the row: two concurrent PUTs (or a PUT and the endpoint-health disabler) must not interleave.
    locked = EventSubscription.objects.select_for_update().get(pk=subscription.pk)
    periods = _validate_subscription_fields(
        event_name=locked.event_name,
        destination=destination,
        max_retries=max_retries,
        retry_interval_seconds=retry_interval_seconds,
        advance_notification_periods=advance_notification_periods,
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
    re_enabled = is_enabled is True and not locked.is_enabled
    if is_enabled is False and locked.is_enabled:
        locked.is_enabled = False
        locked.disabled_at = now
        locked.disabled_reason = _disabled_reason_for(channel)
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
    after = subscription_snapshot(locked)
    # A PUT that changes nothing (e.g. a retried request) leaves no audit noise.
    if after != before:
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
