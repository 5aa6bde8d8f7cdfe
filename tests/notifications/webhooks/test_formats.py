"""The three body formats as functions of an event: the issuer mapping table covers the catalog and decides the
status as seeds 002/003 say, P2C names follow seed 004, and every example body has its documented shape."""

import re
from datetime import UTC, datetime

import pytest

from notifications import jsoncodec
from notifications.webhooks.formats import EventFields, example_bodies, render
from notifications.webhooks.formats.issuer import ISSUER_OPERATIONS, issuer_envelope
from notifications.webhooks.formats.p2c import P2C_EVENT_NAMES, p2c_envelope, p2c_event_name, pascal_case
from notifications.webhooks.payloads import webhook_body
from subscriptions.apis.webhook_bodies import IssuerWebhookBody, P2cWebhookBody, StandardWebhookBody
from subscriptions.catalog import EVENT_CATALOG
from tests.fixtures.processes import ROOT

AT = datetime(2026, 2, 12, 10, 30, tzinfo=UTC)


def fields(event_name: str, data: dict, **extra) -> EventFields:
    return EventFields(event_id="evt-1", event_name=event_name, event_type="INSTANT", tenant_id="acme",
                       occurred_at=AT, data=data, **extra)


def issuer(event_name: str, data: dict) -> dict:
    return issuer_envelope(fields(event_name, data))


def test_the_issuer_table_covers_every_catalog_event():
    assert set(ISSUER_OPERATIONS) == set(EVENT_CATALOG)


def test_operation_sub_operation_and_status_tell_every_event_apart():
    """A receiver written for the issuer envelope can tell which event it got from the envelope alone."""
    seen: dict[tuple, str] = {}
    for name, definition in EVENT_CATALOG.items():
        body = example_bodies(definition)["issuer"]
        key = (body["operation"], body["sub_operation"], body["status"])
        assert key not in seen, f"{name} and {seen.get(key)} share {key}"
        seen[key] = name


@pytest.mark.parametrize(("event_name", "data", "status", "reason"), [
    ("CARD_TRANSACTION_APPROVED", {"status": "APPROVED"}, "SUCCESS", None),
    ("CARD_TRANSACTION_DECLINED", {"status": "DECLINED", "declineReason": "INSUFFICIENT_FUNDS"}, "FAILED",
     "INSUFFICIENT_FUNDS"),
    ("CARD_TRANSACTION_DECLINED", {}, "FAILED", "DECLINED"),
    ("CARD_TRANSACTION_CLEARING_PENDING", {}, "SUCCESS", None),
    ("CARD_TRANSACTION_CLEARING_FAILED", {"reason": "CARD_NOT_ACTIVE", "declineReason": ""}, "FAILED",
     "CARD_NOT_ACTIVE"),
    ("CARD_TRANSACTION_CLEARED", {}, "SUCCESS", None),
    ("CARD_TRANSACTION_REFUND", {}, "SUCCESS", None),
    ("CARD_TRANSACTION_REVERSAL", {}, "CANCELLED", None),
    ("CARD_3DS_CHALLENGE", {"otp": "123456"}, "SUCCESS", None),
    ("TRANSACTION_NOTIFICATION", {"status": "APPROVED", "transactionType": "AUTHORIZATION"}, "SUCCESS", None),
    ("TRANSACTION_NOTIFICATION", {"status": "DECLINED", "declineReason": "WALLET_STATUS"}, "FAILED",
     "WALLET_STATUS"),
    ("TRANSACTION_NOTIFICATION", {"status": "APPROVED", "transactionType": "REVERSAL"}, "CANCELLED", None),
    ("TRANSACTION_COMPLETED", {"transactionStatus": "SUCCEEDED"}, "SUCCESS", None),
    ("TRANSACTION_COMPLETED", {"transactionStatus": "failed"}, "FAILED", "FAILED"),
    ("TRANSACTION_STATUS_CHANGED", {"previousStatus": "SUCCEEDED", "newStatus": "REVERSED"}, "CANCELLED", None),
    ("CARD_AUTHORIZED", {"authorized": False, "responseCode": "05"}, "FAILED", "05"),
    ("CARD_AUTHORIZED", {"authorized": True}, "SUCCESS", None),
    ("TRANSACTION_BATCH_COMPLETED", {"successTransactionCount": 0, "failedTransactionCount": 2}, "FAILED",
     "ALL_TRANSACTIONS_FAILED"),
    ("WALLET_DEPOSIT_RECEIVED", {}, "SUCCESS", None),
])
def test_issuer_status_and_reason(event_name, data, status, reason):
    body = issuer(event_name, data)
    assert body["status"] == status
    assert body.get("reason") == reason
    assert ("reason" in body) == (status == "FAILED")  # seed 002: the reason appears when FAILED
    assert body["operation_id"] == "evt-1"
    assert body["data"] == data


def test_issuer_envelope_has_exactly_the_seed_fields_in_order():
    body = issuer("CARD_TRANSACTION_DECLINED", {"declineReason": "CARD_EXPIRED"})
    assert list(body) == ["operation", "sub_operation", "operation_id", "status", "reason", "data"]
    assert (body["operation"], body["sub_operation"]) == ("CARD_TRANSACTION", "AUTHORIZATION")
    assert list(issuer("WALLET_DEPOSIT_RECEIVED", {})) == ["operation", "sub_operation", "operation_id", "status",
                                                            "data"]
    assert issuer("WALLET_DEPOSIT_RECEIVED", {})["operation"] == "TREASURY"  # seed 002's own example


