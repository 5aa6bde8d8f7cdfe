"""The card-number guard's cost per webhook body (`python -m bench.card_guard`).

The webhook hot path asks `contains_card_number` once per event body, so this times it on the bodies the platform
sends most (transaction, load, card and wallet events as DESIGN.md shapes them) and on the two slow cases: a body
with a long digit run that is not a card number, and one that holds a card number. Prints µs per call (best of 5
timeit repeats, so a busy shared machine inflates the figures less)."""

import timeit
import uuid

from notifications import guards, jsoncodec


def _envelope(event_name: str, data: dict) -> str:
    return jsoncodec.dumps({
        "eventId": str(uuid.UUID(int=0x6F1C2B7A3E5D4C8B9A0F1E2D3C4B5A69)),
        "eventName": event_name,
        "eventType": "TRANSACTION",
        "tenantId": "acme",
        "occurredAt": "2025-03-14T09:26:53.589Z",
        "data": data,
        "entityId": "K1000001",
        "sequence": 1842,
    })


_HOLDER = {"kitNo": "K1000001", "cardholderName": "Asha Rao", "mobile": "+919800000001", "last4": "4242"}
BODIES = {
    "transaction": _envelope("CARD_TRANSACTION_APPROVED", {
        **_HOLDER, "amount": "125.50", "currency": "INR", "merchantName": "Chai Point", "mcc": "5814",
        "balance": "874.50", "transactionId": "txn_01HQ4Z8K2M9V7", "rrn": "407312345678",
        "authCode": "A1B2C3", "transactionTime": "2025-03-14T09:26:51+05:30",
    }),
    "wallet_load": _envelope("WALLET_LOAD_SUCCESS", {
        **_HOLDER, "walletId": "8d3e0a52-9a1f-4c1e-b0e4-2f6c7d8e9a10", "amount": "5000.00", "currency": "INR",
        "balance": "5874.50", "reference": "LOAD-000123", "loadedAt": 1741944413,
    }),
    "card_blocked": _envelope("CARD_BLOCKED", {**_HOLDER, "reason": "Lost card reported by the cardholder"}),
    # Slow path: a 16-digit run that fails Luhn, and a body holding a card number.
    "long_id_not_a_card": _envelope("CARD_TRANSACTION_APPROVED", {**_HOLDER, "rrn": "4111111111111112"}),
    "holds_a_card": _envelope("CARD_TRANSACTION_APPROVED", {**_HOLDER, "merchantName": "Shop4111 1111 1111 1111"}),
}


def main(number: int = 20_000) -> None:
    for name, body in BODIES.items():
        seconds = min(timeit.repeat(lambda body=body: guards.contains_card_number(body), number=number, repeat=5))
        verdict = guards.contains_card_number(body)
        print(f"{name:<20} {len(body):>4} bytes  {seconds / number * 1e6:6.2f} µs  card number: {verdict}")


if __name__ == "__main__":
    main()
