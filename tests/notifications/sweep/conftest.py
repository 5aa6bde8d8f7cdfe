"""Fixtures and helpers of the advance-sweep tests. Every date is explicit and relative to RUN_DAY, so the tests do
not depend on the day they run (except the beat test, which runs the task for today)."""

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from notifications.models import AdvanceNotice, OutboxMessage
from tests.factories import CardFactory, EventSubscriptionFactory, PartnerFactory, ProductFactory, WalletFactory
from wallets.models import Card

RUN_DAY = date(2026, 6, 1)
EXPIRY_ADVANCE = "KIT_EXPIRY_ADVANCE_NOTIFICATION"
DORMANCY_ADVANCE = "KIT_INACTIVATION_ADVANCE_NOTIFICATION"
EXPIRY = "KIT_EXPIRY_NOTIFICATION"
DORMANCY = "KIT_INACTIVATION_NOTIFICATION"
DORMANCY_DAYS = 180


def day(offset: int) -> date:
    return RUN_DAY + timedelta(days=offset)


def local_noon(on: date) -> datetime:
    return datetime.combine(on, time(12), tzinfo=timezone.get_default_timezone())


def subscribe(partner, event_name: str, periods: list[int] | None = None, *, enabled: bool = True):
    return EventSubscriptionFactory(
        partner=partner,
        event_name=event_name,
        is_enabled=enabled,
        advance_notification_periods=[30, 15, 7] if periods is None else periods,
    )


def make_card(partner, *, expiry: date | None = None, last_active: date | None = None, product=None, **kwargs) -> Card:
    """An ACTIVE card. By default it expires in ~3 years and was used the day before RUN_DAY, so neither reminder
    is near unless a test asks for it."""
    wallet = kwargs.pop("wallet", None) or WalletFactory(
        partner=partner, product=product or ProductFactory(partner=partner, dormancy_days=DORMANCY_DAYS)
    )
    return CardFactory(
        partner=partner,
        wallet=wallet,
        expiry_date=expiry or day(1000),
        last_activity_at=local_noon(last_active or day(-1)),
        **kwargs,
    )


def notices(card=None, event_name: str | None = None) -> list[tuple]:
    """(event, days_before, target_date, sent_on, late) of the notices, oldest first."""
    rows = AdvanceNotice.objects.order_by("sent_on", "event_name", "-days_before", "id")
    if card is not None:
        rows = rows.filter(card=card)
    if event_name is not None:
        rows = rows.filter(event_name=event_name)
    return list(rows.values_list("event_name", "days_before", "target_date", "sent_on", "late"))


def outbox(event_name: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(payload__eventName=event_name).order_by("id"))


@pytest.fixture
def sweep_partner(db):
    """A partner subscribed to both advance events with the seed's periods [30, 15, 7]."""
    partner = PartnerFactory(tenant_id="acme", name="Acme Fintech")
    subscribe(partner, EXPIRY_ADVANCE)
    subscribe(partner, DORMANCY_ADVANCE)
    return partner


@pytest.fixture
def product(sweep_partner):
    return ProductFactory(partner=sweep_partner, dormancy_days=DORMANCY_DAYS)
