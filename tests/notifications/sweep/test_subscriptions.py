"""Who gets advance notices: only partners with an enabled subscription to the event (or ALL_EVENTS)."""

import pytest
from django.test import override_settings

from notifications.sweep.run import sweep_run
from tests.factories import PartnerFactory, ProductFactory
from tests.notifications.sweep.conftest import (
    DORMANCY_ADVANCE,
    EXPIRY,
    EXPIRY_ADVANCE,
    RUN_DAY,
    day,
    make_card,
    notices,
    outbox,
    subscribe,
)

pytestmark = pytest.mark.django_db


def _partner_with_due_card(tenant_id: str, expiry_offset: int = 30):
    partner = PartnerFactory(tenant_id=tenant_id)
    card = make_card(partner, product=ProductFactory(partner=partner), expiry=day(expiry_offset))
    return partner, card


def test_a_disabled_subscription_sends_nothing_and_is_reported():
    partner, card = _partner_with_due_card("disabled")
    subscribe(partner, EXPIRY_ADVANCE, enabled=False)

    report = sweep_run(run_date=RUN_DAY)

    assert notices(card) == []
    assert outbox(EXPIRY_ADVANCE) == []
    row = report.row(EXPIRY_ADVANCE, 30)
    assert (row.due, row.sent, dict(row.skipped)) == (1, 0, {"subscription_disabled": 1})


def test_no_subscription_sends_nothing_and_is_reported():
    partner, card = _partner_with_due_card("absent")
    # A subscription to another event does not count.
    subscribe(partner, "TRANSACTION_NOTIFICATION", periods=[])

    report = sweep_run(run_date=RUN_DAY)

    assert notices(card) == []
    assert outbox(EXPIRY_ADVANCE) == []
    assert dict(report.row(EXPIRY_ADVANCE, 30).skipped) == {"no_subscription": 1}


def test_a_subscription_to_one_advance_event_does_not_send_the_other():
    partner = PartnerFactory(tenant_id="expiry-only")
    subscribe(partner, EXPIRY_ADVANCE)
    product = ProductFactory(partner=partner, dormancy_days=180)
    card = make_card(partner, product=product, expiry=day(30), last_active=day(30 - 180 - 1))

    sweep_run(run_date=RUN_DAY)

    assert [n[0] for n in notices(card)] == [EXPIRY_ADVANCE]
    assert outbox(DORMANCY_ADVANCE) == []


@override_settings(ADVANCE_DEFAULT_PERIODS=[20, 5])
def test_all_events_subscription_receives_advance_events_with_the_default_periods():
    partner, card = _partner_with_due_card("catch-all", expiry_offset=20)
    subscribe(partner, "ALL_EVENTS", periods=[])

    report = sweep_run(run_date=RUN_DAY)

    assert notices(card) == [(EXPIRY_ADVANCE, 20, day(20), RUN_DAY, False)]
    assert report.row(EXPIRY_ADVANCE, 20).sent == 1
    assert (EXPIRY_ADVANCE, 30) not in report.rows


def test_the_event_subscription_decides_the_periods_over_all_events():
    partner, card = _partner_with_due_card("both", expiry_offset=30)
    subscribe(partner, "ALL_EVENTS", periods=[])
    subscribe(partner, EXPIRY_ADVANCE, periods=[10])

    report = sweep_run(run_date=RUN_DAY)

    assert notices(card) == []
    assert (EXPIRY_ADVANCE, 30) not in report.rows
    assert sweep_run(run_date=day(20)).row(EXPIRY_ADVANCE, 10).sent == 1


def test_all_events_still_receives_when_the_specific_subscription_is_disabled():
    # ALL_EVENTS means every event: the pipeline would deliver it there whatever the specific subscription says.
    partner, card = _partner_with_due_card("all-but-disabled")
    subscribe(partner, "ALL_EVENTS", periods=[])
    subscribe(partner, EXPIRY_ADVANCE, periods=[30], enabled=False)

    sweep_run(run_date=RUN_DAY)

    assert [n[1] for n in notices(card)] == [30]


def test_tenant_option_limits_the_sweep_to_that_tenant(sweep_partner, product):
    mine = make_card(sweep_partner, product=product, expiry=day(30))
    other_partner, other_card = _partner_with_due_card("other")
    subscribe(other_partner, EXPIRY_ADVANCE)
    other_expired = make_card(other_partner, product=ProductFactory(partner=other_partner), expiry=day(-1))

    report = sweep_run(run_date=RUN_DAY, tenant_id="acme")

    assert report.tenant_id == "acme"
    assert len(notices(mine)) == 1
    assert notices(other_card) == notices(other_expired) == []
    other_expired.refresh_from_db()
    assert other_expired.status == "ACTIVE"


def test_on_the_day_events_go_to_every_partner_whatever_its_subscriptions():
    _, card = _partner_with_due_card("unsubscribed", expiry_offset=-1)

    report = sweep_run(run_date=RUN_DAY)

    assert report.row(EXPIRY, 0).sent == 1
    assert [m.payload["tenantId"] for m in outbox(EXPIRY)] == ["unsubscribed"]
    card.refresh_from_db()
    assert card.status == "EXPIRED"


def test_an_inactive_partner_gets_no_advance_notices():
    partner, card = _partner_with_due_card("inactive")
    subscribe(partner, EXPIRY_ADVANCE)
    partner.is_active = False
    partner.save(update_fields=["is_active"])

    report = sweep_run(run_date=RUN_DAY)

    assert notices(card) == []
    assert report.total_due == 0
