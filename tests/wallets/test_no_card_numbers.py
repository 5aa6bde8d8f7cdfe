"""After a run of every wallet flow — including attempts to send full card numbers and CVVs, which are refused —
no run of 12 or more digits appears in any database row, outbox payload, webhook body or log line."""

import json
import logging
import re

from django.contrib.auth.models import User
from django.db import connection

from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.models import Event, OutboxMessage
from tests.factories import CardFactory, EventSubscriptionFactory
from wallets.models import Card, Wallet
from wallets.services.cards import card_expire

API = "/prepaid/auth/v1"
PAN = "4111111111111111"  # a Luhn-valid test card number
SPACED_PAN = "4111 1111 1111 1111"
CVV = "737"

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Token hashes, password hashes, encrypted secrets: long hex strings whose digits are not a number.
HEX_RE = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{32,}(?![0-9A-Za-z])")
# E.164 phone numbers always carry the "+" (an Indian mobile is 12 digits); a card number never does.
PHONE_RE = re.compile(r"\+\d{7,15}(?!\d)")
LONG_RUN = re.compile(r"\d{12,}")


def long_digit_runs(text: str) -> list[str]:
    text = PHONE_RE.sub("<phone>", HEX_RE.sub("<hex>", UUID_RE.sub("<uuid>", text)))
    return LONG_RUN.findall(text)


def all_database_rows() -> dict[str, list[str]]:
    """Every row of every table of the test database, as JSON text."""
    rows: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for (table,) in cursor.fetchall():
            cursor.execute(f"SELECT row_to_json(t)::text FROM {connection.ops.quote_name(table)} t")
            rows[table] = [row for (row,) in cursor.fetchall()]
    return rows


def run_every_flow(client, admin_token_client, support_client, expiring_card: Card) -> None:
    """Products, cardholders, wallets, cards, refused card data, status changes, simulate, reissue, support
    unblock, card expiry."""
    ok = []
    ok.append(client.post(f"{API}/products/", {"code": "scan", "name": "Scan card"}, format="json"))
    ok.append(client.post(
        f"{API}/cardholders/",
        {"customerId": "SCAN-1", "name": "Ravi Kumar", "phone": "+919800000001", "email": "ravi@example.com"},
        format="json",
    ))
    wallet = client.post(f"{API}/wallets/", {"customerId": "SCAN-1", "productCode": "scan"}, format="json")
    ok.append(wallet)
    wallet_id = wallet.json()["walletId"]
    card = client.post(
        f"{API}/cards/", {"walletId": wallet_id, "kitNo": "KSCAN1", "last4": "1111", "expiryDate": "2031-01-31"},
        format="json",
    )
    ok.append(card)
    card_id = card.json()["cardId"]

    refused = [
        client.post(f"{API}/cards/", {"walletId": wallet_id, "kitNo": "K2", "last4": "1111",
                                       "expiryDate": "2031-01-31", "cardNumber": PAN, "cvv": CVV}, format="json"),
        client.post(f"{API}/cards/", {"walletId": wallet_id, "kitNo": PAN, "last4": "1111",
                                       "expiryDate": "2031-01-31"}, format="json"),
        client.post(f"{API}/cards/", {"walletId": wallet_id, "kitNo": "K3", "last4": PAN,
                                       "expiryDate": "2031-01-31"}, format="json"),
        client.post(f"{API}/cardholders/", {"customerId": "SCAN-2", "name": f"Card {SPACED_PAN}"}, format="json"),
        client.post(f"{API}/wallets/{wallet_id}/status",
                    {"status": "LOCKED", "reason": "OTHER", "comment": f"customer read out {SPACED_PAN}"},
                    format="json"),
        client.post(f"{API}/simulate/transactions",
                    {"kitNo": "KSCAN1", "type": "LOAD", "amount": "1", "merchantName": f"Shop {PAN}"},
                    format="json"),
        client.post(f"{API}/simulate/transactions",
                    {"kitNo": "KSCAN1", "type": "AUTHORIZATION", "amount": "1", "pan": PAN, "cvv": CVV},
                    format="json"),
    ]
    assert [r.status_code for r in refused] == [400] * len(refused)

    for body in [
        {"type": "LOAD", "amount": "500"},
        {"type": "AUTHORIZATION", "amount": "120.50", "merchantName": "Coffee House"},
        {"type": "AUTHORIZATION", "amount": "99999", "merchantName": "Jeweller"},
        {"type": "THREE_DS_CHALLENGE", "amount": "10", "merchantName": "Web shop"},
        {"type": "REFUND", "amount": "5"},
    ]:
        ok.append(client.post(f"{API}/simulate/transactions", {"kitNo": "KSCAN1", **body}, format="json"))
    for status, reason in [("LOCKED", "LOST_CARD"), ("ACTIVE", "REACTIVATION"), ("FRAUD", "SUSPECTED_FRAUD")]:
        ok.append(client.post(f"{API}/wallets/{wallet_id}/status", {"status": status, "reason": reason},
                              format="json"))
    ok.append(client.get(f"{API}/wallets/{wallet_id}/status-history"))

    fraud_wallet = Wallet.objects.get(wallet_id=wallet_id)
    unblocked = support_client.post(
        "/admin/wallets/wallet/",
        {"action": "unblock_support", "_selected_action": [fraud_wallet.pk], "apply": "1", "reason": "REACTIVATION",
         "comment": "verified"},
    )
    assert unblocked.status_code == 302
    fraud_wallet.refresh_from_db()
    assert fraud_wallet.status == "ACTIVE"

    ok.append(admin_token_client.post(f"{API}/cards/{card_id}/reissue", {"confirmIrreversible": True},
                                      format="json"))
    card_expire(card=expiring_card)
    assert all(r.status_code in (200, 201) for r in ok), [(r.status_code, r.content[:200]) for r in ok]


