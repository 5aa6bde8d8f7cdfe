"""Endpoint health: the one place that decides when a failing subscription is disabled.

- `410 Gone` disables the subscription at once (the partner told us the endpoint is gone).
- A subscription whose every attempt has failed for WEBHOOK_DISABLE_AFTER_FAILING_SECONDS (default 5 days) is
  disabled. Any 2xx clears the failing streak.
Each disablement is recorded on the subscription (reason, time, last error), audited, and emitted to the partner as a
SUBSCRIPTION_DISABLED and an ENDPOINT_DISABLED event. Deliveries stay PENDING and resume when the subscription is
re-enabled. The first success after a failing streak emits ENDPOINT_RECOVERED (once: only the statement that clears
the streak emits it)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from config.partner_api.audit import audit_record
from notifications.outbox import publish_endpoint_event, publish_event
from subscriptions.models import AuditChannel, EventSubscription

logger = logging.getLogger(__name__)


def subscription_disable(*, subscription: EventSubscription, reason: str, last_error: str) -> None:
    """Disable a subscription for failing; idempotent."""
    updated = EventSubscription.objects.filter(pk=subscription.pk, is_enabled=True).update(
        is_enabled=False, disabled_reason=reason[:200], disabled_at=timezone.now()
    )
    if not updated:
        return
    logger.warning("Disabled subscription %s (%s): %s", subscription.pk, subscription.event_name, reason)
    audit_record(
        channel=AuditChannel.SYSTEM,
        actor="system",
        partner=subscription.partner,
        action="subscription.disabled",
        object_type="EventSubscription",
        object_id=subscription.pk,
        before={"isEnabled": True},
        after={"isEnabled": False, "disabledReason": reason, "lastError": last_error},
    )
    publish_event(
        partner=subscription.partner,
        event_name="SUBSCRIPTION_DISABLED",
        data={
            "subscriptionEventName": subscription.event_name,
            "destination": subscription.destination,
            "reason": reason,
            "lastError": last_error[:300],
        },
    )
    publish_endpoint_event(subscription=subscription, event_name="ENDPOINT_DISABLED",
                           data={"reason": reason, "lastError": last_error[:300]})


def record_outcomes(*, claimed, results, subscriptions: dict[int, EventSubscription]) -> None:
    """Update each endpoint's failing streak from one batch's results (inside the recording transaction)."""
    now = timezone.now()
    succeeded: set[int] = set()
    failed: dict[int, object] = {}
    for c in claimed:
        r = results.get(c.delivery_id)
        if r is None:
            continue
        if r.succeeded:
            succeeded.add(c.subscription_id)
        elif getattr(failed.get(c.subscription_id), "status_code", None) != 410:
            # A 410 anywhere in the batch decides; otherwise the last failure is the one reported.
            failed[c.subscription_id] = r
    # Only subscriptions in a failing streak have one to clear (the common case needs no statement at all).
    for pk in succeeded:
        sub = subscriptions[pk]
        if sub.failing_since is not None and EventSubscription.objects.filter(
                pk=pk, failing_since__isnull=False).update(failing_since=None):
            publish_endpoint_event(subscription=sub, event_name="ENDPOINT_RECOVERED", data={
                "failingSince": _iso(sub.failing_since), "recoveredAt": _iso(now)})
    window = timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_FAILING_SECONDS)
    for subscription_id, r in failed.items():
        sub = subscriptions[subscription_id]
        error = r.summary
        if r.status_code == 410:
            # Explicit: the partner says the endpoint is gone, even if another request of the batch got through.
            subscription_disable(subscription=sub, reason="Endpoint answered 410 Gone", last_error=error)
        elif subscription_id in succeeded:
            continue
        elif sub.failing_since is None:
            EventSubscription.objects.filter(pk=sub.pk, failing_since__isnull=True).update(failing_since=now)
        elif now - sub.failing_since >= window:
            subscription_disable(
                subscription=sub,
                reason=(
                    f"Every attempt failed for {_duration(window)} or more "
                    f"(since {sub.failing_since:%Y-%m-%d %H:%M} UTC)"
                ),
                last_error=error,
            )


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _duration(window: timedelta) -> str:
    """'5 days', '12 hours', '90 seconds': the largest whole unit, for the partner-facing reason."""
    seconds = int(window.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
