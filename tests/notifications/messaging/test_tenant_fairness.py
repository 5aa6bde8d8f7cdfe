"""One tenant's message batches hold at most its share of a worker's threads: beyond its slots, a slow tenant's
batches are deferred at once (nothing is lost: they come back with a countdown), and other tenants send as usual."""

import time

import pytest

from notifications.messaging import sending
from notifications.messaging.routing import plan_customer_messages
from notifications.models import CustomerMessage, MessageStatus
from tests.templates_app.factories import make_event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sample_templates", "no_default_quiet_hours")]
TXN = {"amount": "125.50", "currency": "INR", "merchantName": "Chai Point", "balance": "874.50"}


def _pending_ids(partner, card) -> list[int]:
    rows = plan_customer_messages([make_event(partner, kitNo=card.kit_no, **TXN)])
    CustomerMessage.objects.bulk_create(rows)
    return [r.pk for r in rows if r.status == MessageStatus.PENDING]


@pytest.fixture
def console_channels(settings):
    settings.SMS_PROVIDER = settings.PUSH_PROVIDER = settings.EMAIL_CHANNEL_BACKEND = "console"


def test_a_slow_tenant_holding_its_slots_is_deferred_and_others_are_not(partner, card, console_channels, settings):
    settings.CUSTOMER_MESSAGE_TENANT_SLOTS_PER_PROCESS = 2
    ids = _pending_ids(partner, card)
    busy, other = partner.pk, partner.pk + 10_000
    # The tenant's two slots are held by batches that have run for 1.5 s already (slow templates, say).
    running = []
    for _ in range(2):
        assert sending._TENANT_SLOTS.acquire(busy, slots=2, wait=0, is_slow=lambda: False)
        running.append(sending._TENANT_BATCH_SECONDS.started(busy))
    time.sleep(sending.SLOW_TENANT_BATCH_SECONDS + 0.05)
    try:
        started = time.monotonic()
        outcome = sending.message_send_tenant_batch(message_ids=ids, partner_id=busy)
        assert time.monotonic() - started < 0.5  # not waited for: deferred at once
        assert outcome.deferred == ids and outcome.defer_seconds >= 1.0
        assert set(CustomerMessage.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"PENDING"}

        # Another tenant's batch in the same process is not held back by the busy one.
        sent = sending.message_send_tenant_batch(message_ids=ids, partner_id=other)
        assert sent.deferred == []
        assert set(CustomerMessage.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"SENT"}
    finally:
        for started in running:
            sending._TENANT_BATCH_SECONDS.finished(busy, started)
            sending._TENANT_SLOTS.release(busy)


def test_a_tenant_within_its_slots_sends_and_gives_the_slot_back(partner, card, console_channels):
    ids = _pending_ids(partner, card)
    outcome = sending.message_send_tenant_batch(message_ids=ids, partner_id=partner.pk)
    assert (outcome.deferred, outcome.follow_ups) == ([], {})
    assert sending._TENANT_SLOTS.held(partner.pk) == 0
    assert set(CustomerMessage.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"SENT"}
