"""Partner API for products, cardholders, wallets and cards: create, read, list, validation, card-data refusal,
access levels and tenant isolation."""

import datetime
import uuid

import pytest
from django.utils import timezone

from subscriptions.models import AuditEntry
from tests.factories import CardFactory, CardholderFactory, ProductFactory, WalletFactory
from tests.wallets.helpers import outbox
from wallets.models import Card, Cardholder, Product, Wallet

API = "/prepaid/auth/v1"
FUTURE = (timezone.localdate() + datetime.timedelta(days=900)).isoformat()


# Products.


def test_create_and_list_products(api_client, reader_client):
    response = api_client.post(
        f"{API}/products/",
        {"code": "gift", "name": "Gift card", "dormancyDays": 90, "channelFallbackOrder": ["PUSH", "SMS"]},
        format="json",
    )

    assert response.status_code == 201
    assert response.json() == {
        "code": "gift", "name": "Gift card", "dormancyDays": 90, "currency": "INR", "defaultLocale": "en",
        "channelFallbackOrder": ["PUSH", "SMS"], "emailSenderName": "", "emailReplyTo": "",
        "createdAt": response.json()["createdAt"],
    }
    assert Product.objects.get(code="gift").dormancy_days == 90
    branded = api_client.post(f"{API}/products/", {"code": "travel", "name": "Travel", "emailSenderName": "Travel "
                              "by Acme", "emailReplyTo": "help@acme.example"}, format="json").json()
    assert (branded["emailSenderName"], branded["emailReplyTo"]) == ("Travel by Acme", "help@acme.example")
    bad = api_client.post(f"{API}/products/", {"code": "x", "name": "X", "emailReplyTo": "not-an-address"},
                          format="json")
    assert bad.status_code == 400 and "emailReplyTo" in bad.json()["error"]["fields"]
    assert AuditEntry.objects.filter(action="product.created", object_id="gift").exists()
    listed = reader_client.get(f"{API}/products/").json()["results"]
    assert sorted(p["code"] for p in listed) == ["gift", "travel"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No code"}, "code"),
        ({"code": "has space", "name": "x"}, "code"),
        ({"code": "p", "name": "x", "dormancyDays": 0}, "dormancyDays"),
        ({"code": "p", "name": "x", "dormancyDays": "30"}, "dormancyDays"),
        ({"code": "p", "name": "x", "currency": "rupees"}, "currency"),
        ({"code": "p", "name": "x", "channelFallbackOrder": ["FAX"]}, "channelFallbackOrder"),
        ({"code": "p", "name": "x", "channelFallbackOrder": ["SMS", "SMS"]}, "channelFallbackOrder"),
        ({"code": "p", "name": "x", "defaultLocale": "english please"}, "defaultLocale"),
    ],
)
def test_product_bad_input_is_400(api_client, body, field):
    response = api_client.post(f"{API}/products/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Product.objects.exists()


def test_duplicate_product_code_is_400(api_client, partner):
    ProductFactory(partner=partner, code="gift")

    response = api_client.post(f"{API}/products/", {"code": "gift", "name": "Again"}, format="json")

    assert response.status_code == 400
    assert "already exists" in response.json()["error"]["fields"]["code"][0]


def test_products_are_per_tenant(api_client, other_partner):
    ProductFactory(partner=other_partner, code="theirs")

    assert api_client.get(f"{API}/products/").json()["results"] == []
    # The same code is free for this tenant.
    assert api_client.post(f"{API}/products/", {"code": "theirs", "name": "Mine"}, format="json").status_code == 201


# Cardholders.


CARDHOLDER = {
    "customerId": "CUST-1", "name": "Asha Rao", "phone": "+919800000001", "email": "asha@example.com",
    "pushToken": "fcm-token-abc", "locale": "hi", "timezone": "Asia/Kolkata", "channelPreferences": {"SMS": False},
}


def test_create_read_and_list_cardholders(api_client, reader_client):
    response = api_client.post(f"{API}/cardholders/", CARDHOLDER, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["customerId"] == "CUST-1"
    assert body["hasPushToken"] is True
    assert "pushToken" not in body
    assert body["channelPreferences"] == {"SMS": False}
    holder = Cardholder.objects.get(external_id="CUST-1")
    assert (holder.timezone, holder.locale, holder.push_token) == ("Asia/Kolkata", "hi", "fcm-token-abc")
    [registered] = outbox("CUSTOMER_REGISTERED")
    assert registered["data"] == {"customerId": "CUST-1", "cardholderName": "Asha Rao"}
    assert reader_client.get(f"{API}/cardholders/CUST-1").json()["name"] == "Asha Rao"
    assert [c["customerId"] for c in reader_client.get(f"{API}/cardholders/").json()["results"]] == ["CUST-1"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "9800000001"}, "phone"),
        ({"phone": "+91 98000 00001"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"channelPreferences": {"FAX": True}}, "channelPreferences"),
        ({"channelPreferences": {"SMS": "no"}}, "channelPreferences"),
        ({"customerId": "has/slash"}, "customerId"),
        ({"name": ""}, "name"),
        ({"name": "Card 4111111111111111"}, "name"),
        ({"cvv": "123"}, "cvv"),
    ],
)
def test_cardholder_bad_input_is_400(api_client, change, field):
    response = api_client.post(f"{API}/cardholders/", {**CARDHOLDER, **change}, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Cardholder.objects.exists()


def test_duplicate_customer_id_is_400(api_client, partner):
    CardholderFactory(partner=partner, external_id="CUST-1")

    response = api_client.post(f"{API}/cardholders/", CARDHOLDER, format="json")

    assert response.status_code == 400
    assert "customerId" in response.json()["error"]["fields"]


def test_another_tenants_cardholder_is_404(api_client, other_partner):
    CardholderFactory(partner=other_partner, external_id="THEIRS")

    assert api_client.get(f"{API}/cardholders/THEIRS").status_code == 404
    assert api_client.get(f"{API}/cardholders/").json()["results"] == []


# Wallets.


def test_create_read_and_filter_wallets(api_client, reader_client, partner):
    CardholderFactory(partner=partner, external_id="C1")
    ProductFactory(partner=partner, code="gift", currency="USD")

    response = api_client.post(f"{API}/wallets/", {"customerId": "C1", "productCode": "gift"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["balance"], body["currency"]) == ("ACTIVE", "0.00", "USD")
    assert body["allowedStatusTargets"] == sorted(
        ["LOCKED", "BLOCKED", "FRAUD", "CUSTOMER_BLOCKED", "CREDIT_FREEZE", "DEBIT_FREEZE", "REFUND_ONLY", "CLOSED"]
    )
    wallet_id = body["walletId"]
    assert reader_client.get(f"{API}/wallets/{wallet_id}").json()["customerId"] == "C1"
    WalletFactory(partner=partner, status="LOCKED")
    assert [w["walletId"] for w in reader_client.get(f"{API}/wallets/?customerId=C1").json()["results"]] == [
        wallet_id
    ]
    assert [w["status"] for w in reader_client.get(f"{API}/wallets/?status=LOCKED").json()["results"]] == ["LOCKED"]
    assert AuditEntry.objects.filter(action="wallet.created", object_id=wallet_id).exists()


def test_wallet_with_unknown_or_foreign_references_is_400(api_client, other_partner):
    CardholderFactory(partner=other_partner, external_id="THEIRS")
    ProductFactory(partner=other_partner, code="theirs")

    response = api_client.post(f"{API}/wallets/", {"customerId": "THEIRS", "productCode": "theirs"}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"customerId", "productCode"}
    assert not Wallet.objects.filter(partner__tenant_id="acme").exists()


def test_wallet_list_bad_filter_is_400(reader_client):
    response = reader_client.get(f"{API}/wallets/?status=SLEEPING")

    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]


def test_wallets_are_per_tenant(api_client, other_partner):
    foreign = WalletFactory(partner=other_partner)

    assert api_client.get(f"{API}/wallets/{foreign.wallet_id}").status_code == 404
    assert api_client.get(f"{API}/wallets/not-a-uuid").status_code == 404
    assert api_client.get(f"{API}/wallets/").json()["results"] == []


def test_wallet_list_query_count_is_constant(reader_client, partner, django_assert_max_num_queries):
    for _ in range(6):
        WalletFactory(partner=partner)

    with django_assert_max_num_queries(4):
        response = reader_client.get(f"{API}/wallets/")

    assert len(response.json()["results"]) == 6


def test_read_only_token_cannot_create(reader_client):
    response = reader_client.post(f"{API}/products/", {"code": "p", "name": "P"}, format="json")

    assert response.status_code == 403
    assert "access level 2" in response.json()["error"]["message"]


# Cards.


def test_issue_and_read_a_card(api_client, reader_client, wallet):
    response = api_client.post(
        f"{API}/cards/", {"walletId": str(wallet.wallet_id), "kitNo": "K-0001", "last4": "4242", "expiryDate": FUTURE},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kitNo"], body["last4"], body["maskedNumber"], body["status"]) == (
        "K-0001", "4242", "XXXX XXXX XXXX 4242", "ACTIVE"
    )
    assert body["walletId"] == str(wallet.wallet_id)
    assert reader_client.get(f"{API}/cards/{body['cardId']}").json()["expiryDate"] == FUTURE
    assert [c["cardId"] for c in reader_client.get(f"{API}/cards/?kitNo=K-0001").json()["results"]] == [body["cardId"]]
    assert reader_client.get(f"{API}/cards/?walletId={wallet.wallet_id}").json()["results"][0]["last4"] == "4242"
    [issued] = outbox("CARD_ISSUED")
    assert issued["entityId"] == body["cardId"]
    assert issued["data"]["last4"] == "4242"
    assert AuditEntry.objects.filter(action="card.created", object_id=body["cardId"]).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cardNumber": "4111111111111111"}, "cardNumber"),
        ({"pan": "4111111111111111"}, "pan"),
        ({"card_number": "4111-1111-1111-1111"}, "card_number"),
        ({"cvv": "123"}, "cvv"),
        ({"CVV2": "123"}, "CVV2"),
        ({"securityCode": "123"}, "securityCode"),
        ({"pin": "1234"}, "pin"),
        ({"last4": "4111111111111111"}, "last4"),
        ({"last4": "42"}, "last4"),
        ({"last4": "abcd"}, "last4"),
        ({"kitNo": "411111111111"}, "kitNo"),
        ({"kitNo": "K 1"}, "kitNo"),
        ({"notes": "4111 1111 1111 1111"}, "notes"),
        ({"expiryDate": "2001-01-31"}, "expiryDate"),
        ({"expiryDate": "12/30"}, "expiryDate"),
        ({"walletId": "not-a-uuid"}, "walletId"),
        ({"walletId": str(uuid.uuid4())}, "walletId"),
    ],
)
def test_card_bad_input_and_card_data_are_400(api_client, wallet, change, field):
    body = {"walletId": str(wallet.wallet_id), "kitNo": "K-1", "last4": "4242", "expiryDate": FUTURE, **change}

    response = api_client.post(f"{API}/cards/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Card.objects.exists()


def test_card_data_is_refused_before_other_validation(api_client):
    response = api_client.post(f"{API}/cards/", {"cvv": "123", "number": "4111111111111111"}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"cvv", "number"}
    assert "last four" in response.json()["error"]["fields"]["cvv"][0]


def test_card_on_another_tenants_wallet_is_400(api_client, other_partner):
    foreign = WalletFactory(partner=other_partner)

    response = api_client.post(
        f"{API}/cards/", {"walletId": str(foreign.wallet_id), "kitNo": "K-1", "last4": "4242", "expiryDate": FUTURE},
        format="json",
    )

    assert response.status_code == 400
    assert not Card.objects.exists()


def test_card_on_closed_wallet_is_400(api_client, partner):
    closed = WalletFactory(partner=partner, status="CLOSED")

    response = api_client.post(
        f"{API}/cards/", {"walletId": str(closed.wallet_id), "kitNo": "K-1", "last4": "4242", "expiryDate": FUTURE},
        format="json",
    )

    assert response.status_code == 400
    assert "CLOSED" in response.json()["error"]["fields"]["walletId"][0]


def test_duplicate_kit_no_is_400(api_client, card):
    response = api_client.post(
        f"{API}/cards/",
        {"walletId": str(card.wallet.wallet_id), "kitNo": card.kit_no, "last4": "1111", "expiryDate": FUTURE},
        format="json",
    )

    assert response.status_code == 400
    assert "kitNo" in response.json()["error"]["fields"]


def test_cards_are_per_tenant(api_client, other_partner):
    foreign = CardFactory(partner=other_partner)

    assert api_client.get(f"{API}/cards/{foreign.card_id}").status_code == 404
    assert api_client.get(f"{API}/cards/{foreign.card_id}/transactions").status_code == 404
    assert api_client.get(f"{API}/cards/?kitNo={foreign.kit_no}").json()["results"] == []
    assert api_client.get(f"{API}/cards/?walletId=zzz").status_code == 400


@pytest.mark.parametrize("customer_id", ["%00", "a%00b", "x" * 101, "has%20space"])
def test_impossible_customer_ids_are_404(reader_client, customer_id):
    response = reader_client.get(f"{API}/cardholders/{customer_id}")

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [({"email": "a" * 250 + "@example.com"}, "email"), ({"name": "nul\x00byte"}, "name")],
)
def test_values_the_database_cannot_hold_are_400(api_client, change, field):
    response = api_client.post(f"{API}/cardholders/", {**CARDHOLDER, **change}, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
