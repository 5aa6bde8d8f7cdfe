"""Seed 004's once-only rule at ingest, against the real database: one TRANSACTION_COMPLETED per transaction, later
completions as TRANSACTION_STATUS_CHANGED with old and new status, decided by a locked row so that two concurrent
ingests (two bridges) cannot both send it."""

import json
import threading

import pytest
from django.db import connection, transaction

from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.models import DeadLetter, Event, RewrittenEvent, TransactionCompletion, WebhookDelivery
from tests.factories import EventSubscriptionFactory, PartnerFactory
from tests.notifications.helpers import kafka_message

pytestmark = pytest.mark.django_db

_offsets = iter(range(1, 10**6))


def raw(message: dict) -> RawMessage:
    return RawMessage(value=json.dumps(message).encode(), topic="t", partition=0, offset=next(_offsets))


def completion(transaction_id: str = "T-1", status: str = "SUCCEEDED", tenant: str = "acme", **data) -> dict:
    return kafka_message(tenant, event_name="TRANSACTION_COMPLETED",
                         data={"transactionId": transaction_id, "amount": "333.00", "transactionStatus": status,
                               **data})


@pytest.fixture
def acme():
    partner = PartnerFactory(tenant_id="acme")
    EventSubscriptionFactory(partner=partner, event_name="TRANSACTION_COMPLETED")
    EventSubscriptionFactory(partner=partner, event_name="TRANSACTION_STATUS_CHANGED")
    return partner


def delivered(event_name: str) -> list[Event]:
    return [d.event for d in WebhookDelivery.objects.filter(subscription__event_name=event_name)
            .select_related("event").order_by("id")]


def test_a_second_completion_becomes_a_status_change_with_old_and_new_status(acme):
    first, second = completion(status="SUCCEEDED"), completion(status="REVERSED")
    ingest_batch([raw(first)])
    result = ingest_batch([raw(second)])

    assert result.events_created == 1
    (completed,) = delivered("TRANSACTION_COMPLETED")
    (changed,) = delivered("TRANSACTION_STATUS_CHANGED")
    assert completed.event_id == first["eventId"]
    assert changed.event_id == second["eventId"]  # the same eventId: receivers still de-duplicate on it
    assert changed.event_name == "TRANSACTION_STATUS_CHANGED"
    assert changed.data == {**second["data"], "previousStatus": "SUCCEEDED", "newStatus": "REVERSED"}
    assert json.loads(changed.body)["eventName"] == "TRANSACTION_STATUS_CHANGED"
    state = TransactionCompletion.objects.get()
    assert (state.transaction_id, state.status, state.completed, state.completed_event_id) == (
        "T-1", "REVERSED", True, first["eventId"])


def test_completions_in_one_batch_are_taken_in_order(acme):
    messages = [completion(status="PENDING"), completion(status="SUCCEEDED"), completion(status="FAILED")]
    ingest_batch([raw(m) for m in messages])

    assert [e.event_id for e in delivered("TRANSACTION_COMPLETED")] == [messages[0]["eventId"]]
    changes = [(e.data["previousStatus"], e.data["newStatus"]) for e in delivered("TRANSACTION_STATUS_CHANGED")]
    assert changes == [("PENDING", "SUCCEEDED"), ("SUCCEEDED", "FAILED")]


def test_transactions_are_kept_apart_by_id_and_by_tenant(acme):
    globex = PartnerFactory(tenant_id="globex")
    EventSubscriptionFactory(partner=globex, event_name="ALL_EVENTS")
    ingest_batch([raw(completion("T-1")), raw(completion("T-2")), raw(completion("T-1", tenant="globex"))])

    assert Event.objects.filter(event_name="TRANSACTION_COMPLETED").count() == 3
    assert not Event.objects.filter(event_name="TRANSACTION_STATUS_CHANGED").exists()


def test_a_redelivered_rewritten_message_is_a_repeat_not_a_reused_id(acme):
    first, second = completion(), completion(status="REVERSED")
    ingest_batch([raw(first)])
    ingest_batch([raw(second)])

    again = ingest_batch([raw(second), raw(first)])

    assert (again.events_created, again.duplicates, again.dead_lettered) == (0, 2, 0)
    assert RewrittenEvent.objects.get().received_name == "TRANSACTION_COMPLETED"
    assert WebhookDelivery.objects.count() == 2
    assert TransactionCompletion.objects.get().status == "REVERSED"


