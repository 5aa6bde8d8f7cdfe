"""The simulator covers seed 003's whole card-transaction family: approval, decline, clearing pending, clearing failed,
cleared, refund, reversal and 3DS challenge. Each emits its event, and through ingest each event's `issuer` body has
the status the seed's envelope gives it."""

import json

import pytest

from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.models import Event, EventBody
from tests.factories import EventSubscriptionFactory
from tests.wallets.helpers import outbox
from wallets.models import CardTransaction

URL = "/prepaid/auth/v1/simulate/transactions"


def simulate(client, card, **body):
    response = client.post(URL, {"kitNo": card.kit_no, **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def issuer_body(event_id: str) -> dict:
    return json.loads(EventBody.objects.get(event__event_id=event_id, payload_format="issuer").body)


@pytest.fixture
def issuer_subscription(partner):
    return EventSubscriptionFactory(partner=partner, event_name="ALL_EVENTS", payload_format="issuer")


def run_family(api_client, card) -> dict[str, dict]:
    """Every kind once; the response of each."""
    auth = simulate(api_client, card, type="AUTHORIZATION", amount="100")
    auth2 = simulate(api_client, card, type="AUTHORIZATION", amount="50")
    return {
        "approval": auth,
        "decline": simulate(api_client, card, type="AUTHORIZATION", amount="5000"),
        "clearing pending": simulate(api_client, card, type="CLEARING_PENDING",
                                     originalTransactionId=auth["transaction"]["transactionId"]),
        "clearing failed": simulate(api_client, card, type="CLEARING", forceDecline=True,
                                    originalTransactionId=auth2["transaction"]["transactionId"]),
        "cleared": simulate(api_client, card, type="CLEARING",
                            originalTransactionId=auth["transaction"]["transactionId"]),
        "refund": simulate(api_client, card, type="REFUND", amount="20"),
        "reversal": simulate(api_client, card, type="REVERSAL",
                             originalTransactionId=auth2["transaction"]["transactionId"]),
        "3ds challenge": simulate(api_client, card, type="THREE_DS_CHALLENGE", amount="75"),
    }


# kind -> (its event, the issuer envelope's operation, sub_operation, status, reason)
EXPECTED = {
    "approval": ("CARD_TRANSACTION_APPROVED", "CARD_TRANSACTION", "AUTHORIZATION", "SUCCESS", None),
    "decline": ("CARD_TRANSACTION_DECLINED", "CARD_TRANSACTION", "AUTHORIZATION", "FAILED", "INSUFFICIENT_FUNDS"),
    "clearing pending": ("CARD_TRANSACTION_CLEARING_PENDING", "CARD_TRANSACTION", "CLEARING_PENDING", "SUCCESS",
                         None),
    "clearing failed": ("CARD_TRANSACTION_CLEARING_FAILED", "CARD_TRANSACTION", "CLEARING", "FAILED", "SIMULATED"),
    "cleared": ("CARD_TRANSACTION_CLEARED", "CARD_TRANSACTION", "CLEARING", "SUCCESS", None),
    "refund": ("CARD_TRANSACTION_REFUND", "CARD_TRANSACTION", "REFUND", "SUCCESS", None),
    "reversal": ("CARD_TRANSACTION_REVERSAL", "CARD_TRANSACTION", "REVERSAL", "CANCELLED", None),
    "3ds challenge": ("CARD_3DS_CHALLENGE", "CARD_TRANSACTION", "THREE_DS_CHALLENGE", "SUCCESS", None),
}


def test_each_kind_emits_its_event_with_the_issuer_status(api_client, card, issuer_subscription):
    results = run_family(api_client, card)
    # Through ingest, as the bridge would take the outbox's messages from the topic.
    messages = [RawMessage(value=json.dumps(p).encode()) for p in outbox()]
    assert ingest_batch(messages).events_created == len(messages)

    for kind, (event_name, operation, sub_operation, status, reason) in EXPECTED.items():
        assert results[kind]["events"][-1] == event_name, kind
        transaction_id = results[kind]["transaction"]["transactionId"]
        (event,) = Event.objects.filter(event_name=event_name, data__transactionId=transaction_id)
        body = issuer_body(event.event_id)
        assert (body["operation"], body["sub_operation"], body["status"], body.get("reason")) == (
            operation, sub_operation, status, reason), kind
        assert body["operation_id"] == event.event_id


def test_transaction_notification_carries_the_outcome_too(api_client, card, issuer_subscription):
    results = run_family(api_client, card)
    ingest_batch([RawMessage(value=json.dumps(p).encode()) for p in outbox("TRANSACTION_NOTIFICATION")])

    def notification(kind: str) -> dict:
        transaction_id = results[kind]["transaction"]["transactionId"]
        event = Event.objects.get(event_name="TRANSACTION_NOTIFICATION", data__transactionId=transaction_id)
        return issuer_body(event.event_id)

    assert (notification("decline")["status"], notification("decline")["reason"]) == ("FAILED", "INSUFFICIENT_FUNDS")
    assert notification("reversal")["status"] == "CANCELLED"
    assert notification("cleared")["status"] == "SUCCESS"
    assert notification("clearing pending")["sub_operation"] == "NOTIFICATION"


def test_a_pending_clearing_moves_no_money_and_does_not_settle(api_client, card):
    before = card.last_activity_at
    auth = simulate(api_client, card, type="AUTHORIZATION", amount="100")["transaction"]
    card.refresh_from_db()
    after_auth = card.last_activity_at

    pending = simulate(api_client, card, type="CLEARING_PENDING", originalTransactionId=auth["transactionId"])

    assert pending["transaction"]["balance"] == "900.00"
    assert pending["transaction"]["originalTransactionId"] == auth["transactionId"]
    assert pending["events"] == ["TRANSACTION_NOTIFICATION", "CARD_TRANSACTION_CLEARING_PENDING"]
    card.refresh_from_db()
    assert card.last_activity_at == after_auth > before  # a pending clearing is no activity of its own
    cleared = simulate(api_client, card, type="CLEARING", originalTransactionId=auth["transactionId"])
    assert cleared["transaction"]["status"] == "APPROVED"  # the authorization was still open


@pytest.mark.parametrize(("body", "message_part"), [
    ({"type": "CLEARING_PENDING"}, "must name the authorization"),
    ({"type": "CLEARING_PENDING", "originalTransactionId": "00000000-0000-0000-0000-000000000000"},
     "No approved AUTHORIZATION"),
    ({"type": "AUTHORIZATION", "amount": "1", "forceDecline": "yes"}, "JSON boolean"),
    ({"type": "LOAD", "amount": "1", "originalTransactionId": "00000000-0000-0000-0000-000000000000"},
     "Only CLEARING_PENDING, CLEARING and REVERSAL"),
])
def test_bad_simulations_are_400(api_client, card, body, message_part):
    response = api_client.post(URL, {"kitNo": card.kit_no, **body}, format="json")

    assert response.status_code == 400
    assert message_part in str(response.json()["error"]["fields"])
    assert not CardTransaction.objects.exists()
    assert outbox() == []


def test_force_decline_declines_what_would_be_approved(api_client, card):
    result = simulate(api_client, card, type="LOAD", amount="10", forceDecline=True)

    assert (result["transaction"]["status"], result["transaction"]["declineReason"]) == ("DECLINED", "SIMULATED")
    assert result["transaction"]["balance"] == "1000.00"
    assert result["events"] == ["TRANSACTION_NOTIFICATION", "CARD_TRANSACTION_DECLINED"]
