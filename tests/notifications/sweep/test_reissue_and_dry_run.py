"""A reissued card gets reminders for its new expiry date only; a dry run writes nothing."""

from datetime import timedelta

import pytest

from notifications.models import AdvanceNotice, OutboxMessage
from notifications.sweep.run import sweep_run
from tests.factories import ProductFactory
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
)
from wallets.models import Card, WalletStatusTransition
from wallets.services.cards import card_reissue

pytestmark = pytest.mark.django_db


def test_a_reissued_card_gets_reminders_for_the_new_expiry_date_only(sweep_partner):
    # A long dormancy period, so the card stays ACTIVE until its new expiry years from now.
    product = ProductFactory(partner=sweep_partner, dormancy_days=5000)
    card = make_card(sweep_partner, product=product, expiry=day(30))
    assert sweep_run(run_date=RUN_DAY).row(EXPIRY_ADVANCE, 30).sent == 1

    card_reissue(card=card, actor_name="support@example.com")
    card.refresh_from_db()
    new_expiry = card.expiry_date
    assert new_expiry > day(400)

    # The old date's 15- and 7-day reminders and its expiry do not happen.
    for offset in (15, 23, 31):
        assert sweep_run(run_date=day(offset)).total_sent == 0
    card.refresh_from_db()
    assert card.status == Card.Status.ACTIVE

    report = sweep_run(run_date=new_expiry - timedelta(days=30))
    assert report.row(EXPIRY_ADVANCE, 30).sent == 1
    assert [(n[1], n[2]) for n in notices(card)] == [(30, day(30)), (30, new_expiry)]


def test_a_dry_run_writes_nothing_and_predicts_the_real_run(sweep_partner, product):
    advance_card = make_card(sweep_partner, product=product, expiry=day(30))
    expired = make_card(sweep_partner, product=product, expiry=day(-1))
    dormant = make_card(sweep_partner, product=product, last_active=day(-DORMANCY_DAYS))
    soon_dormant = make_card(sweep_partner, product=product, last_active=day(15 - DORMANCY_DAYS))
    outbox_before = OutboxMessage.objects.count()

    dry = sweep_run(run_date=RUN_DAY, dry_run=True)

    assert AdvanceNotice.objects.count() == 0
    assert OutboxMessage.objects.count() == outbox_before
    assert WalletStatusTransition.objects.count() == 0
    assert set(Card.objects.values_list("status", flat=True)) == {"ACTIVE"}
    assert dry.dry_run is True and dry.total_sent == 0
    expected = {(EXPIRY_ADVANCE, 30): 1, (EXPIRY, 0): 1, (DORMANCY, 0): 1, (DORMANCY_ADVANCE, 15): 1}
    for (event_name, days_before), count in expected.items():
        row = dry.row(event_name, days_before)
        assert (row.due, dict(row.skipped)) == (count, {"dry_run": count})

    real = sweep_run(run_date=RUN_DAY)
    for (event_name, days_before), count in expected.items():
        assert real.row(event_name, days_before).sent == count
    assert all(notices(card) for card in (advance_card, expired, dormant, soon_dormant))


def test_a_dry_run_reports_notices_already_sent(sweep_partner, product):
    make_card(sweep_partner, product=product, expiry=day(30))
    sweep_run(run_date=RUN_DAY)

    dry = sweep_run(run_date=RUN_DAY, dry_run=True)

    assert dict(dry.row(EXPIRY_ADVANCE, 30).skipped) == {"already_sent": 1}
