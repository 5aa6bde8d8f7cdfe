"""payloadFormat through ingest and the delivery service, against a real local receiver: each subscription gets its
format, every body verifies with the reference Standard Webhooks library, and a body is rendered once per event and
format however many deliveries send it."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from notifications import services
from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.models import Event, EventBody, WebhookDelivery
from notifications.ops.retention import history_prune
from notifications.webhooks.formats import EventFields, render
from tests.factories import EventSubscriptionFactory, PartnerFactory
from tests.notifications.helpers import deliver_as_task, kafka_message

pytestmark = pytest.mark.django_db


def ingest(*messages: dict):
    return ingest_batch([RawMessage(value=json.dumps(m).encode()) for m in messages])


def deliver_all() -> None:
    ids = list(WebhookDelivery.objects.order_by("id").values_list("id", flat=True))
    for batch in ingest_batches(ids):
        deliver_as_task(batch)


def ingest_batches(ids: list[int]) -> list[list[int]]:
    tokens: dict = {}
    for pk, token in WebhookDelivery.objects.filter(pk__in=ids).values_list("id", "claim_token"):
        tokens.setdefault(token, []).append(pk)
    return list(tokens.values())


def fields_of(event: Event) -> EventFields:
    return EventFields(event_id=event.event_id, event_name=event.event_name, event_type=event.event_type,
                       tenant_id=event.partner.tenant_id, occurred_at=event.occurred_at, data=event.data,
                       entity_id=event.entity_id, sequence=event.sequence)


def test_one_subscription_per_format_gets_the_same_event_in_its_shape(webhook_receiver):
    subscriptions = {}
    for payload_format in ("standard", "issuer", "p2c"):
        partner = PartnerFactory(tenant_id=f"t-{payload_format}")
        subscriptions[partner.tenant_id] = EventSubscriptionFactory(
            partner=partner, event_name="ALL_EVENTS", payload_format=payload_format,
            destination=webhook_receiver.url(f"/{payload_format}"),
        )
    data = {"kitNo": "K1", "transactionId": "T-9", "status": "DECLINED", "declineReason": "INSUFFICIENT_FUNDS"}
    messages = [kafka_message(t, eventId="evt-shared", entityId="card-1", data=data) for t in subscriptions]
    ingest(*messages)
    deliver_all()

    bodies = {}
    for request in webhook_receiver.wait_for_count(3):
        tenant = f"t-{request.path.strip('/')}"
        assert request.headers["webhook-id"] == "evt-shared"
        bodies[request.path.strip("/")] = Webhook(subscriptions[tenant].secret).verify(request.body, request.headers)
    assert bodies["standard"]["eventName"] == "TRANSACTION_NOTIFICATION"
    assert bodies["standard"]["data"] == data and bodies["standard"]["sequence"] == 1
    assert bodies["issuer"] == {"operation": "TRANSACTION", "sub_operation": "NOTIFICATION",
                                "operation_id": "evt-shared", "status": "FAILED", "reason": "INSUFFICIENT_FUNDS",
                                "data": data}
    assert bodies["p2c"] == {"EventId": "evt-shared", "EventName": "TransactionNotification",
                             "Data": {"KitNo": "K1", "TransactionId": "T-9", "Status": "DECLINED",
                                      "DeclineReason": "INSUFFICIENT_FUNDS"}}


def test_a_body_is_rendered_once_per_event_and_format(webhook_receiver):
    acme = PartnerFactory(tenant_id="acme")
    for event_name in ("ALL_EVENTS", "TRANSACTION_NOTIFICATION"):
        EventSubscriptionFactory(partner=acme, event_name=event_name, payload_format="issuer",
                                 destination=webhook_receiver.url(f"/{event_name}"))
    EventSubscriptionFactory(partner=acme, event_name="KIT_STATUS_UPDATE", destination=webhook_receiver.url("/std"))
    message = kafka_message()
    ingest(message)

    event = Event.objects.get()
    (stored,) = EventBody.objects.filter(event=event)  # two issuer subscriptions, one body
    assert stored.payload_format == "issuer"
    assert stored.body == render("issuer", fields_of(event))
    assert stored.holds_card_number is False
    deliver_all()
    first, second = webhook_receiver.wait_for_count(2)
    assert first.body == second.body == stored.body.encode()


def test_standard_subscriptions_store_no_other_body():
    acme = PartnerFactory(tenant_id="acme")
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS")
    ingest(kafka_message(), kafka_message())
    assert Event.objects.count() == 2
    assert not EventBody.objects.exists()


def test_a_format_changed_after_ingest_is_rendered_by_the_delivery_once(webhook_receiver):
    acme = PartnerFactory(tenant_id="acme")
    subscription = EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS",
                                            destination=webhook_receiver.url())
    ingest(kafka_message(event_name="TRANSACTION_COMPLETED", data={"transactionId": "T-1"}))
    subscription.payload_format = "p2c"
    subscription.save()

    deliver_all()

    (request,) = webhook_receiver.wait_for_count(1)
    body = Webhook(subscription.secret).verify(request.body, request.headers)
    assert body["EventName"] == "TransactionCompleted"
    assert body["Data"]["TransactionId"] == "T-1"
    assert request.body == EventBody.objects.get(payload_format="p2c").body.encode()


def test_a_test_event_comes_in_the_subscriptions_format(webhook_receiver):
    acme = PartnerFactory(tenant_id="acme")
    subscription = EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", payload_format="issuer",
                                            destination=webhook_receiver.url())
    delivery = services.subscription_send_test(subscription=subscription, channel="PARTNER_API", actor="acme")
    deliver_as_task([delivery.pk])

    (request,) = webhook_receiver.wait_for_count(1)
    body = Webhook(subscription.secret).verify(request.body, request.headers)
    assert (body["operation"], body["sub_operation"], body["status"]) == ("WEBHOOK", "TEST", "SUCCESS")
    assert body["operation_id"] == request.headers["webhook-id"] == delivery.event.event_id


def test_a_card_number_in_a_format_body_is_refused_like_in_the_standard_one(webhook_receiver):
    acme = PartnerFactory(tenant_id="acme")
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", payload_format="p2c",
                             destination=webhook_receiver.url())
    ingest(kafka_message(data={"kitNo": "K1", "note": "4111111111111111"}))
    assert EventBody.objects.get().holds_card_number is True

    deliver_all()

    assert webhook_receiver.requests == []
    assert WebhookDelivery.objects.get().last_error == "content_contains_card_number"


def test_retention_deletes_the_format_bodies_with_their_event():
    acme = PartnerFactory(tenant_id="acme")
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", payload_format="issuer")
    ingest(kafka_message(event_name="CARD_TRANSACTION_CLEARED"))  # partner-only: no cardholder message to keep
    WebhookDelivery.objects.update(status="SUCCEEDED", completed_at=timezone.now() - timedelta(days=40))
    Event.objects.update(received_at=timezone.now() - timedelta(days=40))

    report = history_prune(cutoff=timezone.now() - timedelta(days=30))

    assert report.counts["events"] == 1
    assert not EventBody.objects.exists()
