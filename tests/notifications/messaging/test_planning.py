"""Customer messages are planned by the messaging worker, not by ingest: ingest marks the customer-facing events,
planning writes their messages exactly once, and a lost planning task is found again by the re-enqueue sweep."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.messaging.planning import events_unplanned_by_partner, messages_plan
from notifications.messaging.sending import message_send_tenant_batch
from notifications.models import CustomerMessage, Event, UnplannedEvent
from tests.notifications.helpers import kafka_message
from wallets.models import Card

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sample_templates", "no_default_quiet_hours")]


def _ingest(partner, card, event_name="CARD_TRANSACTION_APPROVED"):
    message = kafka_message(partner.tenant_id, event_name=event_name,
                            data={"kitNo": card.kit_no, "amount": "1.00", "currency": "INR", "merchantName": "M"})
    return ingest_batch([RawMessage(value=json.dumps(message).encode())]), message


def test_ingest_plans_nothing_and_marks_customer_facing_events(partner, card):
    result, message = _ingest(partner, card)
    event = Event.objects.get(event_id=message["eventId"])
    assert UnplannedEvent.objects.filter(event_id=event.pk, partner=partner).exists()
    assert result.plans_by_partner == {partner.pk: [event.pk]}
    assert not CustomerMessage.objects.exists()
    other, message = _ingest(partner, card, event_name="CARD_TRANSACTION_CLEARED")  # not customer-facing
    assert not UnplannedEvent.objects.filter(event__event_id=message["eventId"]).exists()
    assert other.plans_by_partner == {}


def test_planning_writes_each_events_messages_once(partner, card):
    result, _ = _ingest(partner, card)
    event_ids = result.plans_by_partner[partner.pk]
    pending = messages_plan(event_ids=event_ids)
    assert len(pending) == 4 and CustomerMessage.objects.count() == 4  # SMS, EMAIL, PUSH, IN_APP
    assert messages_plan(event_ids=event_ids) == []  # a repeated (or concurrent) task finds nothing to plan
    assert CustomerMessage.objects.count() == 4
    assert not UnplannedEvent.objects.filter(event_id=event_ids[0]).exists()


def test_the_sweep_finds_events_whose_planning_task_was_lost(partner, card):
    result, _ = _ingest(partner, card)
    [event_id] = result.plans_by_partner[partner.pk]
    assert events_unplanned_by_partner(grace_seconds=30) == {}  # just ingested: its own task is on the way
    UnplannedEvent.objects.filter(event_id=event_id).update(received_at=timezone.now() - timedelta(minutes=1))
    assert events_unplanned_by_partner(grace_seconds=30) == {partner.pk: [event_id]}
    messages_plan(event_ids=[event_id])
    assert events_unplanned_by_partner(grace_seconds=0) == {}


def test_a_planning_task_sends_one_sending_batch_and_hands_the_rest_over(partner, card, providers):
    """Planning batches are larger than sending batches (their fixed cost is spread over more events), but no task
    sends more than one sending batch: the rest of the messages due now go to sending tasks of their own."""
    event_ids = [pk for _ in range(3) for pk in _ingest(partner, card)[0].plans_by_partner[partner.pk]]
    outcome = message_send_tenant_batch(partner_id=partner.pk, event_ids=event_ids, send_at_most=5)
    planned = CustomerMessage.objects.filter(event_id__in=event_ids)
    assert planned.count() == 12  # 3 events x (SMS, EMAIL, PUSH, IN_APP), all due now
    assert len(outcome.to_send) == 7 and not outcome.deferred
    assert set(planned.filter(status="PENDING").values_list("pk", flat=True)) == set(outcome.to_send)
    assert planned.exclude(pk__in=outcome.to_send).exclude(status="PENDING").count() == 5  # sent here
    # The handed-over ones are an ordinary sending batch.
    message_send_tenant_batch(partner_id=partner.pk, message_ids=outcome.to_send)
    assert not planned.filter(status="PENDING").exists()


def test_a_planning_task_resolves_each_event_once_for_planning_and_rendering(partner, card, providers):
    """Planning finds each event's cardholder and card; rendering the messages it sends right away reuses them
    instead of looking them up again."""
    event_ids = [pk for _ in range(2) for pk in _ingest(partner, card)[0].plans_by_partner[partner.pk]]
    card_table = Card._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        outcome = message_send_tenant_batch(partner_id=partner.pk, event_ids=event_ids)
    assert outcome.to_send == [] and not outcome.deferred
    card_lookups = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and f'FROM "{card_table}"' in q["sql"]]
    assert len(card_lookups) == 1
    sent = CustomerMessage.objects.filter(event_id__in=event_ids)
    assert sent.count() == 8 and set(sent.values_list("status", flat=True)) == {"SENT"}
    # Rendered for the card the events name.
    assert all("4242" in m.body for m in sent.filter(channel="SMS"))
