"""Issue 16 end to end, with real processes: Tansu → kafka_bridge → PostgreSQL → Redis → Celery worker → local HTTP
receiver. Payload formats, seed 004's once-only rule (with two bridges racing), every source of a card status change,
and the simulated card-transaction family, each body verified with the reference `standardwebhooks` library."""

import json
import sys
import uuid
from datetime import date, timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from notifications.models import Event, OutboxMessage, WebhookDelivery
from notifications.outbox import outbox_publish_pending
from notifications.sweep.run import sweep_run
from tests.factories import CardFactory, EventSubscriptionFactory, PartnerFactory, ProductFactory, WalletFactory
from tests.fixtures.processes import wait_until
from tests.notifications.helpers import kafka_message
from wallets.services.cards import card_reissue
from wallets.services.wallet_status import wallet_change_status
from wallets.state_machine import Actor

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FORMATS = ("standard", "issuer", "p2c")


def verified(receiver, subscriptions_by_path: dict, count: int, timeout: float = 60) -> dict[str, list[dict]]:
    """The first `count` requests, verified with each path's subscription secret, grouped by path, each path's in
    the order of their events (per-entity sequence, then time): requests of one batch are sent concurrently."""
    bodies: dict[str, list[dict]] = {}
    for request in receiver.wait_for_count(count, timeout=timeout):
        subscription = subscriptions_by_path[request.path]
        body = Webhook(subscription.secret).verify(request.body, request.headers)
        bodies.setdefault(request.path, []).append({"headers": request.headers, "body": body})
    for path, received in bodies.items():
        partner = subscriptions_by_path[path].partner
        order = {e.event_id: (e.sequence or 0, e.received_at, e.pk) for e in Event.objects.filter(partner=partner)}
        received.sort(key=lambda r: order[r["headers"]["webhook-id"]])
    return bodies


def completion(tenant: str, transaction_id: str, status: str, event_id: str) -> dict:
    return kafka_message(tenant, event_name="TRANSACTION_COMPLETED", eventId=event_id, entityId=transaction_id,
                         data={"transactionId": transaction_id, "amount": "333.00", "transactionStatus": status,
                               "cardId": "card-1"})


def test_each_format_receives_the_same_events_in_its_documented_shape(
    kafka_topic, tansu_broker, webhook_receiver, start_worker, start_bridge
):
    subscriptions = {}
    for payload_format in FORMATS:
        partner = PartnerFactory(tenant_id=f"fmt-{payload_format}")
        subscriptions[f"/{payload_format}"] = EventSubscriptionFactory(
            partner=partner, event_name="ALL_EVENTS", payload_format=payload_format,
            destination=webhook_receiver.url(f"/{payload_format}"),
        )
    # The same events (same eventIds: ids are per tenant) for each tenant.
    declined = {"kitNo": "K1", "cardId": "card-1", "transactionId": "T-7", "amount": "9.99",
                "declineReason": "INSUFFICIENT_FUNDS"}
    templates = [
        {"eventId": "e-declined", "eventName": "CARD_TRANSACTION_DECLINED", "data": declined},
        {"eventId": "e-reversal", "eventName": "CARD_TRANSACTION_REVERSAL", "data": {**declined, "declineReason": ""}},
        {"eventId": "e-status", "eventName": "CARD_STATUS_CHANGED",
         "data": {"kitNo": "K1", "cardId": "card-1", "previousStatus": "ACTIVE", "newStatus": "INACTIVE"}},
    ]
    messages = [kafka_message(f"fmt-{f}", entityId="card-1", **t) for f in FORMATS for t in templates]
    start_worker()
    start_bridge()
    tansu_broker.produce(kafka_topic, messages, keys=["card-1"] * len(messages))

    bodies = verified(webhook_receiver, subscriptions, len(messages))

    for path, received in bodies.items():
        assert [r["headers"]["webhook-id"] for r in received] == ["e-declined", "e-reversal", "e-status"], path
    standard = [r["body"] for r in bodies["/standard"]]
    assert [b["eventName"] for b in standard] == [t["eventName"] for t in templates]
    assert [b["sequence"] for b in standard] == [1, 2, 3]
    issuer = [r["body"] for r in bodies["/issuer"]]
    assert [(b["operation"], b["sub_operation"], b["status"], b.get("reason")) for b in issuer] == [
        ("CARD_TRANSACTION", "AUTHORIZATION", "FAILED", "INSUFFICIENT_FUNDS"),
        ("CARD_TRANSACTION", "REVERSAL", "CANCELLED", None),
        ("CARD", "STATUS_CHANGE", "SUCCESS", None),
    ]
    assert [b["operation_id"] for b in issuer] == ["e-declined", "e-reversal", "e-status"]
    assert issuer[0]["data"] == declined
    p2c = [r["body"] for r in bodies["/p2c"]]
    assert [b["EventName"] for b in p2c] == ["CardTransactionDeclined", "CardTransactionReversal",
                                            "CardStatusChanged"]
    assert all(set(b) == {"EventId", "EventName", "Data"} for b in p2c)
    assert p2c[2]["Data"]["OldStatus"] == "active" and p2c[2]["Data"]["NewStatus"] == "inactive"
    assert p2c[2]["Data"]["CreditCardId"] == "card-1"