def test_the_same_event_id_with_other_content_is_still_refused(acme):
    first, second = completion(), completion(status="REVERSED")
    ingest_batch([raw(first), raw(second)])

    result = ingest_batch([raw({**second, "data": {**second["data"], "amount": "1.00"}})])

    assert result.dead_lettered == 1
    assert DeadLetter.objects.get().reason_code == "event_id_reused"


@pytest.mark.parametrize("data", [{}, {"transactionId": ""}, {"transactionId": None}, {"transactionId": {"a": 1}},
                                  {"transactionId": True}])
def test_a_completion_without_a_transaction_id_is_dead_lettered(acme, data):
    message = kafka_message("acme", event_name="TRANSACTION_COMPLETED", data={"kitNo": "K1", **data})

    result = ingest_batch([raw(message)])

    assert (result.events_created, result.dead_lettered, result.duplicates) == (0, 1, 0)
    letter = DeadLetter.objects.get()
    assert letter.reason_code == "missing_field" and "transactionId" in letter.reason
    assert json.loads(bytes(letter.raw_value)) == message


def test_an_integer_transaction_id_is_a_key_too(acme):
    ingest_batch([raw(completion(transaction_id=42)), raw(completion(transaction_id=42, status="FAILED"))])
    assert TransactionCompletion.objects.get().transaction_id == "42"
    assert len(delivered("TRANSACTION_STATUS_CHANGED")) == 1


def test_a_status_change_from_the_topic_gets_the_old_status_and_moves_it_on(acme):
    ingest_batch([raw(completion(status="SUCCEEDED"))])
    change = kafka_message("acme", event_name="TRANSACTION_STATUS_CHANGED",
                           data={"transactionId": "T-1", "newStatus": "DISPUTED"})
    ingest_batch([raw(change)])
    ingest_batch([raw(completion(status="REFUNDED"))])

    first, second = delivered("TRANSACTION_STATUS_CHANGED")
    assert (first.data["previousStatus"], first.data["newStatus"]) == ("SUCCEEDED", "DISPUTED")
    assert (second.data["previousStatus"], second.data["newStatus"]) == ("DISPUTED", "REFUNDED")
    assert ingest_batch([raw(change)]).duplicates == 1  # its redelivery is recognised despite the filled field


def test_a_status_change_before_any_completion_does_not_use_up_the_completion(acme):
    change = kafka_message("acme", event_name="TRANSACTION_STATUS_CHANGED",
                           data={"transactionId": "T-1", "previousStatus": "NEW", "newStatus": "PENDING"})
    ingest_batch([raw(change)])
    later = completion(status="SUCCEEDED")
    ingest_batch([raw(later)])

    assert [e.event_id for e in delivered("TRANSACTION_COMPLETED")] == [later["eventId"]]
    assert delivered("TRANSACTION_STATUS_CHANGED")[0].data == change["data"]  # its own previousStatus is kept


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_ingests_send_one_completion():
    """Bridge A holds its batch's transaction open; bridge B's batch with the same transaction waits for A's commit
    and then sends a status change, not a second completion."""
    acme = PartnerFactory(tenant_id="acme")
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS")
    first, second = completion(status="SUCCEEDED"), completion(status="FAILED")
    a_ingested, b_started = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def bridge_a():
        try:
            with transaction.atomic():
                ingest_batch([raw(first)])
                a_ingested.set()
                b_started.wait(10)
                threading.Event().wait(0.5)  # B is now blocked on the completion row A holds
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def bridge_b():
        try:
            a_ingested.wait(10)
            b_started.set()
            ingest_batch([raw(second)])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=bridge_a), threading.Thread(target=bridge_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    names = dict(Event.objects.values_list("event_id", "event_name"))
    assert names == {first["eventId"]: "TRANSACTION_COMPLETED", second["eventId"]: "TRANSACTION_STATUS_CHANGED"}


def test_support_sees_the_rewrite_and_the_transaction_in_the_admin(acme, admin_client):
    first, second = completion(), completion(status="REVERSED")
    ingest_batch([raw(first), raw(second)])
    rewritten = Event.objects.get(event_id=second["eventId"])

    page = admin_client.get(f"/admin/notifications/event/{rewritten.pk}/change/")
    listing = admin_client.get("/admin/notifications/transactioncompletion/")

    assert page.status_code == 200
    assert "TRANSACTION_COMPLETED (transaction_completed_again)" in page.content.decode()
    assert listing.status_code == 200
    assert first["eventId"] in listing.content.decode()
    original = Event.objects.get(event_id=first["eventId"])
    assert "Received as" in admin_client.get(f"/admin/notifications/event/{original.pk}/change/").content.decode()
