"""Exactly once per (card, event, period, target date): repeated runs, concurrent runs, crashes."""

import threading
import uuid

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from notifications.models import AdvanceNotice, OutboxMessage
from notifications.sweep import advance as sweep_advance
from notifications.sweep.report import EVENT_ID_NAMESPACE, notice_event_id
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
    outbox,
)
from wallets.models import WalletStatusTransition


@pytest.mark.django_db
def test_running_twice_sends_once(sweep_partner, product):
    for offset in (30, 15, 7, -1):
        make_card(sweep_partner, product=product, expiry=day(offset))
    make_card(sweep_partner, product=product, last_active=day(-DORMANCY_DAYS))

    first = sweep_run(run_date=RUN_DAY)
    second = sweep_run(run_date=RUN_DAY)

    assert first.total_sent == 5
    assert second.total_sent == 0
    notices_sent = OutboxMessage.objects.filter(payload__eventName__startswith="KIT_").exclude(
        payload__eventName="KIT_STATUS_UPDATE")
    assert AdvanceNotice.objects.count() == notices_sent.count()
    assert AdvanceNotice.objects.count() == 5
    # The two on-the-day changes (expiry, dormancy) report the card's status change once each too.
    assert OutboxMessage.objects.filter(payload__eventName="KIT_STATUS_UPDATE").count() == 2
    assert dict(second.row(EXPIRY_ADVANCE, 30).skipped) == {"already_sent": 1}
    # On-the-day cards are no longer due at all once changed.
    assert second.row(EXPIRY, 0).due == second.row(DORMANCY, 0).due == 0
    assert {n[0] for n in notices()} == {EXPIRY_ADVANCE, EXPIRY, DORMANCY}


@pytest.mark.django_db
def test_event_payload_carries_the_card_but_never_a_card_number(sweep_partner, product):
    card = make_card(sweep_partner, product=product, expiry=day(30), last4="4242")

    sweep_run(run_date=RUN_DAY)

    (message,) = outbox(EXPIRY_ADVANCE)
    expected_id = notice_event_id(
        card_uuid=card.card_id, event_name=EXPIRY_ADVANCE, days_before=30, target_date=day(30)
    )
    assert (
        message.event_id
        == expected_id
        == str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{card.card_id}:{EXPIRY_ADVANCE}:30:2026-07-01"))
    )
    assert message.key == str(card.card_id)
    assert message.payload["entityId"] == str(card.card_id)
    assert message.payload["tenantId"] == "acme"
    assert message.payload["eventName"] == EXPIRY_ADVANCE
    assert message.payload["data"] == {
        "kitNo": card.kit_no,
        "cardId": str(card.card_id),
        "last4": "4242",
        "expiryDate": "2026-07-01",
        "daysBefore": 30,
        "late": False,
        "customerId": card.wallet.cardholder.external_id,
        "cardholderName": card.wallet.cardholder.name,
    }
    assert AdvanceNotice.objects.get(card=card).event_id == expected_id


@pytest.mark.django_db
def test_a_crash_before_the_outbox_write_records_nothing_and_the_next_run_sends(sweep_partner, product, monkeypatch):
    card = make_card(sweep_partner, product=product, expiry=day(30))

    def crash(*, messages):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(sweep_advance, "outbox_add_many", crash)
    with pytest.raises(RuntimeError):
        sweep_run(run_date=RUN_DAY)
    assert notices(card) == []

    monkeypatch.undo()
    assert sweep_run(run_date=RUN_DAY).row(EXPIRY_ADVANCE, 30).sent == 1
    assert len(outbox(EXPIRY_ADVANCE)) == 1


@pytest.mark.django_db
@override_settings(ADVANCE_SWEEP_CHUNK_SIZE=7)
def test_chunking_covers_every_card_once(sweep_partner, product):
    cards = [make_card(sweep_partner, product=product, expiry=day(30 if i % 2 else 15)) for i in range(30)]
    expired = [make_card(sweep_partner, product=product, expiry=day(-1)) for _ in range(9)]

    report = sweep_run(run_date=RUN_DAY)

    assert report.row(EXPIRY_ADVANCE, 30).sent == 15
    assert report.row(EXPIRY_ADVANCE, 15).sent == 15
    assert report.row(EXPIRY, 0).sent == 9
    assert AdvanceNotice.objects.filter(card__in=cards + expired).count() == 39


@pytest.mark.django_db(transaction=True)
@override_settings(ADVANCE_SWEEP_CHUNK_SIZE=10)
def test_two_sweeps_at_once_send_each_notice_once(sweep_partner):
    product = ProductFactory(partner=sweep_partner, dormancy_days=DORMANCY_DAYS)
    for i in range(40):
        make_card(sweep_partner, product=product, expiry=day((30, 15, 7, -1)[i % 4]))
    for _ in range(10):
        make_card(sweep_partner, product=product, last_active=day(30 - DORMANCY_DAYS))
    for _ in range(10):
        make_card(sweep_partner, product=product, last_active=day(-DORMANCY_DAYS))

    barrier = threading.Barrier(2)
    reports, errors = [], []

    def sweep():
        try:
            barrier.wait(timeout=10)
            reports.append(sweep_run(run_date=RUN_DAY))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(reports) == 2
    expected = {
        (EXPIRY_ADVANCE, 30): 10,
        (EXPIRY_ADVANCE, 15): 10,
        (EXPIRY_ADVANCE, 7): 10,
        (EXPIRY, 0): 10,
        (DORMANCY_ADVANCE, 30): 10,
        (DORMANCY, 0): 10,
    }
    for (event_name, days_before), count in expected.items():
        assert sum(r.row(event_name, days_before).sent for r in reports) == count, (event_name, days_before)
        assert AdvanceNotice.objects.filter(event_name=event_name, days_before=days_before).count() == count
    assert OutboxMessage.objects.filter(payload__eventName__startswith="KIT_").exclude(
        payload__eventName="KIT_STATUS_UPDATE").count() == 60
    # Each of the 20 on-the-day changes (10 expiries, 10 inactivations) reported its status change once.
    assert OutboxMessage.objects.filter(payload__eventName="KIT_STATUS_UPDATE").count() == 20
    assert OutboxMessage.objects.filter(payload__eventName="CARD_STATUS_CHANGED").count() == 20
    # Every wallet that expired did so once: one SYSTEM transition each.
    assert WalletStatusTransition.objects.filter(to_status="EXPIRED").count() == 10


@pytest.mark.django_db
def test_advance_notices_take_the_same_number_of_queries_for_3_or_60_due_cards(sweep_partner, product):
    def queries_for(run_offset: int, cards: int) -> tuple[int, int]:
        for _ in range(cards):
            make_card(sweep_partner, product=product, expiry=day(run_offset + 30))
            make_card(sweep_partner, product=product, last_active=day(run_offset + 15 - DORMANCY_DAYS))
        with CaptureQueriesContext(connection) as captured:
            report = sweep_run(run_date=day(run_offset))
        return len(captured.captured_queries), report.total_sent

    # The later run first, so its cards are not yet due for an on-the-day change when the earlier date is swept.
    few_queries, few_sent = queries_for(100, 3)
    many_queries, many_sent = queries_for(0, 60)

    assert (few_sent, many_sent) == (6, 120)
    assert many_queries == few_queries
