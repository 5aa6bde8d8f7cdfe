"""A cardholder's contact data and choices after registration: the partner's PATCH, the cardholder's own preference
centre and one-click unsubscribe, and the destinations a provider called dead.

- `cardholder_update`: any of contact data, locale, time zone, channel preferences, per-category opt-outs and
  quiet hours; a changed phone, email or push token clears that channel's invalid mark (it is a new destination) and
  a changed phone or email emits CUSTOMER_CONTACT_CHANGED.
- `cardholder_unsubscribe`: one category on one channel (RFC 8058 one-click), nothing else.
- `cardholder_destination_invalidate` / `cardholder_destination_clear`: the marks routing reads
  (`Cardholder.invalid_destinations`): a marked channel is skipped and the fallback order moves on.

Validation of values (known channels and categories, time zones, times) is the callers' input layer; these functions
write what they are given, audited, in one transaction."""

from __future__ import annotations

from datetime import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.partner_api.audit import audit_record
from notifications.outbox import publish_event
from subscriptions.models import AuditChannel
from wallets.models import CONTACT_FIELDS, Cardholder

# What a partner or the cardholder may change (model field names); `quiet_hours` is {"enabled", "start", "end"}
# or None for "the product's".
UPDATABLE_FIELDS = ("name", "phone", "email", "push_token", "locale", "timezone", "channel_preferences",
                    "category_opt_outs", "quiet_hours")


def cardholder_preferences_snapshot(cardholder: Cardholder) -> dict[str, Any]:
    """The cardholder's choices as the audit and the API show them (no contact data)."""
    return {
        "locale": cardholder.locale, "timezone": cardholder.timezone,
        "channelPreferences": cardholder.channel_preferences, "categoryOptOuts": cardholder.category_opt_outs,
        "quietHours": quiet_hours_of(cardholder),
    }


def quiet_hours_of(cardholder: Cardholder) -> dict[str, Any] | None:
    """{"enabled": false}, {"enabled": true, "start": "22:00", "end": "07:00"}, or None (the product's)."""
    if cardholder.quiet_hours_enabled is None:
        return None
    if not cardholder.quiet_hours_enabled:
        return {"enabled": False}
    return {"enabled": True, "start": f"{cardholder.quiet_hours_start:%H:%M}",
            "end": f"{cardholder.quiet_hours_end:%H:%M}"}


def _apply_quiet_hours(cardholder: Cardholder, value: dict[str, Any] | None) -> None:
    if value is None:
        cardholder.quiet_hours_enabled = cardholder.quiet_hours_start = cardholder.quiet_hours_end = None
        return
    enabled = bool(value.get("enabled", True))
    start, end = value.get("start"), value.get("end")
    cardholder.quiet_hours_enabled = enabled
    cardholder.quiet_hours_start = start if enabled and isinstance(start, time) else None
    cardholder.quiet_hours_end = end if enabled and isinstance(end, time) else None


@transaction.atomic
def cardholder_update(
    *, cardholder: Cardholder, changes: dict[str, Any], actor_name: str, channel: str = AuditChannel.PARTNER_API
) -> Cardholder:
    """Apply `changes` (keys of UPDATABLE_FIELDS) to the cardholder; audited, with the contact channels named but
    not their values."""
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not updatable: {', '.join(sorted(unknown))}")
    cardholder = Cardholder.objects.select_for_update().select_related("partner").get(pk=cardholder.pk)
    before = cardholder_preferences_snapshot(cardholder)
    changed_contacts = [c for c, field in CONTACT_FIELDS.items()
                        if field in changes and changes[field] != getattr(cardholder, field)]
    for field, value in changes.items():
        if field == "quiet_hours":
            _apply_quiet_hours(cardholder, value)
        else:
            setattr(cardholder, field, value)
    if changed_contacts:
        marks = dict(cardholder.invalid_destinations or {})
        for contact_channel in changed_contacts:
            marks.pop(contact_channel, None)
        cardholder.invalid_destinations = marks
    cardholder.save()
    for contact_channel in changed_contacts:
        if contact_channel in ("SMS", "EMAIL"):
            publish_event(
                partner=cardholder.partner, event_name="CUSTOMER_CONTACT_CHANGED",
                data={"customerId": cardholder.external_id, "cardholderName": cardholder.name,
                      "field": CONTACT_FIELDS[contact_channel]},
                entity_id=f"customer:{cardholder.external_id}",
            )
    audit_record(
        channel=channel, actor=actor_name, action="cardholder.updated", object_type="cardholder",
        object_id=cardholder.external_id, partner=cardholder.partner, before=before,
        after={**cardholder_preferences_snapshot(cardholder), "changedContacts": changed_contacts,
               "changedFields": sorted(changes)},
    )
    return cardholder


