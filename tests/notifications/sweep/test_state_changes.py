"""On the day: expired cards move to EXPIRED (with their wallet, by the system) and dormant cards are
inactivated, each with its KIT_* event, once."""

from datetime import UTC, datetime, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import OutboxMessage
from notifications.sweep import on_the_day
from notifications.sweep.run import sweep_run
from tests.factories import ProductFactory
from tests.notifications.sweep.conftest import (
    DORMANCY,
    DORMANCY_DAYS,
    EXPIRY,
    RUN_DAY,
    day,
    make_card,
    notices,
    outbox,
)
from wallets.models import Card, TransitionChannel, WalletStatusTransition

pytestmark = pytest.mark.django_db


def test_an_expired_card_and_its_wallet_move_to_expired_through_the_state_machine(sweep_partner, product):
    card = make_card(sweep_partner, product=product, expiry=day(-1))
    valid_today = make_card(sweep_partner, product=product, expiry=RUN_DAY)

    report = sweep_run(run_date=RUN_DAY)

    card.refresh_from_db()
    card.wallet.refresh_from_db()
    assert card.status == Card.Status.EXPIRED
    assert card.wallet.status == "EXPIRED"
    transition = WalletStatusTransition.objects.get(wallet=card.wallet)
    assert (transition.from_status, transition.to_status) == ("ACTIVE", "EXPIRED")
    assert transition.channel == TransitionChannel.SYSTEM
    assert transition.reason == "CARD_EXPIRED"
    # The wallet's own status event, from the state-machine function.
    assert OutboxMessage.objects.filter(
        event_id=transition.event_id, payload__eventName="WALLET_STATUS_CHANGED"
    ).exists()
    (message,) = outbox(EXPIRY)
    assert message.payload["data"]["expiryDate"] == day(-1).isoformat()
    assert message.payload["data"]["late"] is False
    assert message.payload["entityId"] == str(card.card_id)
    assert notices(card) == [(EXPIRY, 0, day(-1), RUN_DAY, False)]
    assert report.row(EXPIRY, 0).sent == 1
    valid_today.refresh_from_db()
    assert valid_today.status == Card.Status.ACTIVE


def test_a_dormant_card_is_expired_too(sweep_partner, product):
    card = make_card(sweep_partner, product=product, expiry=day(-1), status=Card.Status.INACTIVE)

    sweep_run(run_date=RUN_DAY)

    card.refresh_from_db()
    assert card.status == Card.Status.EXPIRED


def test_a_wallet_with_another_active_card_stays_active(sweep_partner, product):
    expired = make_card(sweep_partner, product=product, expiry=day(-1))
    make_card(sweep_partner, wallet=expired.wallet)

    sweep_run(run_date=RUN_DAY)

    expired.refresh_from_db()
    expired.wallet.refresh_from_db()
    assert expired.status == Card.Status.EXPIRED
    assert expired.wallet.status == "ACTIVE"
    assert len(outbox(EXPIRY)) == 1


def test_a_dormant_card_is_inactivated_on_its_inactivation_date(sweep_partner, product):
    dormant = make_card(sweep_partner, product=product, last_active=day(-DORMANCY_DAYS))
    # Used one day later: inactivated tomorrow, not today.
    tomorrow = make_card(sweep_partner, product=product, last_active=day(1 - DORMANCY_DAYS))

    report = sweep_run(run_date=RUN_DAY)

    dormant.refresh_from_db()
    tomorrow.refresh_from_db()
    assert dormant.status == Card.Status.INACTIVE
    assert tomorrow.status == Card.Status.ACTIVE
    assert notices(dormant) == [(DORMANCY, 0, RUN_DAY, RUN_DAY, False)]
    (message,) = outbox(DORMANCY)
    assert message.payload["data"]["inactivationDate"] == RUN_DAY.isoformat()
    assert message.payload["data"]["kitNo"] == dormant.kit_no
    assert report.row(DORMANCY, 0).sent == 1
    # Dormancy inactivates the card only; the wallet keeps its status.
    dormant.wallet.refresh_from_db()
    assert dormant.wallet.status == "ACTIVE"


def test_the_dormancy_date_follows_the_local_day_of_the_last_activity(sweep_partner, product, settings):
    settings.TIME_ZONE = "Asia/Kolkata"
    # 23:30 UTC is 05:00 the next day in India (UTC+5:30): that local day is the last activity day.
    card = make_card(sweep_partner, product=product)
    card.last_activity_at = datetime.combine(day(-DORMANCY_DAYS - 1), time(23, 30), tzinfo=UTC)
    card.save(update_fields=["last_activity_at"])

    sweep_run(run_date=day(-1))
    card.refresh_from_db()
    assert card.status == Card.Status.ACTIVE
    sweep_run(run_date=RUN_DAY)
    card.refresh_from_db()
    assert card.status == Card.Status.INACTIVE


def test_a_refused_state_change_is_reported_and_retried_on_the_next_run(sweep_partner, product, monkeypatch):
    card = make_card(sweep_partner, product=product, expiry=day(-1))
    other = make_card(sweep_partner, product=product, expiry=day(-1))

    def refuse(*, cards):
        if any(card.pk == other.pk for card in cards):
            raise ValueError("refused")
        return real(cards=cards)

    # The chunk's bulk change is refused, then each card is tried alone: only `other` fails.
    real = on_the_day.cards_expire
    monkeypatch.setattr(on_the_day, "cards_expire", refuse)
    report = sweep_run(run_date=RUN_DAY)

    assert report.failures == 1
    assert dict(report.row(EXPIRY, 0).skipped) == {"state_change_failed": 1}
    assert notices(other) == []  # nothing recorded for it, so it stays due
    assert len(notices(card)) == 1

    monkeypatch.undo()
    assert sweep_run(run_date=day(1)).row(EXPIRY, 0).sent == 1
    other.refresh_from_db()
    assert other.status == Card.Status.EXPIRED


def test_a_product_with_zero_dormancy_days_never_inactivates(sweep_partner):
    product = ProductFactory(partner=sweep_partner, dormancy_days=0)
    card = make_card(sweep_partner, product=product, last_active=day(-400))

    report = sweep_run(run_date=RUN_DAY)

    card.refresh_from_db()
    assert card.status == Card.Status.ACTIVE
    assert report.row(DORMANCY, 0).due == 0


def test_on_the_day_changes_take_the_same_number_of_queries_for_3_or_30_due_cards(sweep_partner, product):
    """Each chunk changes its cards through the wallets services' bulk variants: the queries do not grow with the
    cards (each expiry here also expires its wallet)."""

    def queries_for(run_offset: int, cards: int) -> tuple[int, int]:
        for _ in range(cards):
            make_card(sweep_partner, product=product, expiry=day(run_offset - 1))
            make_card(sweep_partner, product=product, last_active=day(run_offset - DORMANCY_DAYS))
        with CaptureQueriesContext(connection) as captured:
            report = sweep_run(run_date=day(run_offset))
        return len(captured.captured_queries), report.total_sent

    few_queries, few_sent = queries_for(0, 3)
    many_queries, many_sent = queries_for(100, 30)

    assert (few_sent, many_sent) == (6, 60)
    assert WalletStatusTransition.objects.filter(to_status="EXPIRED").count() == 33
    assert many_queries == few_queries