def test_p2c_names_of_the_seed_events_and_pascal_case_for_the_rest():
    assert set(P2C_EVENT_NAMES.values()) == {"CardAuthorized", "CardStatusChanged", "Transaction",
                                             "TransactionStatusChanged", "TransactionCompleted"}
    assert p2c_event_name("TRANSACTION_COMPLETED") == "TransactionCompleted"
    assert p2c_event_name("KIT_STATUS_UPDATE") == "KitStatusUpdate"
    assert p2c_event_name("CARD_3DS_CHALLENGE") == "Card3dsChallenge"
    assert pascal_case("transactionId") == "TransactionId"
    assert pascal_case("last4") == "Last4"
    assert pascal_case("already_snake") == "AlreadySnake"
    names = {p2c_event_name(name) for name in EVENT_CATALOG}
    assert len(names) == len(EVENT_CATALOG)  # no two events share a P2C name


def test_p2c_transaction_completed_has_seed_004s_fields():
    body = p2c_envelope(fields("TRANSACTION_COMPLETED", {
        "transactionId": "T-1", "amount": "333.00", "transactionStatus": "SUCCEEDED", "cardId": "card-1",
        "kitNo": "K1",
    }))
    assert list(body) == ["EventId", "EventName", "Data"]
    assert body["EventName"] == "TransactionCompleted"
    assert body["Data"] == {"TransactionId": "T-1", "Amount": "333.00", "TransactionStatus": "SUCCEEDED",
                            "CreditCardId": "card-1", "KitNo": "K1", "TransactionRequestedAt": "2026-02-12T10:30:00Z"}


def test_p2c_status_changes_use_the_seed_names_in_lower_case():
    card = p2c_envelope(fields("CARD_STATUS_CHANGED", {"cardId": "c", "previousStatus": "ACTIVE",
                                                       "newStatus": "INACTIVE"}))
    assert card["Data"] == {"CreditCardId": "c", "OldStatus": "active", "NewStatus": "inactive",
                            "StatusChangedAt": "2026-02-12T10:30:00Z"}
    txn = p2c_envelope(fields("TRANSACTION_STATUS_CHANGED", {"transactionId": "T", "previousStatus": "SUCCEEDED",
                                                             "newStatus": "PENDING"}))
    assert txn["EventName"] == "TransactionStatusChanged"
    assert txn["Data"]["OldTransactionStatus"] == "succeeded"
    assert txn["Data"]["NewTransactionStatus"] == "pending"
    assert p2c_envelope(fields("CARD_AUTHORIZED", {"cardId": "tok", "authorized": True}))["Data"] == {
        "CardToken": "tok", "Authorized": True}


def test_p2c_converts_nested_keys_and_keeps_values():
    body = p2c_envelope(fields("FEE_CHARGED", {"amount": "1.10", "details": {"feeType": "ANNUAL",
                                                                             "items": [{"lineNo": 1}]}}))
    assert body["Data"] == {"Amount": "1.10", "Details": {"FeeType": "ANNUAL", "Items": [{"LineNo": 1}]}}


def test_standard_format_is_the_design_contract_body():
    f = fields("TRANSACTION_NOTIFICATION", {"kitNo": "K1"}, entity_id="card-1", sequence=3)
    assert render("standard", f) == webhook_body(
        event_id="evt-1", event_name="TRANSACTION_NOTIFICATION", event_type="INSTANT", tenant_id="acme",
        occurred_at=AT, data={"kitNo": "K1"}, entity_id="card-1", sequence=3,
    )
    assert list(jsoncodec.loads(render("standard", f).encode())) == [
        "eventId", "eventName", "eventType", "tenantId", "occurredAt", "data", "entityId", "sequence"]


@pytest.mark.parametrize("event_name", list(EVENT_CATALOG))
def test_every_events_example_matches_each_formats_documented_schema(event_name):
    bodies = example_bodies(EVENT_CATALOG[event_name])
    for payload_format, serializer in (("standard", StandardWebhookBody), ("issuer", IssuerWebhookBody),
                                       ("p2c", P2cWebhookBody)):
        checked = serializer(data=bodies[payload_format])
        assert checked.is_valid(), (payload_format, checked.errors)
        assert set(bodies[payload_format]) <= set(serializer().fields), payload_format
    assert bodies["issuer"]["operation_id"] == bodies["standard"]["eventId"] == bodies["p2c"]["EventId"]


def test_the_documented_mapping_table_is_the_codes():
    """docs/partner-api.md prints the mapping table; it must say what the code does, for every event."""
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \| `([A-Z_]+)` / `([A-Z0-9_]+)` \| (.+?) \| `(\w+)` \|$",
                      (ROOT / "docs" / "partner-api.md").read_text(), flags=re.MULTILINE)
    documented = {name: (operation, sub, rule, p2c) for name, operation, sub, rule, p2c in rows}
    assert set(documented) == set(EVENT_CATALOG)
    for name, (operation, sub, rule, p2c) in documented.items():
        mapping = ISSUER_OPERATIONS[name]
        assert (operation, sub, rule, p2c) == (mapping.operation, mapping.sub_operation, mapping.rule,
                                               p2c_event_name(name)), name
