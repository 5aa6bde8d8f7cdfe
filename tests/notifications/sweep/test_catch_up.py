"""Catch-up: days the sweep did not run are made up on the next run, once, and marked late."""

import pytest
from django.test import override_settings

from notifications.sweep.advance import period_windows
from notifications.sweep.run import sweep_run
from tests.notifications.sweep.conftest import (
    DORMANCY,
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


def _sent_on(run_day, card=None):
    return [n for n in notices(card) if n[3] == run_day]


def test_a_three_day_gap_is_caught_up_once_and_marked_late(sweep_partner, product):
    # Due on day 1, 2 and 3 (30, 15 and 7 days before), which the sweep misses.
    due_day_1 = make_card(sweep_partner, product=product, expiry=day(31))
    due_day_2 = make_card(sweep_partner, product=product, expiry=day(17))
    due_day_3 = make_card(sweep_partner, product=product, expiry=day(10))
    due_day_4 = make_card(sweep_partner, product=product, expiry=day(34))  # due on the run day itself
    expired_day_2 = make_card(sweep_partner, product=product, expiry=day(1))  # should have expired on day 2
    dormant_day_3 = make_card(sweep_partner, product=product, last_active=day(3 - DORMANCY_DAYS))
    for offset in range(-14, 1):  # the sweep ran every day up to day 0 ...
        sweep_run(run_date=day(offset))
    sent_before_gap = len(notices())

    report = sweep_run(run_date=day(4))  # ... then missed days 1-3

    assert _sent_on(day(4), due_day_1) == [(EXPIRY_ADVANCE, 30, day(31), day(4), True)]
    assert _sent_on(day(4), due_day_2) == [(EXPIRY_ADVANCE, 15, day(17), day(4), True)]
    assert _sent_on(day(4), due_day_3) == [(EXPIRY_ADVANCE, 7, day(10), day(4), True)]
    assert _sent_on(day(4), due_day_4) == [(EXPIRY_ADVANCE, 30, day(34), day(4), False)]
    assert _sent_on(day(4), expired_day_2) == [(EXPIRY, 0, day(1), day(4), True)]
    assert _sent_on(day(4), dormant_day_3) == [(DORMANCY, 0, day(3), day(4), True)]
    assert len(_sent_on(day(4))) == 6
    assert (report.row(EXPIRY_ADVANCE, 30).sent, report.row(EXPIRY_ADVANCE, 30).late) == (2, 1)
    late_flags = {m.payload["data"]["kitNo"]: m.payload["data"]["late"] for m in outbox(EXPIRY_ADVANCE)}
    assert late_flags[due_day_1.kit_no] is True
    assert late_flags[due_day_4.kit_no] is False
    assert outbox(EXPIRY)[0].payload["data"]["late"] is True

    # Caught up once: the next days send nothing more for those reminders.
    for offset in (4, 5, 6):
        assert sweep_run(run_date=day(offset)).total_sent == 0
    assert len(notices()) == sent_before_gap + 6


def test_a_missed_reminder_is_not_sent_once_the_event_has_happened(sweep_partner, product):
    card = make_card(sweep_partner, product=product, expiry=day(2))  # 7-day reminder was due on day -5

    report = sweep_run(run_date=day(4))

    assert notices(card) == [(EXPIRY, 0, day(2), day(4), True)]
    assert report.row(EXPIRY_ADVANCE, 7).due == 0


def test_a_gap_longer_than_the_catch_up_window_is_not_made_up(sweep_partner, product):
    card = make_card(sweep_partner, product=product, expiry=day(20))  # 30-day reminder due on day -10

    report = sweep_run(run_date=RUN_DAY)

    assert notices(card) == []
    assert report.row(EXPIRY_ADVANCE, 30).due == 0


def test_after_a_gap_only_the_nearest_missed_reminder_is_sent(sweep_partner, product):
    sweep_partner.subscriptions.filter(event_name=EXPIRY_ADVANCE).update(advance_notification_periods=[5, 4, 3])
    card = make_card(sweep_partner, product=product, expiry=day(8))  # 5, 4 and 3 days before: days 3, 4, 5

    sweep_run(run_date=day(0))
    sweep_run(run_date=day(5))

    assert notices(card) == [(EXPIRY_ADVANCE, 3, day(8), day(5), False)]


@override_settings(ADVANCE_CATCHUP_DAYS=0)
def test_catch_up_can_be_switched_off(sweep_partner, product):
    card = make_card(sweep_partner, product=product, expiry=day(29))

    assert sweep_run(run_date=RUN_DAY).total_sent == 0
    assert notices(card) == []


def test_period_windows_cover_each_due_day_once():
    windows = period_windows(periods=[7, 30, 15], run_date=RUN_DAY, catchup_days=7, event_day_offset=1)

    assert windows == [(30, day(23), day(30)), (15, day(8), day(15)), (7, day(0), day(7))]
    # Dormancy happens on the date itself, so its last reminder stops a day earlier.
    dormancy = period_windows(periods=[7], run_date=RUN_DAY, catchup_days=7, event_day_offset=0)
    assert dormancy == [(7, day(1), day(7))]
