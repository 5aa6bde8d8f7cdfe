"""Write side of the templates app. Every change is validated by the model's clean() and audited in the same
transaction (partner API and admin call these)."""

from __future__ import annotations

from datetime import time
from typing import Any

from django.db import transaction

from config.partner_api.audit import audit_record
from notifications.models import CustomerChannel
from templates.models import NotificationTemplate, ProductChannelSetting, QuietHoursPolicy
from wallets.models import Product

TEMPLATE_EDITABLE_FIELDS = ("event_name", "channel", "locale", "product", "subject", "body", "html_body", "is_active")


class TemplateConflict(Exception):
    """A template with the same product, event, channel and locale already exists."""

    def __init__(self, existing: NotificationTemplate):
        super().__init__(f"Template {existing.pk} already covers {existing}.")
        self.existing = existing


def template_snapshot(template: NotificationTemplate) -> dict[str, Any]:
    return {
        "eventName": template.event_name,
        "channel": template.channel,
        "locale": template.locale,
        "productCode": template.product.code if template.product_id else None,
        "subject": template.subject,
        "body": template.body,
        "htmlBody": template.html_body,
        "isActive": template.is_active,
    }


def _existing_duplicate(template: NotificationTemplate) -> NotificationTemplate | None:
    return (
        NotificationTemplate.objects.filter(
            event_name=template.event_name, channel=template.channel, locale=template.locale,
            product=template.product,
        )
        .exclude(pk=template.pk)
        .first()
    )


def _validated_save(template: NotificationTemplate) -> None:
    # Constraints are checked here (not by full_clean) so callers get a TemplateConflict naming the existing row.
    template.full_clean(validate_constraints=False)
    duplicate = _existing_duplicate(template)
    if duplicate is not None:
        raise TemplateConflict(duplicate)
    template.save()


@transaction.atomic
def template_create(
    *,
    event_name: str,
    channel: str,
    locale: str,
    body: str,
    subject: str = "",
    html_body: str = "",
    product: Product | None = None,
    is_active: bool = True,
    audit_channel: str,
    actor: str,
) -> NotificationTemplate:
    """Create a template (a product override when `product` is given). Raises django ValidationError for invalid
    content (naming the field, variable and line) and TemplateConflict for a duplicate."""
    template = NotificationTemplate(
        event_name=event_name, channel=channel, locale=locale, body=body, subject=subject or "",
        html_body=html_body or "", product=product, is_active=is_active,
    )
    _validated_save(template)
    audit_record(
        channel=audit_channel, actor=actor, action="template.create", object_type="NotificationTemplate",
        object_id=template.pk, partner=product.partner if product else None, after=template_snapshot(template),
    )
    return template


@transaction.atomic
def template_update(
    *, template: NotificationTemplate, data: dict[str, Any], audit_channel: str, actor: str
) -> NotificationTemplate:
    """Apply the given fields (any of TEMPLATE_EDITABLE_FIELDS) and save with the same checks as create."""
    unknown = set(data) - set(TEMPLATE_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    before = template_snapshot(template)
    for field, value in data.items():
        setattr(template, field, value)
    _validated_save(template)
    after = template_snapshot(template)
    if after != before:
        audit_record(
            channel=audit_channel, actor=actor, action="template.update", object_type="NotificationTemplate",
            object_id=template.pk, partner=template.product.partner if template.product_id else None,
            before=before, after=after,
        )
    return template


@transaction.atomic
def template_delete(*, template: NotificationTemplate, audit_channel: str, actor: str) -> None:
    """Delete a template; messages already rendered from it keep their text."""
    before, template_id = template_snapshot(template), template.pk
    partner = template.product.partner if template.product_id else None
    template.delete()
    audit_record(
        channel=audit_channel, actor=actor, action="template.delete", object_type="NotificationTemplate",
        object_id=template_id, partner=partner, before=before,
    )


def fallback_order_clean(value: Any) -> list[str]:
    """A fallback order is a list of distinct channel names, e.g. ["PUSH", "SMS", "EMAIL"]."""
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("The fallback order must be a list of channel names.")
    order = [v.strip().upper() for v in value]
    unknown = [v for v in order if v not in CustomerChannel.values]
    if unknown:
        raise ValueError(f"Unknown channel(s): {', '.join(unknown)}. Use {', '.join(CustomerChannel.values)}.")
    if len(set(order)) != len(order):
        raise ValueError("A channel may appear only once in the fallback order.")
    return order


@transaction.atomic
def product_notification_settings_update(
    *,
    product: Product,
    switches: dict[tuple[str, str], bool],
    fallback_order: list[str],
    quiet_hours: tuple[bool, time, time] | None,
    audit_channel: str,
    actor: str,
) -> None:
    """Set a product's per-event channel switches ((event, channel) -> on), fallback order and quiet hours
    (None = use the platform default). Only switched-off pairs are stored: absent means on."""
    policy = QuietHoursPolicy.objects.filter(product=product).first()
    before = {
        "switchedOff": _switched_off(product),
        "fallbackOrder": list(product.channel_fallback_order or []),
        "quietHours": _policy_snapshot(policy),
    }

    current_off = {
        (event, channel)
        for event, channel in ProductChannelSetting.objects.filter(product=product, enabled=False).values_list(
            "event_name", "channel"
        )
    }
    off = {key for key, enabled in switches.items() if not enabled}
    turned_on = {key for key in current_off if switches.get(key, False)}
    # An "on" row means the same as no row, so only "off" rows are kept.
    ProductChannelSetting.objects.filter(product=product, enabled=True).delete()
    for event, channel in turned_on:
        ProductChannelSetting.objects.filter(product=product, event_name=event, channel=channel).delete()
    ProductChannelSetting.objects.bulk_create(
        [ProductChannelSetting(product=product, event_name=e, channel=c, enabled=False)
         for e, c in sorted(off - current_off)]
    )
    order = fallback_order_clean(fallback_order)
    if order != list(product.channel_fallback_order or []):
        Product.objects.filter(pk=product.pk).update(channel_fallback_order=order)
        product.channel_fallback_order = order
    if quiet_hours is None:
        QuietHoursPolicy.objects.filter(product=product).delete()
        policy = None
    else:
        enabled, start, end = quiet_hours
        policy, _ = QuietHoursPolicy.objects.update_or_create(
            product=product, defaults={"enabled": enabled, "start": start, "end": end}
        )
    after = {
        "switchedOff": _switched_off(product),
        "fallbackOrder": order,
        "quietHours": _policy_snapshot(policy),
    }
    if after != before:
        audit_record(
            channel=audit_channel, actor=actor, action="product.notification_settings.update",
            object_type="Product", object_id=product.pk, partner=product.partner, before=before, after=after,
        )


def _policy_snapshot(policy: QuietHoursPolicy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {"enabled": policy.enabled, "start": policy.start.strftime("%H:%M"), "end": policy.end.strftime("%H:%M")}


def _switched_off(product: Product) -> list[str]:
    pairs = ProductChannelSetting.objects.filter(product=product, enabled=False).values_list("event_name", "channel")
    return sorted(f"{event}/{channel}" for event, channel in pairs)
