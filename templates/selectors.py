"""Read side of the templates app: template lookup with product override and locale fallback, channel switches,
quiet-hours policies (all batch-friendly), the partner API's queries, and previews."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from subscriptions.models import Partner
from templates.models import NotificationTemplate, ProductChannelSetting, QuietHoursPolicy
from templates.rendering import Rendered, template_content_render, template_content_validate
from templates.variables import sample_context, template_variables

FALLBACK_LOCALE = "en"


def _norm(locale: str) -> str:
    return (locale or "").replace("_", "-").strip().lower()


def locale_candidates(*, locale: str, product_default_locale: str | None = None) -> list[str]:
    """Locales to try, most specific first: "hi-IN" -> ["hi-in", "hi", <product default>, "en"] (lower-case)."""
    candidates: list[str] = []
    for value in (locale, product_default_locale or "", FALLBACK_LOCALE):
        value = _norm(value)
        if not value:
            continue
        parts = value.split("-")
        for size in range(len(parts), 0, -1):
            candidate = "-".join(parts[:size])
            if candidate not in candidates:
                candidates.append(candidate)
    return candidates


@dataclass
class TemplateBook:
    """Active templates of a batch, keyed for lookup without further queries."""

    by_key: dict[tuple[int | None, str, str, str], NotificationTemplate]

    def find(
        self, *, product_id: int | None, event_name: str, channel: str, locales: Iterable[str]
    ) -> NotificationTemplate | None:
        """For each locale in order, the product's template, then the default: a cardholder reads their own
        language from the default before they read another language from the product override."""
        for locale in locales:
            for scope in (product_id, None) if product_id is not None else (None,):
                template = self.by_key.get((scope, event_name, channel, locale))
                if template is not None:
                    return template
        return None


def template_book_load(*, product_ids: Iterable[int], event_names: Iterable[str]) -> TemplateBook:
    """One query: every active default template and every active template of these products for these events."""
    product_ids, event_names = set(product_ids), set(event_names)
    rows = NotificationTemplate.objects.filter(is_active=True, event_name__in=event_names).filter(
        Q(product__isnull=True) | Q(product_id__in=product_ids)
    )
    return TemplateBook({(t.product_id, t.event_name, t.channel, _norm(t.locale)): t for t in rows})


def channel_switches_load(
    *, product_ids: Iterable[int], event_names: Iterable[str]
) -> dict[tuple[int, str, str], bool]:
    """(product_id, event_name, channel) -> enabled, for the rows that exist (absent = on)."""
    rows = ProductChannelSetting.objects.filter(product_id__in=set(product_ids), event_name__in=set(event_names))
    return {(r.product_id, r.event_name, r.channel): r.enabled for r in rows}


def quiet_policies_load(*, product_ids: Iterable[int]) -> dict[int, QuietHoursPolicy]:
    return {p.product_id: p for p in QuietHoursPolicy.objects.filter(product_id__in=set(product_ids))}


def template_list(*, partner: Partner, filters: dict[str, Any] | None = None) -> QuerySet[NotificationTemplate]:
    """A partner's product templates (or, with includeDefaults, also the platform defaults they can override)."""
    filters = filters or {}
    scope = Q(product__partner=partner)
    if filters.get("include_defaults"):
        scope |= Q(product__isnull=True)
    qs = NotificationTemplate.objects.filter(scope).select_related("product")
    if filters.get("product_code"):
        qs = qs.filter(product__code=filters["product_code"])
    for field in ("event_name", "channel", "locale"):
        if filters.get(field):
            qs = qs.filter(**{field: filters[field]})
    return qs.order_by("event_name", "channel", "locale", "product_id", "id")


def template_get(*, partner: Partner, template_id: int) -> NotificationTemplate | None:
    """A partner's own product template; defaults and other tenants' templates are not theirs to change."""
    return (
        NotificationTemplate.objects.select_related("product")
        .filter(pk=template_id, product__partner=partner)
        .first()
    )


def template_preview(
    *, event_name: str, subject: str, body: str, data: dict[str, Any] | None = None, html_body: str = "",
    channel: str = "",
) -> tuple[Rendered, dict[str, Any]]:
    """Validate and render a draft template with sample values (optionally overridden by `data`).

    Returns (rendered, context); raises TemplateContentError like a save would."""
    template_content_validate(event_name=event_name, subject=subject, body=body, html_body=html_body)
    context = sample_context(event_name, overrides=data)
    if data and "last4" in data and "maskedCardNumber" in context:
        context["maskedCardNumber"] = f"XXXX XXXX XXXX {str(data['last4'])[-4:]}"
    email = channel == "EMAIL" or bool(html_body)
    return template_content_render(subject=subject, body=body, html_body=html_body, context=context,
                                   email=email), context


def template_variables_describe(*, event_name: str) -> list[dict[str, str]]:
    """[{name, description, example}] for an event, for the API and the admin's help panel."""
    samples = sample_context(event_name)
    return [
        {"name": name, "description": description, "example": str(samples.get(name, ""))}
        for name, description in sorted(template_variables(event_name).items())
    ]
