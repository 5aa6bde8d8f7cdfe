"""POST /simulate/transactions: policy per wallet status, balance, card state, settlement of authorizations, events
(entity = cardId), bad input, the production switch."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import CardFactory, WalletFactory
from tests.wallets.helpers import outbox, outbox_names
from wallets.models import CardTransaction
from wallets.state_machine import WalletStatus, transaction_allowed

URL = "/prepaid/auth/v1/simulate/transactions"


def simulate(client, card, **body):
    return client.post(URL, {"kitNo": card.kit_no, "currency": "INR", **body}, format="json")


def test_load_credits_the_wallet_and_emits_wallet_loaded(api_client, card):
    before = card.last_activity_at

    response = simulate(api_client, card, type="LOAD", amount="250.50", merchantName="Top-up")

    assert response.status_code == 201
    transaction = response.json()["transaction"]
    assert (transaction["status"], transaction["declineReason"], transaction["balance"]) == ("APPROVED", "", "1250.50")
    assert response.json()["events"] == ["TRANSACTION_NOTIFICATION", "WALLET_LOADED"]
    card.refresh_from_db()
    card.wallet.refresh_from_db()
    assert card.wallet.balance == Decimal("1250.50")
    assert card.last_activity_at > before
    assert outbox_names() == ["TRANSACTION_NOTIFICATION", "WALLET_LOADED"]
    for payload in outbox():
        assert payload["entityId"] == str(card.card_id)
    notification = outbox("TRANSACTION_NOTIFICATION")[0]["data"]
    assert notification["kitNo"] == card.kit_no
    assert notification["last4"] == card.last4
    assert (notification["amount"], notification["balance"], notification["status"]) == ("250.50", "1250.50",
                                                                                         "APPROVED")
    assert notification["transactionId"] == transaction["transactionId"]


def test_deposit_also_emits_deposit_received(api_client, card):
    response = simulate(api_client, card, type="DEPOSIT", amount="10")

    assert response.json()["events"] == ["TRANSACTION_NOTIFICATION", "WALLET_LOADED", "WALLET_DEPOSIT_RECEIVED"]
    [deposit] = outbox("WALLET_DEPOSIT_RECEIVED")
    assert deposit["data"]["operationId"] == response.json()["transaction"]["transactionId"]


def test_authorization_with_insufficient_funds_is_declined(api_client, card):
    before = card.last_activity_at

    response = simulate(api_client, card, type="AUTHORIZATION", amount="1000.01", merchantName="TV shop")

    assert response.status_code == 201
    transaction = response.json()["transaction"]
    assert (transaction["status"], transaction["declineReason"], transaction["balance"]) == (
        "DECLINED", "INSUFFICIENT_FUNDS", "1000.00"
    )
    assert response.json()["events"] == ["TRANSACTION_NOTIFICATION", "CARD_TRANSACTION_DECLINED"]
    declined = outbox("CARD_TRANSACTION_DECLINED")[0]["data"]
    assert (declined["declineReason"], declined["merchantName"]) == ("INSUFFICIENT_FUNDS", "TV shop")
    card.refresh_from_db()
    assert card.last_activity_at == before  # a declined attempt is no activity
    assert CardTransaction.objects.get().status == "DECLINED"


def test_authorization_of_the_whole_balance_is_approved(api_client, card):
    response = simulate(api_client, card, type="AUTHORIZATION", amount="1000.00")

    assert response.json()["transaction"]["status"] == "APPROVED"
    assert response.json()["transaction"]["balance"] == "0.00"
    assert response.json()["events"] == ["TRANSACTION_NOTIFICATION", "CARD_TRANSACTION_APPROVED"]


def test_clearing_settles_an_authorization_without_charging_twice(api_client, card):
    auth = simulate(api_client, card, type="AUTHORIZATION", amount="100").json()["transaction"]

    response = simulate(api_client, card, type="CLEARING", originalTransactionId=auth["transactionId"])

    assert response.status_code == 201
    cleared = response.json()["transaction"]
    assert (cleared["status"], cleared["amount"], cleared["balance"]) == ("APPROVED", "100.00", "900.00")
    assert cleared["originalTransactionId"] == auth["transactionId"]
    assert response.json()["events"] == ["TRANSACTION_NOTIFICATION", "CARD_TRANSACTION_CLEARED"]
    again = simulate(api_client, card, type="REVERSAL", originalTransactionId=auth["transactionId"])
    assert again.status_code == 400
    assert "already cleared or reversed" in again.json()["error"]["fields"]["originalTransactionId"][0]


def test_clearing_without_an_authorization_is_a_direct_debit(api_client, card):
    response = simulate(api_client, card, type="CLEARING", amount="40")

    assert response.json()["transaction"]["balance"] == "960.00"


def test_declined_clearing_emits_clearing_failed(api_client, partner):
    card = CardFactory(partner=partner, wallet=WalletFactory(partner=partner, balance=5))

    response = simulate(api_client, card, type="CLEARING", amount="40")

    assert response.json()["events"] == ["TRANSACTION_NOTIFICATION", "CARD_TRANSACTION_CLEARING_FAILED"]
    assert outbox("CARD_TRANSACTION_CLEARING_FAILED")[0]["data"]["reason"] == "INSUFFICIENT_FUNDS"


def test_reversal_gives_the_held_money_back(api_client, card):
    auth = simulate(api_client, card, type="AUTHORIZATION", amount="300").json()["transaction"]

    response = simulate(api_client, card, type="REVERSAL", originalTransactionId=auth["transactionId"])

    assert response.json()["transaction"]["balance"] == "1000.00"
    assert response.json()["events"] == ["TRANSACTION_NOTIFICATION", "CARD_TRANSACTION_REVERSAL"]


def test_refund_credits_and_emits_refund(api_client, card):
    response = simulate(api_client, card, type="REFUND", amount="20", merchantName="Shoe shop")

    assert response.json()["transaction"]["balance"] == "1020.00"
    assert response.json()["events"] == ["TRANSACTION_NOTIFICATION", "CARD_TRANSACTION_REFUND"]


def test_3ds_challenge_sends_a_one_time_code_and_moves_no_money(api_client, card):
    before = card.last_activity_at

    response = simulate(api_client, card, type="THREE_DS_CHALLENGE", amount="75", merchantName="Web shop")

    assert response.json()["events"] == ["CARD_3DS_CHALLENGE"]
    assert "otp" not in response.json()["transaction"]
    [challenge] = outbox("CARD_3DS_CHALLENGE")
    assert len(challenge["data"]["otp"]) == 6
    assert challenge["data"]["otp"].isdigit()
    card.refresh_from_db()
    card.wallet.refresh_from_db()
    assert card.wallet.balance == Decimal("1000.00")
    assert card.last_activity_at == before


SIMULATED_KINDS = {"LOAD": "CREDIT", "AUTHORIZATION": "DEBIT", "REFUND": "REFUND"}
POLICY_CASES = list(itertools.product([s.value for s in WalletStatus], SIMULATED_KINDS))


@pytest.mark.parametrize(("status", "transaction_type"), POLICY_CASES, ids=[f"{s}:{t}" for s, t in POLICY_CASES])
def test_policy_is_applied_for_every_status(api_client, partner, status, transaction_type):
    card = CardFactory(partner=partner, wallet=WalletFactory(partner=partner, status=status, balance=500))

    response = simulate(api_client, card, type=transaction_type, amount="10")

    transaction = response.json()["transaction"]
    card.wallet.refresh_from_db()
    if transaction_allowed(status, SIMULATED_KINDS[transaction_type]):
        assert transaction["status"] == "APPROVED"
        assert card.wallet.balance == (Decimal(490) if transaction_type == "AUTHORIZATION" else Decimal(510))
    else:
        assert (transaction["status"], transaction["declineReason"]) == ("DECLINED", "WALLET_STATUS")
        assert transaction["walletStatus"] == status
        assert card.wallet.balance == Decimal(500)
        assert "CARD_TRANSACTION_DECLINED" in response.json()["events"]


@pytest.mark.parametrize("card_status", ["INACTIVE", "EXPIRED", "REPLACED", "BLOCKED", "CLOSED"])
def test_a_card_that_is_not_active_declines(api_client, partner, card_status):
    card = CardFactory(partner=partner, status=card_status)

    response = simulate(api_client, card, type="LOAD", amount="5")

    assert response.json()["transaction"]["declineReason"] == "CARD_NOT_ACTIVE"


def test_a_card_past_its_expiry_date_declines(api_client, partner):
    card = CardFactory(partner=partner, expiry_date=timezone.localdate() - datetime.timedelta(days=1))

    response = simulate(api_client, card, type="AUTHORIZATION", amount="5")

    assert response.json()["transaction"]["declineReason"] == "CARD_EXPIRED"


def test_card_can_be_named_by_card_id(api_client, card):
    response = api_client.post(URL, {"cardId": str(card.card_id), "type": "LOAD", "amount": 1}, format="json")

    assert response.status_code == 201
    assert response.json()["transaction"]["cardId"] == str(card.card_id)


def test_transactions_are_listed_on_the_card(api_client, reader_client, card):
    simulate(api_client, card, type="LOAD", amount="1")
    simulate(api_client, card, type="AUTHORIZATION", amount="5000")

    response = reader_client.get(f"/prepaid/auth/v1/cards/{card.card_id}/transactions")

    assert [(t["type"], t["status"]) for t in response.json()["results"]] == [
        ("AUTHORIZATION", "DECLINED"), ("LOAD", "APPROVED")
    ]


MY_CARD = "<the test's card>"
SOME_UUID = "0b6c7a36-5c35-4f53-9b0a-7f0e0d3c9d11"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "LOAD", "amount": "1"}, "kitNo"),
        ({"kitNo": MY_CARD, "cardId": SOME_UUID, "type": "LOAD", "amount": "1"}, "kitNo"),
        ({"kitNo": "NOPE", "type": "LOAD", "amount": "1"}, "kitNo"),
        ({"cardId": SOME_UUID, "type": "LOAD", "amount": "1"}, "cardId"),
        ({"cardId": "nope", "type": "LOAD", "amount": "1"}, "cardId"),
        ({"kitNo": MY_CARD, "type": "TELEPORT", "amount": "1"}, "type"),
        ({"kitNo": MY_CARD, "type": "LOAD"}, "amount"),
        ({"kitNo": MY_CARD, "type": "LOAD", "amount": "0"}, "amount"),
        ({"kitNo": MY_CARD, "type": "LOAD", "amount": "-5"}, "amount"),
        ({"kitNo": MY_CARD, "type": "LOAD", "amount": "1.001"}, "amount"),
        ({"kitNo": MY_CARD, "type": "LOAD", "amount": "NaN"}, "amount"),
        ({"kitNo": MY_CARD, "type": "LOAD", "amount": "1e400"}, "amount"),
        ({"kitNo": MY_CARD, "type": "LOAD", "amount": "1", "currency": "USD"}, "currency"),
        ({"kitNo": MY_CARD, "type": "LOAD", "amount": "1", "currency": "inr"}, "currency"),
        ({"kitNo": MY_CARD, "type": "REVERSAL", "amount": "1"}, "originalTransactionId"),
        ({"kitNo": MY_CARD, "type": "LOAD", "amount": "1", "originalTransactionId": SOME_UUID},
         "originalTransactionId"),
        ({"kitNo": MY_CARD, "type": "CLEARING", "originalTransactionId": SOME_UUID}, "originalTransactionId"),
        ({"kitNo": MY_CARD, "type": "LOAD", "amount": "1", "merchantName": "Shop 4111111111111111"}, "merchantName"),
        ({"kitNo": MY_CARD, "type": "LOAD", "amount": "1", "cvv": "123"}, "cvv"),
    ],
)
def test_bad_input_is_400(api_client, card, body, field):
    body = {key: card.kit_no if value == MY_CARD else value for key, value in body.items()}

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not CardTransaction.objects.exists()


def test_settlement_amount_must_match_the_authorization(api_client, card):
    auth = simulate(api_client, card, type="AUTHORIZATION", amount="100").json()["transaction"]

    response = simulate(api_client, card, type="CLEARING", amount="99", originalTransactionId=auth["transactionId"])

    assert response.status_code == 400
    assert "amount" in response.json()["error"]["fields"]


def test_another_tenants_card_is_not_found(api_client, other_partner):
    foreign = CardFactory(partner=other_partner)

    response = simulate(api_client, foreign, type="LOAD", amount="1")

    assert response.status_code == 400
    assert "kitNo" in response.json()["error"]["fields"]
    foreign.wallet.refresh_from_db()
    assert foreign.wallet.balance == Decimal(1000)


def test_disabled_in_production_is_404(api_client, card, settings):
    settings.SIMULATE_API_ENABLED = False

    response = simulate(api_client, card, type="LOAD", amount="1")

    assert response.status_code == 404
    assert not CardTransaction.objects.exists()


def test_read_only_token_cannot_simulate(reader_client, card):
    assert simulate(reader_client, card, type="LOAD", amount="1").status_code == 403


def test_a_load_beyond_the_largest_balance_is_400(api_client, partner):
    card = CardFactory(partner=partner, wallet=WalletFactory(partner=partner, balance=Decimal("999999999999.00")))

    response = simulate(api_client, card, type="LOAD", amount="1.00")

    assert response.status_code == 400
    assert "exceed" in response.json()["error"]["fields"]["amount"][0]
    card.wallet.refresh_from_db()
    assert card.wallet.balance == Decimal("999999999999.00")
