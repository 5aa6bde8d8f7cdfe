"""Event ids are scoped to the tenant: a repeat is absorbed, another tenant's use of the same id is its own event,
and the same tenant reusing an id for other content is dead-lettered, never dropped silently."""

import json

import pytest

from notifications.ingest.batch import REUSED, ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.models import DeadLetter, Event, WebhookDelivery
from tests.factories import EventSubscriptionFactory, PartnerFactory
from tests.notifications.helpers import kafka_message

pytestmark = pytest.mark.django_db


def raw(message: dict, offset: int = 0) -> RawMessage:
    return RawMessage(value=json.dumps(message).encode(), topic="t", partition=0, offset=offset)


@pytest.fixture
def tenants():
    acme, globex = PartnerFactory(tenant_id="acme"), PartnerFactory(tenant_id="globex")
    for partner in (acme, globex):
        EventSubscriptionFactory(partner=partner, event_name="ALL_EVENTS")
    return acme, globex


def test_another_tenant_reusing_an_event_id_is_delivered_normally(tenants):
    _acme, globex = tenants
    first = kafka_message("acme", eventId="shared-id-1")
    second = kafka_message("globex", eventId="shared-id-1")
    assert ingest_batch([raw(first)]).events_created == 1
    result = ingest_batch([raw(second, offset=1)])
    assert (result.events_created, result.duplicates, result.dead_lettered) == (1, 0, 0)
    assert set(Event.objects.filter(event_id="shared-id-1").values_list("partner__tenant_id", flat=True)) == {
        "acme", "globex"}
    assert WebhookDelivery.objects.filter(partner=globex, event__event_id="shared-id-1").count() == 1


def test_both_tenants_in_one_batch_are_both_ingested(tenants):
    result = ingest_batch([raw(kafka_message("acme", eventId="x-1")), raw(kafka_message("globex", eventId="x-1"), 1)])
    assert (result.events_created, result.duplicates) == (2, 0)


def test_the_same_tenant_repeating_an_event_is_absorbed(tenants):
    message = kafka_message("acme", eventId="again")
    ingest_batch([raw(message)])
    result = ingest_batch([raw(message, offset=1)])
    assert (result.events_created, result.duplicates, result.dead_lettered) == (0, 1, 0)
    assert not DeadLetter.objects.exists()


def test_the_same_tenant_reusing_an_id_for_other_content_is_dead_lettered(tenants):
    ingest_batch([raw(kafka_message("acme", eventId="reused"))])
    other = kafka_message("acme", eventId="reused", data={"kitNo": "K9", "amount": "1.00", "currency": "INR"})
    result = ingest_batch([raw(other, offset=7)])
    assert (result.events_created, result.duplicates, result.dead_lettered) == (0, 0, 1)
    letter = DeadLetter.objects.get()
    assert (letter.reason_code, letter.offset) == (REUSED[0], 7)
    assert "eventId reused with different content" in letter.reason
    assert json.loads(bytes(letter.raw_value))["data"]["kitNo"] == "K9"  # kept whole, for support to decide
    assert Event.objects.filter(event_id="reused").count() == 1


def test_reuse_with_other_content_inside_one_batch_is_dead_lettered(tenants):
    first = kafka_message("acme", eventId="in-batch")
    second = {**first, "eventName": "CARD_RENEWAL"}
    result = ingest_batch([raw(first), raw(second, offset=1)])
    assert (result.events_created, result.dead_lettered) == (1, 1)
    assert DeadLetter.objects.get().reason_code == REUSED[0]


def test_the_same_instant_in_another_offset_is_a_repeat_not_a_reuse(tenants):
    message = kafka_message("acme", eventId="tz", occurredAt="2026-02-12T10:30:00Z")
    ingest_batch([raw(message)])
    shifted = {**message, "occurredAt": "2026-02-12T16:00:00+05:30"}
    assert ingest_batch([raw(shifted, offset=1)]).duplicates == 1