@pytest.mark.parametrize("bridges", [1, 2])
def test_two_completions_of_a_transaction_reach_the_partner_once_as_completed(
    kafka_topic, tansu_broker, webhook_receiver, start_worker, start_process, process_env, bridges
):
    """With two bridges, each in its own consumer group, both ingest every message: they race on every
    transaction, and the database still lets exactly one TRANSACTION_COMPLETED through per transaction."""
    partner = PartnerFactory(tenant_id="acme")
    subscriptions = {
        "/completed": EventSubscriptionFactory(partner=partner, event_name="TRANSACTION_COMPLETED",
                                               payload_format="p2c", destination=webhook_receiver.url("/completed")),
        "/changed": EventSubscriptionFactory(partner=partner, event_name="TRANSACTION_STATUS_CHANGED",
                                             payload_format="p2c", destination=webhook_receiver.url("/changed")),
    }
    transactions = [f"T-{i:03d}" for i in range(20)]
    messages = []
    for txn in transactions:
        messages.append(completion("acme", txn, "SUCCEEDED", f"{txn}-first"))
        messages.append(completion("acme", txn, "REVERSED", f"{txn}-second"))
    start_worker()
    for _ in range(bridges):
        start_process("kafka-bridge", [sys.executable, "manage.py", "kafka_bridge", "--group",
                                       f"bridge-{uuid.uuid4().hex[:8]}", "--batch-size", "7", "--topic",
                                       kafka_topic])
    tansu_broker.produce(kafka_topic, messages, keys=[m["entityId"] for m in messages])

    bodies = verified(webhook_receiver, subscriptions, 2 * len(transactions), timeout=90)
    wait_until(lambda: WebhookDelivery.objects.filter(status="SUCCEEDED").count() == 2 * len(transactions), 30)

    completed = [r["body"] for r in bodies["/completed"]]
    changed = [r["body"] for r in bodies["/changed"]]
    assert sorted(b["Data"]["TransactionId"] for b in completed) == transactions  # once each
    assert {b["EventId"] for b in completed} == {f"{t}-first" for t in transactions}
    assert all(b["EventName"] == "TransactionCompleted" for b in completed)
    assert sorted(b["Data"]["TransactionId"] for b in changed) == transactions
    for body in changed:
        assert body["EventName"] == "TransactionStatusChanged"
        assert (body["Data"]["OldTransactionStatus"], body["Data"]["NewTransactionStatus"]) == (
            "succeeded", "reversed")
    assert Event.objects.count() == 2 * len(transactions)
    assert len(webhook_receiver.requests) == 2 * len(transactions)  # nothing twice


