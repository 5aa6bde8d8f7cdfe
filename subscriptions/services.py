"""Write-side services of the subscriptions app: partners, API tokens, event subscriptions and their signing secrets.

Every change is audited (`audit_record`) in the same transaction. Callers (partner API, admin, management commands)
pass the audit `channel` and `actor`; the services never read a request."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.partner_api.audit import audit_record
from notifications.models import DeliveryStatus, WebhookDelivery
from subscriptions.crypto import reencrypt_secret
from subscriptions.destinations import validate_destination_url
from subscriptions.models import (
    ApiToken,
    AuditChannel,
    EventSubscription,
    Partner,
    TokenLevel,
    generate_signing_secret,
    hash_token,
)
from subscriptions.validators import (
    default_max_retries,
    default_retry_interval_seconds,
    normalize_advance_periods,
    validate_event_name,
    validate_max_retries,
    validate_retry_interval_seconds,
)

logger = logging.getLogger(__name__)

TOKEN_PREFIX_LENGTH = 12
TENANT_ID_MAX_LENGTH = 64


class SubscriptionExists(Exception):
    """The partner already has a subscription for this eventName (one per tenant and eventName)."""

    def __init__(self, event_name: str):
        super().__init__(f"A subscription for {event_name} already exists; update it with PUT instead.")
        self.event_name = event_name


class PartnerExists(Exception):
    """A partner with this tenant id already exists."""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


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
        "disabled_at": _iso(subscription.disabled_at),
    }


def _disabled_reason_for(channel: str) -> str:
    if channel == AuditChannel.ADMIN:
        return "Disabled by support staff"
    if channel == AuditChannel.PARTNER_API:
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


def _requeue_due_work() -> None:
    # Redis is only the trigger: if it is down, the beat sweep finds the re-opened deliveries anyway.
    try:
        from notifications.tasks import requeue_due_work

        requeue_due_work.delay()
    except Exception:
        logger.warning("Could not enqueue requeue_due_work after re-enabling a subscription", exc_info=True)


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
        transaction.on_commit(_requeue_due_work)
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


@transaction.atomic
def subscription_secret_rotate(*, subscription: EventSubscription, channel: str, actor: str) -> EventSubscription:
    """Give the subscription a new signing secret. The current one keeps signing beside it (two signatures per
    request) for WEBHOOK_SECRET_ROTATION_OVERLAP_HOURS, so receivers can switch without dropping a webhook.

    Rotating again inside the overlap replaces the older previous secret: only the last two secrets sign."""
    locked = EventSubscription.objects.select_for_update().get(pk=subscription.pk)
    expires_at = timezone.now() + timedelta(hours=settings.WEBHOOK_SECRET_ROTATION_OVERLAP_HOURS)
    # Keep the ciphertext as is: no need to decrypt the old secret to keep it.
    locked.previous_secret_encrypted = locked.secret_encrypted
    locked.previous_secret_expires_at = expires_at
    locked.set_secret(generate_signing_secret())
    locked.save(update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_secret_expires_at",
                               "updated_at"])
    audit_record(
        channel=channel,
        actor=actor,
        partner=locked.partner,
        action="subscription.secret_rotated",
        object_type="EventSubscription",
        object_id=locked.pk,
        after={"event_name": locked.event_name, "previous_secret_expires_at": _iso(expires_at)},
    )
    return locked


@transaction.atomic
def subscription_secret_reveal(*, subscription: EventSubscription, channel: str, actor: str) -> str:
    """The current signing secret in clear. Reading a secret is sensitive, so it is audited too."""
    audit_record(
        channel=channel,
        actor=actor,
        partner=subscription.partner,
        action="subscription.secret_viewed",
        object_type="EventSubscription",
        object_id=subscription.pk,
        after={"event_name": subscription.event_name},
    )
    return subscription.secret


@dataclass
class ReencryptReport:
    reencrypted: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"reencrypted": self.reencrypted, "failed": self.failed}


def subscription_secrets_reencrypt(*, channel: str, actor: str, batch_size: int = 500) -> ReencryptReport:
    """Re-encrypt every stored signing secret under the first key of SECRETS_ENCRYPTION_KEYS (after a new key is
    put first), so that the old key can then be removed. Rows that no configured key decrypts are reported."""
    report = ReencryptReport()
    ids = list(EventSubscription.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        # One short transaction per batch, with row locks, so a concurrent rotation is never overwritten.
        with transaction.atomic():
            batch = (
                EventSubscription.objects.select_for_update(of=("self",))
                .select_related("partner")
                .filter(pk__in=ids[start : start + batch_size])
            )
            for sub in batch:
                try:
                    sub.secret_encrypted = reencrypt_secret(sub.secret_encrypted)
                    if sub.previous_secret_encrypted:
                        sub.previous_secret_encrypted = reencrypt_secret(sub.previous_secret_encrypted)
                except InvalidToken:
                    report.failed.append(
                        {"id": sub.pk, "tenantId": sub.partner.tenant_id, "eventName": sub.event_name}
                    )
                    continue
                # update() rather than save(): re-encryption is not a change a partner should see in updatedAt.
                EventSubscription.objects.filter(pk=sub.pk).update(
                    secret_encrypted=sub.secret_encrypted, previous_secret_encrypted=sub.previous_secret_encrypted
                )
                report.reencrypted += 1
    with transaction.atomic():
        audit_record(
            channel=channel,
            actor=actor,
            action="subscription.secrets_reencrypted",
            object_type="EventSubscription",
            object_id="*",
            after=report.as_dict(),
        )
    return report


def validate_tenant_id(tenant_id: str) -> None:
    if not tenant_id or len(tenant_id) > TENANT_ID_MAX_LENGTH:
        raise ValidationError(f"The tenant id must be 1 to {TENANT_ID_MAX_LENGTH} characters.", code="invalid")
    try:
        validate_slug(tenant_id)
    except ValidationError:
        raise ValidationError(
            "The tenant id may contain only letters, digits, hyphens and underscores.", code="invalid"
        ) from None


@transaction.atomic
def partner_create(*, tenant_id: str, name: str, channel: str, actor: str) -> Partner:
    """Create a partner (tenant). Raises ValidationError for a bad id or name, PartnerExists for a taken id
    (compared case-insensitively, so `Acme` and `acme` cannot both exist)."""
    validate_tenant_id(tenant_id)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError({"name": ["The partner name must be 1 to 200 characters."]})
    if Partner.objects.filter(tenant_id__iexact=tenant_id).exists():
        raise PartnerExists(f"A partner with tenant id {tenant_id!r} already exists.")
    partner = Partner.objects.create(tenant_id=tenant_id, name=name)
    audit_record(
        channel=channel,
        actor=actor,
        partner=partner,
        action="partner.created",
        object_type="Partner",
        object_id=partner.tenant_id,
        after={"tenant_id": partner.tenant_id, "name": partner.name, "is_active": partner.is_active},
    )
    return partner


@transaction.atomic
def partner_update(
    *, partner: Partner, channel: str, actor: str, name: str | None = None, is_active: bool | None = None
) -> Partner:
    """Rename or (de)activate a partner; a deactivated partner's tokens stop authenticating at once."""
    before = {"name": partner.name, "is_active": partner.is_active}
    if name is not None:
        partner.name = name.strip()
    if is_active is not None:
        partner.is_active = is_active
    after = {"name": partner.name, "is_active": partner.is_active}
    if after != before:
        partner.save(update_fields=["name", "is_active"])
        audit_record(
            channel=channel,
            actor=actor,
            partner=partner,
            action="partner.updated",
            object_type="Partner",
            object_id=partner.tenant_id,
            before=before,
            after=after,
        )
    return partner


