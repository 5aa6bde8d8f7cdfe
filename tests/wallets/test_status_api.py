"""POST /wallets/{walletId}/status and GET /wallets/{walletId}/status-history: responses, reason codes, bad input,
idempotency, access levels and tenant isolation."""

import uuid

import pytest

from subscriptions.models import AuditEntry
from tests.factories import WalletFactory
from tests.wallets.helpers import outbox
from wallets.models import StatusChangeIdempotencyKey, WalletStatusTransition


def status_url(wallet_or_id) -> str:
    wallet_id = getattr(wallet_or_id, "wallet_id", wallet_or_id)
    return f"/prepaid/auth/v1/wallets/{wallet_id}/status"


def history_url(wallet) -> str:
    return f"/prepaid/auth/v1/wallets/{wallet.wallet_id}/status-history"


def test_lock_returns_the_transition_and_emits_events(api_client, wallet):
    response = api_client.post(
        status_url(wallet), {"status": "LOCKED", "reason": "SUSPECTED_FRAUD", "comment": "odd spend"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    transition = WalletStatusTransition.objects.get(wallet=wallet)
    assert body == {
        "transitionId": transition.pk,
        "walletId": str(wallet.wallet_id),
        "fromStatus": "ACTIVE",
        "toStatus": "LOCKED",
        "reason": "SUSPECTED_FRAUD",
        "comment": "odd spend",
        "actor": api_client.token.partner.tenant_id + "/token:" + api_client.token.prefix,
        "channel": "PARTNER_API",
        "eventId": transition.event_id,
        "createdAt": body["createdAt"],
    }
    [changed] = outbox("WALLET_STATUS_CHANGED")
    assert changed["tenantId"] == "acme"
    assert changed["data"] == {
        "walletId": str(wallet.wallet_id),
        "customerId": wallet.cardholder.external_id,
        "cardholderName": wallet.cardholder.name,
        "previousStatus": "ACTIVE",
        "newStatus": "LOCKED",
        "reason": "SUSPECTED_FRAUD",
        "comment": "odd spend",
        "channel": "PARTNER_API",
    }
    [locked] = outbox("WALLET_LOCKED")
    assert locked["entityId"] == str(wallet.wallet_id)
    audit = AuditEntry.objects.get(action="wallet.status_changed")
    assert audit.channel == "PARTNER_API"
    assert audit.actor.startswith("acme/token:")


def test_forbidden_transition_is_409_with_allowed_targets(api_client, partner):
    wallet = WalletFactory(partner=partner, status="BLOCKED")

    response = api_client.post(status_url(wallet), {"status": "ACTIVE", "reason": "REACTIVATION"}, format="json")

    assert response.status_code == 409
    how_to_ask = (
        "ask the platform's support team to move the wallet from BLOCKED to ACTIVE, giving the walletId, the reason; "
        "the change then appears in the wallet's status history and as WALLET_STATUS_CHANGED with channel SUPPORT."
    )
    assert response.json()["error"] == {
        "code": "transition_not_allowed",
        "message": f"A wallet in status BLOCKED cannot be moved to ACTIVE; allowed: none. Support staff can make "
        f"this move: {how_to_ask}",
        "currentStatus": "BLOCKED",
        "requestedStatus": "ACTIVE",
        "allowedTargets": [],
        "supportOnly": True,
        "howToAsk": how_to_ask,
    }


def test_409_lists_the_partners_targets(api_client, partner):
    wallet = WalletFactory(partner=partner, status="LOCKED")

    response = api_client.post(status_url(wallet), {"status": "DEBIT_FREEZE", "reason": "DISPUTE"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["allowedTargets"] == ["ACTIVE", "BLOCKED", "CLOSED", "FRAUD"]
    assert response.json()["error"]["supportOnly"] is False  # nobody can: support has nothing to add
    assert "howToAsk" not in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "field", "message_part"),
    [
        ({"status": "SLEEPING", "reason": "OTHER", "comment": "x"}, "status", "not a valid choice"),
        ({"status": "locked", "reason": "COMPLIANCE"}, "status", "not a valid choice"),
        ({"status": "LOCKED", "reason": "BECAUSE"}, "reason", "not a valid choice"),
        ({"status": "LOCKED", "reason": "OTHER"}, "comment", "comment is required"),
        ({"status": "LOCKED", "reason": "OTHER", "comment": "   "}, "comment", "comment is required"),
        ({"status": "EXPIRED", "reason": "CARD_EXPIRED"}, "reason", "set by the platform only"),
        ({"reason": "COMPLIANCE"}, "status", "required"),
        ({"status": "LOCKED"}, "reason", "required"),
        ({"status": "LOCKED", "reason": "COMPLIANCE", "comment": 42}, "comment", "JSON string"),
        ({"status": "LOCKED", "reason": "COMPLIANCE", "colour": "red"}, "colour", "Unknown field"),
        ({"status": "LOCKED", "reason": "COMPLIANCE", "comment": "x" * 501}, "comment", "no more than 500"),
        ({"status": "LOCKED", "reason": "COMPLIANCE", "idempotencyKey": "has space"}, "idempotencyKey", "ASCII"),
        ({"status": "LOCKED", "reason": "OTHER", "comment": "card 4111 1111 1111 1111"}, "comment", "card number"),
        ({"status": "LOCKED", "reason": "LOST_CARD", "cardNumber": "4111111111111111"}, "cardNumber", "last four"),
    ],
)
def test_bad_input_is_400_with_field_errors(api_client, wallet, body, field, message_part):
    response = api_client.post(status_url(wallet), body, format="json")

    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert message_part in " ".join(error["fields"][field])
    wallet.refresh_from_db()
    assert wallet.status == "ACTIVE"
    assert not WalletStatusTransition.objects.exists()


def test_non_object_body_is_400(api_client, wallet):
    response = api_client.post(status_url(wallet), ["LOCKED"], format="json")

    assert response.status_code == 400


def test_malformed_json_is_400(api_client, wallet):
    response = api_client.post(status_url(wallet), "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


@pytest.mark.parametrize("wallet_id", ["not-a-uuid", "123", str(uuid.uuid4())])
def test_unknown_or_malformed_wallet_id_is_404(api_client, wallet_id):
    response = api_client.post(status_url(wallet_id), {"status": "LOCKED", "reason": "COMPLIANCE"}, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_another_tenants_wallet_is_404(api_client, other_partner):
    foreign = WalletFactory(partner=other_partner)

    response = api_client.post(status_url(foreign), {"status": "LOCKED", "reason": "COMPLIANCE"}, format="json")

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "ACTIVE"


def test_read_only_token_cannot_change_status(reader_client, wallet):
    response = reader_client.post(status_url(wallet), {"status": "LOCKED", "reason": "COMPLIANCE"}, format="json")

    assert response.status_code == 403
    assert "access level 2" in response.json()["error"]["message"]


# Idempotency.


def test_same_key_same_body_returns_the_first_result(api_client, wallet):
    body = {"status": "LOCKED", "reason": "CUSTOMER_REQUEST", "idempotencyKey": "lock-1"}

    first = api_client.post(status_url(wallet), body, format="json")
    second = api_client.post(status_url(wallet), body, format="json")

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert WalletStatusTransition.objects.filter(wallet=wallet).count() == 1
    assert len(outbox("WALLET_STATUS_CHANGED")) == 1
    assert StatusChangeIdempotencyKey.objects.get(key="lock-1").transition_id == first.json()["transitionId"]


def test_replay_answers_even_after_later_changes(api_client, wallet):
    lock = {"status": "LOCKED", "reason": "CUSTOMER_REQUEST", "idempotencyKey": "lock-2"}
    first = api_client.post(status_url(wallet), lock, format="json")
    api_client.post(status_url(wallet), {"status": "ACTIVE", "reason": "REACTIVATION"}, format="json")

    retry = api_client.post(status_url(wallet), lock, format="json")

    assert retry.status_code == 200
    assert retry.json() == first.json()
    wallet.refresh_from_db()
    assert wallet.status == "ACTIVE"  # the retry did not lock the wallet a second time


def test_same_key_different_body_is_409(api_client, wallet):
    api_client.post(status_url(wallet), {"status": "LOCKED", "reason": "DISPUTE", "idempotencyKey": "k"}, format="json")

    response = api_client.post(
        status_url(wallet), {"status": "CLOSED", "reason": "DISPUTE", "idempotencyKey": "k"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    wallet.refresh_from_db()
    assert wallet.status == "LOCKED"


def test_same_key_on_another_wallet_is_409(api_client, partner, wallet):
    other = WalletFactory(partner=partner)
    body = {"status": "LOCKED", "reason": "DISPUTE", "idempotencyKey": "shared"}
    api_client.post(status_url(wallet), body, format="json")

    response = api_client.post(status_url(other), body, format="json")

    assert response.status_code == 409
    other.refresh_from_db()
    assert other.status == "ACTIVE"


def test_keys_are_per_tenant(api_client, make_client, wallet, other_partner):
    foreign_wallet = WalletFactory(partner=other_partner)
    body = {"status": "LOCKED", "reason": "DISPUTE", "idempotencyKey": "same-key"}

    mine = api_client.post(status_url(wallet), body, format="json")
    theirs = make_client(other_partner).post(status_url(foreign_wallet), body, format="json")

    assert mine.status_code == theirs.status_code == 200
    assert mine.json()["transitionId"] != theirs.json()["transitionId"]


def test_idempotency_key_header_works_like_the_body_field(api_client, wallet):
    body = {"status": "FRAUD", "reason": "SUSPECTED_FRAUD"}

    first = api_client.post(status_url(wallet), body, format="json", HTTP_IDEMPOTENCY_KEY="hdr-1")
    second = api_client.post(status_url(wallet), {**body, "idempotencyKey": "hdr-1"}, format="json")

    assert first.status_code == second.status_code == 200
    assert first.json()["transitionId"] == second.json()["transitionId"]


def test_header_and_body_keys_must_agree(api_client, wallet):
    response = api_client.post(
        status_url(wallet), {"status": "LOCKED", "reason": "DISPUTE", "idempotencyKey": "a"}, format="json",
        HTTP_IDEMPOTENCY_KEY="b",
    )

    assert response.status_code == 400
    assert "idempotencyKey" in response.json()["error"]["fields"]


def test_bad_idempotency_key_header_is_400(api_client, wallet):
    response = api_client.post(
        status_url(wallet), {"status": "LOCKED", "reason": "DISPUTE"}, format="json", HTTP_IDEMPOTENCY_KEY="x" * 101
    )

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]


def test_refused_request_stores_no_key(api_client, partner):
    wallet = WalletFactory(partner=partner, status="CLOSED")

    response = api_client.post(
        status_url(wallet), {"status": "ACTIVE", "reason": "REACTIVATION", "idempotencyKey": "r"}, format="json"
    )

    assert response.status_code == 409
    assert not StatusChangeIdempotencyKey.objects.exists()


# History.


def test_history_lists_every_change_newest_first(api_client, reader_client, wallet):
    for status, reason in [("LOCKED", "CUSTOMER_REQUEST"), ("ACTIVE", "REACTIVATION"), ("CLOSED", "OTHER")]:
        api_client.post(status_url(wallet), {"status": status, "reason": reason, "comment": "c"}, format="json")

    response = reader_client.get(history_url(wallet))

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["fromStatus"], r["toStatus"]) for r in results] == [
        ("ACTIVE", "CLOSED"),
        ("LOCKED", "ACTIVE"),
        ("ACTIVE", "LOCKED"),
    ]
    assert {r["channel"] for r in results} == {"PARTNER_API"}
    assert response.json()["next"] is None


def test_history_of_another_tenants_wallet_is_404(api_client, other_partner):
    foreign = WalletFactory(partner=other_partner)

    assert api_client.get(history_url(foreign)).status_code == 404
    assert api_client.get("/prepaid/auth/v1/wallets/nope/status-history").status_code == 404


def test_history_query_count_does_not_grow_with_rows(api_client, wallet, django_assert_max_num_queries):
    for status in ["LOCKED", "ACTIVE"] * 5:
        api_client.post(status_url(wallet), {"status": status, "reason": "DISPUTE"}, format="json")

    # auth (token, last-used update), wallet, page of transitions
    with django_assert_max_num_queries(5):
        response = api_client.get(history_url(wallet))

    assert len(response.json()["results"]) == 10