def test_no_full_card_number_anywhere(partner, api_client, admin_token_client, card, support_group, client,
                                      caplog):
    caplog.set_level(logging.DEBUG)
    EventSubscriptionFactory(partner=partner, event_name="ALL_EVENTS", destination="https://partner.example/hook")
    agent = User.objects.create_user("agent", password="pw-scan-123", is_staff=True)
    agent.groups.add(support_group)
    client.force_login(agent)

    run_every_flow(api_client, admin_token_client, client, card)

    # The outbox went through the real ingest (as the Kafka bridge would hand it over): webhook bodies now exist.
    payloads = list(OutboxMessage.objects.order_by("id").values_list("payload", flat=True))
    assert len(payloads) >= 15
    ingest_batch([RawMessage(value=json.dumps(p).encode(), topic="pp_initiate_notification", partition=0, offset=i)
                  for i, p in enumerate(payloads)])
    bodies = list(Event.objects.values_list("body", flat=True))
    assert len(bodies) == len(payloads)

    rows = all_database_rows()
    for table in ("wallets_card", "wallets_cardtransaction", "wallets_cardreissue", "wallets_walletstatustransition",
                  "notifications_outboxmessage", "notifications_event", "subscriptions_auditentry"):
        assert rows[table], f"the run should have written to {table}"
    findings = {table: runs for table, texts in rows.items() if (runs := long_digit_runs("\n".join(texts)))}
    assert findings == {}
    assert long_digit_runs("\n".join(json.dumps(p) for p in payloads)) == []
    assert long_digit_runs("\n".join(bodies)) == []

    log_text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records, "the run should have logged"
    assert long_digit_runs(log_text) == []

    # And not even split by spaces or dashes.
    everything = re.sub(r"[ -]", "", "\n".join(["\n".join(t) for t in rows.values()] + [log_text]))
    assert PAN not in everything
    assert Card.objects.filter(last4__regex=r"^\d{4}$").count() == Card.objects.count() == 2


def test_the_scan_finds_a_planted_number(partner, caplog):
    CardFactory(partner=partner, kit_no=f"K{PAN}")
    logging.getLogger("wallets.test").warning("oops %s", PAN)

    findings = {table: runs for table, texts in all_database_rows().items()
                if (runs := long_digit_runs("\n".join(texts)))}

    assert findings == {"wallets_card": [PAN]}
    # The records as logged: handlers print them masked.
    assert long_digit_runs("\n".join(caplog.messages)) == [PAN]
    assert long_digit_runs("call +919800000001 about 5f0c2a8e-3f7e-4c61-9a55-012345678901") == []