@transaction.atomic
def token_issue(
    *, partner: Partner, channel: str, actor: str, level: int = TokenLevel.STANDARD, name: str = ""
) -> tuple[ApiToken, str]:
    """Issue an API token for the partner. Returns (token row, raw token): the raw token is not stored (only its
    SHA-256), so this is the only time it can be shown."""
    if level not in TokenLevel.values:
        raise ValidationError({"level": [f"The token level must be one of {TokenLevel.values}."]})
    raw = ApiToken.generate()
    # The prefix identifies a token in the admin, logs and revoke_token without being enough to use it.
    token = ApiToken.objects.create(
        partner=partner,
        name=(name or "")[:100],
        prefix=raw[:TOKEN_PREFIX_LENGTH],
        token_hash=hash_token(raw),
        level=level,
    )
    audit_record(
        channel=channel,
        actor=actor,
        partner=partner,
        action="token.issued",
        object_type="ApiToken",
        object_id=token.prefix,
        after={"name": token.name, "level": token.level, "prefix": token.prefix},
    )
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, channel: str, actor: str) -> ApiToken:
    """Revoke a token (it stops authenticating immediately). Revoking a revoked token changes nothing."""
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        channel=channel,
        actor=actor,
        partner=token.partner,
        action="token.revoked",
        object_type="ApiToken",
        object_id=token.prefix,
        after={"revoked_at": _iso(token.revoked_at)},
    )
    return token