@transaction.atomic
def cardholder_unsubscribe(*, cardholder: Cardholder, category: str, channel: str, actor_name: str) -> bool:
    """Opt the cardholder out of `category` on `channel` (an email's one-click unsubscribe); False when they already
    were. Other categories and channels are untouched."""
    cardholder = Cardholder.objects.select_for_update().select_related("partner").get(pk=cardholder.pk)
    opt_outs = {k: list(v) for k, v in (cardholder.category_opt_outs or {}).items()}
    if channel in opt_outs.get(category, []):
        return False
    opt_outs.setdefault(category, []).append(channel)
    cardholder.category_opt_outs = opt_outs
    cardholder.save(update_fields=["category_opt_outs"])
    audit_record(
        channel=AuditChannel.SYSTEM, actor=actor_name, action="cardholder.unsubscribed", object_type="cardholder",
        object_id=cardholder.external_id, partner=cardholder.partner, after={"category": category, "channel": channel},
    )
    return True


@transaction.atomic
def cardholder_destination_invalidate(
    *, cardholder_id: int, channel: str, recipient: str, reason: str, error_code: str = ""
) -> bool:
    """Mark the cardholder's `channel` destination dead, if it is still `recipient` (a partner who changed it in the
    meantime gave a new one, which stays usable). Returns whether a mark was written."""
    field = CONTACT_FIELDS.get(channel)
    if field is None:
        return False
    cardholder = (Cardholder.objects.select_for_update(of=("self",)).select_related("partner")
                  .filter(pk=cardholder_id).first())
    if cardholder is None or getattr(cardholder, field).strip() != recipient.strip():
        return False
    marks = dict(cardholder.invalid_destinations or {})
    marks[channel] = {"reason": reason[:300], "errorCode": error_code[:40], "markedAt": timezone.now().isoformat()}
    cardholder.invalid_destinations = marks
    cardholder.save(update_fields=["invalid_destinations"])
    audit_record(
        channel=AuditChannel.SYSTEM, actor="customer messaging", action="cardholder.destination_invalidated",
        object_type="cardholder", object_id=cardholder.external_id, partner=cardholder.partner,
        after={"channel": channel, "errorCode": error_code},
    )
    return True


@transaction.atomic
def cardholder_destination_clear(
    *, cardholder: Cardholder, channel: str, actor_name: str, audit_channel: str = AuditChannel.PARTNER_API
) -> bool:
    """Remove the invalid mark of `channel` (the partner knows the destination works again); False if there was
    none."""
    cardholder = Cardholder.objects.select_for_update().select_related("partner").get(pk=cardholder.pk)
    marks = dict(cardholder.invalid_destinations or {})
    removed = marks.pop(channel, None)
    if removed is None:
        return False
    cardholder.invalid_destinations = marks
    cardholder.save(update_fields=["invalid_destinations"])
    audit_record(
        channel=audit_channel, actor=actor_name, action="cardholder.destination_cleared", object_type="cardholder",
        object_id=cardholder.external_id, partner=cardholder.partner, before={"channel": channel, **removed},
    )
    return True
