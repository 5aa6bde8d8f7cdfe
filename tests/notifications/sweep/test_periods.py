"""Each advance period fires on its day, and only then, when the sweep runs every day."""

import pytest

from notifications.sweep.run import sweep_run
from tests.notifications.sweep.conftest import (
    DORMANCY,
    DORMANCY_ADVANCE,
    DORMANCY_DAYS,
    EXPIRY,
    EXPIRY_ADVANCE,
    RUN_DAY,
    day,
    make_card,
    notices,
    outbox,
)

pytestmark = pytest.mark.django_db


def _run_daily(first: int, last: int) -> dict:
    """Sweep every day from day(first) to day(last); returns {offset: report} for the days that sent something."""
    sent = {}
    for offset in range(first, last + 1):
        report = sweep_run(run_date=day(offset))
        if report.total_sent:
            sent[offset] = report
    return sent


def test_expiry_reminders_fire_30_15_and_7_days_before_and_the_card_expires_the_day_after(sweep_partner, product):
    card = make_card(sweep_partner, product=product, expiry=day(40))

    sent = _run_daily(0, 41)

    # 40-30, 40-15, 40-7, and 41: the first day after the expiry date.
    assert sorted(sent) == [10, 25, 33, 41]
    assert notices(card) == [
        (EXPIRY_ADVANCE, 30, day(40), day(10), False),
        (EXPIRY_ADVANCE, 15, day(40), day(25), False),
        (EXPIRY_ADVANCE, 7, day(40), day(33), False),
        (EXPIRY, 0, day(40), day(41), False),
    ]
    assert [m.payload["data"]["daysBefore"] for m in outbox(EXPIRY_ADVANCE)] == [30, 15, 7]
    assert sent[10].row(EXPIRY_ADVANCE, 30).sent == 1
    assert sent[10].row(EXPIRY_ADVANCE, 15).sent == 0
    card.refresh_from_db()
    assert card.status == card.Status.EXPIRED


def test_dormancy_reminders_fire_on_their_days_and_the_card_is_inactivated_on_the_date(sweep_partner, product):
    # Inactivation date = last activity + 180 days = day(40).
    card = make_card(sweep_partner, product=product, last_active=day(40 - DORMANCY_DAYS))

    sent = _run_daily(0, 41)

    assert sorted(sent) == [10, 25, 33, 40]
    assert notices(card) == [
        (DORMANCY_ADVANCE, 30, day(40), day(10), False),
        (DORMANCY_ADVANCE, 15, day(40), day(25), False),
        (DORMANCY_ADVANCE, 7, day(40), day(33), False),
        (DORMANCY, 0, day(40), day(40), False),
    ]
    message = outbox(DORMANCY_ADVANCE)[0]
    assert message.payload["data"]["inactivationDate"] == "2026-07-11"
    card.refresh_from_db()
    assert card.status == card.Status.INACTIVE


def test_a_card_that_is_used_again_moves_its_dormancy_date_and_gets_reminders_for_the_new_one(sweep_partner, product):
    card = make_card(sweep_partner, product=product, last_active=day(30 - DORMANCY_DAYS))
    assert sweep_run(run_date=RUN_DAY).row(DORMANCY_ADVANCE, 30).sent == 1

    # Activity on day 5 moves the inactivation date to day(185); nothing is due for the old date any more.
    card.last_activity_at = card.last_activity_at.replace(year=2026, month=6, day=6)
    card.save(update_fields=["last_activity_at"])
    for offset in (15, 23, 30):
        assert sweep_run(run_date=day(offset)).total_sent == 0
    assert sweep_run(run_date=day(155)).row(DORMANCY_ADVANCE, 30).sent == 1
    assert [n[2] for n in notices(card, DORMANCY_ADVANCE)] == [day(30), day(185)]


def test_custom_periods_of_a_subscription_are_used(sweep_partner, product):
    sweep_partner.subscriptions.filter(event_name=EXPIRY_ADVANCE).update(advance_notification_periods=[10, 3])
    card = make_card(sweep_partner, product=product, expiry=day(10))

    sent = _run_daily(0, 10)

    assert sorted(sent) == [0, 7]
    assert [(n[1], n[3]) for n in notices(card)] == [(10, day(0)), (3, day(7))]


def test_only_active_cards_get_reminders(sweep_partner, product):
    blocked = make_card(sweep_partner, product=product, expiry=day(30), status="BLOCKED")
    inactive = make_card(sweep_partner, product=product, expiry=day(30), status="INACTIVE")

    report = sweep_run(run_date=RUN_DAY)

    assert report.row(EXPIRY_ADVANCE, 30).due == 0
    assert notices(blocked) == notices(inactive) == []


def test_a_card_that_expires_before_it_would_go_dormant_gets_no_dormancy_reminder(sweep_partner, product):
    # Dormant on day(30), but the card is gone after day(20): only expiry reminders make sense.
    card = make_card(sweep_partner, product=product, expiry=day(20), last_active=day(30 - DORMANCY_DAYS))

    report = sweep_run(run_date=RUN_DAY)

    assert report.row(DORMANCY_ADVANCE, 30).due == 0
    assert notices(card, DORMANCY_ADVANCE) == []
