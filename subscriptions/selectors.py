"""Read-side queries of the subscriptions app. Every partner-scoped query takes the partner: a tenant never reads
another tenant's rows."""

from django.db.models import QuerySet

from subscriptions.catalog import CATEGORIES, EVENT_CATALOG, EventDefinition
from subscriptions.models import ApiToken, EventSubscription, Partner


def subscription_list(*, partner: Partner) -> QuerySet[EventSubscription]:
    """The partner's subscriptions, ordered by eventName."""
    return EventSubscription.objects.filter(partner=partner).order_by("event_name")


def subscription_get(*, partner: Partner, event_name: str) -> EventSubscription | None:
    """The partner's subscription for one eventName, or None (also for another tenant's subscription)."""
    return EventSubscription.objects.filter(partner=partner, event_name=event_name).first()


def partner_get(*, tenant_id: str) -> Partner | None:
    return Partner.objects.filter(tenant_id=tenant_id).first()


def api_token_list_by_prefix(*, prefix: str) -> QuerySet[ApiToken]:
    """Tokens whose stored prefix starts with `prefix` (the raw token is never stored, so this is how an operator
    names one)."""
    return ApiToken.objects.select_related("partner").filter(prefix__startswith=prefix)


def api_token_list_by_hash(*, token_hash: str) -> QuerySet[ApiToken]:
    return ApiToken.objects.select_related("partner").filter(token_hash=token_hash)


def event_type_list(*, category: str | None = None, event_type: str | None = None) -> list[EventDefinition]:
    """Catalog entries, grouped by category in catalog order, optionally filtered."""
    definitions = [
        d
        for d in EVENT_CATALOG.values()
        if (category is None or d.category == category) and (event_type is None or d.event_type == event_type)
    ]
    # sorted() is stable: within a category the catalog's own order (seed events first) is kept.
    order = {name: index for index, name in enumerate(CATEGORIES)}
    return sorted(definitions, key=lambda d: order[d.category])


def event_type_get(*, name: str) -> EventDefinition | None:
    return EVENT_CATALOG.get(name)


def subscription_list_for_ops(
    *, partner: Partner | None = None, event_name: str | None = None
) -> QuerySet[EventSubscription]:
    """Subscriptions across tenants for operator commands, optionally narrowed to one tenant and/or eventName."""
    queryset = EventSubscription.objects.select_related("partner").order_by("partner__tenant_id", "event_name")
    if partner is not None:
        queryset = queryset.filter(partner=partner)
    if event_name is not None:
        queryset = queryset.filter(event_name=event_name)
    return queryset