def test_every_card_status_change_the_platform_makes_reaches_kit_status_update(
    kafka_topic, tansu_broker, webhook_receiver, start_worker, start_bridge, make_client
):
    partner = PartnerFactory(tenant_id="acme")
    subscription = EventSubscriptionFactory(partner=partner, event_name="KIT_STATUS_UPDATE",
                                            destination=webhook_receiver.url("/kit"))
    run_day = date.today()
    product = ProductFactory(partner=partner, dormancy_days=30)

    def card(kit_no: str, **kwargs):
        wallet = kwargs.pop("wallet", None) or WalletFactory(partner=partner, product=product)
        return CardFactory(partner=partner, wallet=wallet, kit_no=kit_no, **kwargs)

    api_card = card("K-API")
    expiring = card("K-EXPIRY", expiry_date=run_day - timedelta(days=1))
    dormant = card("K-DORMANT", last_activity_at=timezone.now() - timedelta(days=60))
    reissued = card("K-REISSUE")
    closing_wallet = WalletFactory(partner=partner, product=product)
    closed = card("K-WALLET", wallet=closing_wallet)

    assert make_client(partner).post(f"/prepaid/auth/v1/cards/{api_card.card_id}/lock", {},
                                     format="json").status_code == 200
    sweep_run(run_date=run_day)
    card_reissue(card=reissued, actor_name="acme/token:x", reason="DAMAGED")
    wallet_change_status(wallet=closing_wallet, to_status="CLOSED", actor=Actor.PARTNER, actor_name="acme/token:x",
                         reason="CUSTOMER_REQUEST")
    assert OutboxMessage.objects.filter(payload__eventName="KIT_STATUS_UPDATE").count() == 5
    start_worker()
    start_bridge()
    outbox_publish_pending()  # the worker's outbox task may publish them first: either way, once

    received = verified(webhook_receiver, {"/kit": subscription}, 5)["/kit"]
    by_kit = {r["body"]["data"]["kitNo"]: r["body"]["data"] for r in received}
    assert {k: (d["previousStatus"], d["newStatus"], d["reason"]) for k, d in by_kit.items()} == {
        "K-API": ("ACTIVE", "LOCKED", "LOCKED"),
        "K-EXPIRY": ("ACTIVE", "EXPIRED", "EXPIRED"),
        "K-DORMANT": ("ACTIVE", "INACTIVE", "DORMANCY"),
        "K-REISSUE": ("ACTIVE", "ACTIVE", "REISSUED"),
        "K-WALLET": ("ACTIVE", "CLOSED", "WALLET_CLOSED"),
    }
    assert by_kit["K-API"]["channel"] == "PARTNER_API" and by_kit["K-EXPIRY"]["channel"] == "SYSTEM"
    assert all(r["body"]["eventName"] == "KIT_STATUS_UPDATE" for r in received)
    assert {r["body"]["entityId"] for r in received} == {str(c.card_id) for c in
                                                         (api_card, expiring, dormant, reissued, closed)}


def test_each_simulated_kind_reaches_the_partner_with_its_issuer_status(
    kafka_topic, tansu_broker, webhook_receiver, start_worker, start_bridge, make_client
):
    partner = PartnerFactory(tenant_id="acme")
    subscription = EventSubscriptionFactory(partner=partner, event_name="ALL_EVENTS", payload_format="issuer",
                                            destination=webhook_receiver.url("/issuer"))
    wallet = WalletFactory(partner=partner, balance=1000)
    card = CardFactory(partner=partner, wallet=wallet)
    client = make_client(partner)

    def simulate(**body) -> dict:
        response = client.post("/prepaid/auth/v1/simulate/transactions", {"kitNo": card.kit_no, **body},
                               format="json")
        assert response.status_code == 201, response.json()
        return response.json()["transaction"]

    auth = simulate(type="AUTHORIZATION", amount="100")
    auth2 = simulate(type="AUTHORIZATION", amount="50")
    simulate(type="AUTHORIZATION", amount="5000")
    simulate(type="CLEARING_PENDING", originalTransactionId=auth["transactionId"])
    simulate(type="CLEARING", forceDecline=True, originalTransactionId=auth2["transactionId"])
    simulate(type="CLEARING", originalTransactionId=auth["transactionId"])
    simulate(type="REFUND", amount="20")
    simulate(type="REVERSAL", originalTransactionId=auth2["transactionId"])
    simulate(type="THREE_DS_CHALLENGE", amount="75")
    published = OutboxMessage.objects.count()
    start_worker()
    start_bridge()
    outbox_publish_pending()

    received = verified(webhook_receiver, {"/issuer": subscription}, published, timeout=90)["/issuer"]
    family = [(b["body"]["sub_operation"], b["body"]["status"], b["body"].get("reason"))
              for b in received if b["body"]["operation"] == "CARD_TRANSACTION"]
    assert family == [
        ("AUTHORIZATION", "SUCCESS", None),
        ("AUTHORIZATION", "SUCCESS", None),
        ("AUTHORIZATION", "FAILED", "INSUFFICIENT_FUNDS"),
        ("CLEARING_PENDING", "SUCCESS", None),
        ("CLEARING", "FAILED", "SIMULATED"),
        ("CLEARING", "SUCCESS", None),
        ("REFUND", "SUCCESS", None),
        ("REVERSAL", "CANCELLED", None),
        ("THREE_DS_CHALLENGE", "SUCCESS", None),
    ]
    for request in received:
        assert request["body"]["operation_id"] == request["headers"]["webhook-id"]
    assert json.loads(Event.objects.get(event_name="CARD_3DS_CHALLENGE").body)["data"]["otp"].isdigit()
