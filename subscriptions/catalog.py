"""The event catalog: every event the platform emits, in one registry.

Everything that needs to know about events (subscription validation, ingest, the event-types API, templates,
customer routing, quiet hours) reads this module and nothing else.
"""

from dataclasses import dataclass, field
from typing import Literal

EventType = Literal["INSTANT", "ADVANCE"]
ALL_EVENTS = "ALL_EVENTS"

# Variables shared by many events: name -> (JSON type, description)
_KIT = {"kitNo": ("string", "Card kit number")}
_CARD = {
    **_KIT,
    "cardId": ("string", "Stable card id (unchanged by reissue)"),
    "last4": ("string", "Last four digits of the card number"),
}
_HOLDER = {"customerId": ("string", "Cardholder id"), "cardholderName": ("string", "Cardholder name")}
_MONEY = {
    "amount": ("string", "Decimal amount, e.g. \"125.50\""),
    "currency": ("string", "ISO 4217 currency code"),
}
_TXN = {
    **_CARD,
    **_MONEY,
    "transactionId": ("string", "Transaction id"),
    "merchantName": ("string", "Merchant name"),
    "balance": ("string", "Wallet balance after the transaction"),
}
_WALLET = {"walletId": ("string", "Wallet id"), **_HOLDER}
_STATUS = {"previousStatus": ("string", "Status before the change"), "newStatus": ("string", "Status after the change")}
_ENDPOINT = {
    "subscriptionEventName": ("string", "The eventName of the subscription this is about (one per eventName)"),
    "destination": ("string", "That subscription's destination URL"),
}
_CARD_CHANGE = {
    "walletId": ("string", "Wallet id"),
    "reason": ("string", "Why: ACTIVATED, LOCKED, UNLOCKED, BLOCKED, CLOSED (your request), EXPIRED, DORMANCY, "
               "REISSUED or WALLET_CLOSED (the platform)"),
    "channel": ("string", "PARTNER_API, SUPPORT or SYSTEM"),
}
_ADVANCE = {
    **_CARD,
    **_HOLDER,
    "daysBefore": ("integer", "How many days ahead of the event this notice is sent"),
    "late": ("boolean", "True when this notice was delayed past its scheduled day; the event itself is still ahead"),
}


@dataclass(frozen=True)
class EventDefinition:
    name: str
    category: str
    event_type: EventType
    description: str
    variables: dict[str, tuple[str, str]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    customer_facing: bool = False
    # A critical notice reaches the cardholder even if they opted out of the channel (regulatory notices).
    critical: bool = False
    # An urgent notice (security) is sent at once, even in the cardholder's quiet hours.
    urgent: bool = False

    def example_data(self) -> dict:
        """A plausible `data` object of this event, for the documentation (event types, the OpenAPI document)."""
        example = {name: _example_value(name, json_type) for name, (json_type, _) in self.variables.items()}
        example.update({k: v for k, v in _EXAMPLE_OVERRIDES.get(self.name, {}).items() if k in example})
        return example

    def data_schema(self) -> dict:
        """JSON Schema of the event's `data` object."""
        return {
            "type": "object",
            "properties": {k: {"type": t, "description": d} for k, (t, d) in self.variables.items()},
            "required": list(self.required),
            "additionalProperties": True,
        }


# Example values by variable name (then by JSON type) for the documentation's example bodies.
_EXAMPLE_VALUES: dict[str, object] = {
    "kitNo": "K0001", "cardId": "0b6c7a36-5c35-4f53-9b0a-7f0e0d3c9d11", "last4": "4242",
    "customerId": "CUST0001", "cardholderName": "Asha Rao", "amount": "125.50", "currency": "INR",
    "transactionId": "7f0e0d3c-1a2b-4c3d-8e9f-5c35b0c6a736", "merchantName": "Coffee House", "balance": "874.50",
    "walletId": "9d11b0c6-7a36-4f53-9b0a-5c357f0e0d3c", "previousStatus": "ACTIVE", "newStatus": "LOCKED",
    "transactionType": "AUTHORIZATION", "status": "APPROVED", "declineReason": "", "reason": "LOCKED",
    "channel": "PARTNER_API", "expiryDate": "2030-12-31", "inactivationDate": "2027-03-01",
    "lastActivityAt": "2026-03-01T09:15:00Z", "daysBefore": 30, "late": False, "previousLast4": "1881",
    "walletProvider": "Google Pay", "authorized": True, "responseCode": "00", "otp": "482913",
    "transactionStatus": "SUCCEEDED", "batchId": "B18ACCDF-DD86-4979-98A7-4DB74A0E1B4E",
    "totalTransactionsCount": 3, "successTransactionCount": 3, "failedTransactionCount": 0,
    "operationId": "ca0c57d2-b1c9-4bcd-9d5d-8d361cad6fdd", "kycStatus": "VERIFIED", "field": "email",
    "purpose": "LOGIN", "feeType": "ANNUAL", "dueDate": "2026-04-01", "comment": "",
    "subscriptionEventName": "TRANSACTION_NOTIFICATION", "destination": "https://your-app.com/webhooks",
    "lastError": "HTTP 503", "message": "Test event for your ALL_EVENTS subscription.",
}
_EXAMPLE_BY_TYPE: dict[str, object] = {"string": "example", "integer": 1, "boolean": True, "number": 1.5}
# Where an event's example differs from the generic one (a decline declines, a reversal reverses).
_EXAMPLE_OVERRIDES: dict[str, dict[str, object]] = {
    "TRANSACTION_NOTIFICATION": {"transactionType": "AUTHORIZATION"},
    "CARD_TRANSACTION_DECLINED": {"declineReason": "INSUFFICIENT_FUNDS"},
    "CARD_TRANSACTION_CLEARING_FAILED": {"reason": "CARD_NOT_ACTIVE"},
    "CARD_STATUS_CHANGED": {"newStatus": "INACTIVE", "reason": "DORMANCY", "channel": "SYSTEM"},
    "TRANSACTION_STATUS_CHANGED": {"previousStatus": "SUCCEEDED", "newStatus": "REVERSED"},
    "WALLET_STATUS_CHANGED": {"reason": "SUSPECTED_FRAUD", "comment": "Unusual spend pattern"},
    "CARD_BLOCKED": {"reason": "LOST_CARD"},
    "SUBSCRIPTION_DISABLED": {"reason": "Every attempt failed for 5 days"},
}


def _example_value(name: str, json_type: str) -> object:
    return _EXAMPLE_VALUES.get(name, _EXAMPLE_BY_TYPE.get(json_type, "example"))


def _e(name, category, event_type, description, variables, required=("kitNo",), **flags) -> EventDefinition:
    return EventDefinition(name, category, event_type, description, dict(variables), tuple(required), **flags)


CARD, TXN, WALLET, CUSTOMER, FEES, PLATFORM = (
    "Card lifecycle",
    "Transactions",
    "Wallet",
    "Customer",
    "Fees",
    "Platform",
)

_DEFINITIONS = [
    # Seed 001: the seven subscribable events.
    _e("KIT_STATUS_UPDATE", CARD, "INSTANT", "Card/kit status changes (activation, blocking, closure)",
       {**_CARD, **_HOLDER, **_STATUS, **_CARD_CHANGE}, customer_facing=True),
    _e("TRANSACTION_NOTIFICATION", TXN, "INSTANT", "All transactions including recon",
       {**_TXN, **_HOLDER, "transactionType": ("string", "LOAD, AUTHORIZATION, CLEARING, REFUND, REVERSAL…"),
        "status": ("string", "APPROVED or DECLINED"), "declineReason": ("string", "Why it was declined")},
       customer_facing=True),
    _e("KIT_INACTIVATION_NOTIFICATION", CARD, "INSTANT", "Card inactivated due to dormancy",
       {**_CARD, **_HOLDER, "lastActivityAt": ("string", "Last activity time")}, customer_facing=True, critical=True),
    _e("KIT_INACTIVATION_ADVANCE_NOTIFICATION", CARD, "ADVANCE", "N days before dormancy inactivation",
       {**_ADVANCE, "inactivationDate": ("string", "Date the card will be inactivated")}, customer_facing=True,
       critical=True),
    _e("KIT_EXPIRY_NOTIFICATION", CARD, "INSTANT", "Card has expired",
       {**_CARD, **_HOLDER, "expiryDate": ("string", "Expiry date")}, customer_facing=True, critical=True),
    _e("KIT_EXPIRY_ADVANCE_NOTIFICATION", CARD, "ADVANCE", "N days before card expiry",
       {**_ADVANCE, "expiryDate": ("string", "Expiry date")}, customer_facing=True, critical=True),
    _e("CARD_RENEWAL", CARD, "INSTANT", "Card renewal initiated (reissue: new number, CVV and expiry, same cardId)",
       {**_CARD, **_HOLDER, "expiryDate": ("string", "New expiry date"),
        "previousLast4": ("string", "Last four digits of the replaced card")}, customer_facing=True),
    # Card lifecycle (seeds 000, 002, 004).
    _e("CARD_ISSUED", CARD, "INSTANT", "A card was issued to a cardholder", {**_CARD, **_HOLDER},
       customer_facing=True),
    _e("CARD_ACTIVATED", CARD, "INSTANT", "A card was activated", {**_CARD, **_HOLDER}, customer_facing=True),
    _e("CARD_BLOCKED", CARD, "INSTANT", "A card was blocked", {**_CARD, **_HOLDER, "reason": ("string", "Reason")},
       customer_facing=True, urgent=True),
    _e("CARD_CLOSED", CARD, "INSTANT", "A card was closed permanently", {**_CARD, **_HOLDER},
       customer_facing=True, critical=True),
    _e("CARD_AUTHORIZED", CARD, "INSTANT", "Card authorization attempt completed",
       {**_CARD, "authorized": ("boolean", "Whether the card was authorized"),
        "responseCode": ("string", "Network response code")}),
    _e("CARD_STATUS_CHANGED", CARD, "INSTANT", "Card changed status to active or inactive",
       {**_CARD, **_STATUS, **_CARD_CHANGE}),
    _e("CARD_PIN_CHANGED", CARD, "INSTANT", "The card PIN was set or changed", {**_CARD, **_HOLDER},
       customer_facing=True, urgent=True),
    _e("CARD_TOKENIZED", CARD, "INSTANT", "The card was provisioned to a mobile wallet",
       {**_CARD, **_HOLDER, "walletProvider": ("string", "e.g. Google Pay")}, customer_facing=True, urgent=True),
    _e("CARD_REISSUED", CARD, "INSTANT", "The previous card number was replaced (lost, damaged, fraud)",
       {**_CARD, **_HOLDER, "previousLast4": ("string", "Replaced card's last four digits")}),
    # Transactions (seeds 003, 004).
    _e("CARD_TRANSACTION_APPROVED", TXN, "INSTANT", "Card transaction approval", {**_TXN, **_HOLDER},
       customer_facing=True),
    _e("CARD_TRANSACTION_DECLINED", TXN, "INSTANT", "Card transaction declined",
       {**_TXN, **_HOLDER, "declineReason": ("string", "Why it was declined")}, customer_facing=True),
    _e("CARD_TRANSACTION_CLEARING_PENDING", TXN, "INSTANT", "Card transaction clearing pending", _TXN),
    _e("CARD_TRANSACTION_CLEARING_FAILED", TXN, "INSTANT", "Card transaction clearing failed",
       {**_TXN, "reason": ("string", "Failure reason")}),
    _e("CARD_TRANSACTION_CLEARED", TXN, "INSTANT", "Card transaction cleared", _TXN),
    _e("CARD_TRANSACTION_REFUND", TXN, "INSTANT", "Card transaction refund", {**_TXN, **_HOLDER},
       customer_facing=True),
    _e("CARD_TRANSACTION_REVERSAL", TXN, "INSTANT", "Card transaction reversal", {**_TXN, **_HOLDER},
       customer_facing=True),
    _e("CARD_3DS_CHALLENGE", TXN, "INSTANT", "Card 3DS challenge: a one-time code for an online purchase",
       {**_TXN, **_HOLDER, "otp": ("string", "One-time code")}, customer_facing=True, urgent=True),
    _e("TRANSACTION_STATUS_CHANGED", TXN, "INSTANT", "A transaction changed status",
       {**_TXN, "previousStatus": ("string", "Old status"), "newStatus": ("string", "New status")}),
    _e("TRANSACTION_COMPLETED", TXN, "INSTANT",
       "A transaction request completed; sent once per transactionId (a later completion or change of the same "
       "transaction arrives as TRANSACTION_STATUS_CHANGED)",
       {**_TXN, "transactionStatus": ("string", "The transaction's status on completion, e.g. SUCCEEDED or FAILED")},
       required=("transactionId",)),
    _e("TRANSACTION_BATCH_COMPLETED", TXN, "INSTANT", "A batch of transactions completed",
       {"batchId": ("string", "Batch id"), "totalTransactionsCount": ("integer", "Total"),
        "successTransactionCount": ("integer", "Succeeded"), "failedTransactionCount": ("integer", "Failed")},
       required=("batchId",)),
    # Wallet (seeds 000, 002).
    _e("WALLET_STATUS_CHANGED", WALLET, "INSTANT",
       "Wallet status changed (by the partner through the API, by support, or by the platform)",
       {**_WALLET, **_STATUS, "reason": ("string", "Reason code"), "comment": ("string", "Free text"),
        "channel": ("string", "PARTNER_API, SUPPORT or SYSTEM")}, required=("walletId",), customer_facing=True),
    _e("WALLET_LOCKED", WALLET, "INSTANT", "Wallet temporarily locked", _WALLET, required=("walletId",),
       customer_facing=True, urgent=True),
    _e("WALLET_BLOCKED", WALLET, "INSTANT", "Wallet blocked; needs support to unblock", _WALLET,
       required=("walletId",), customer_facing=True, critical=True),
    _e("WALLET_FRAUD_SUSPENDED", WALLET, "INSTANT", "Wallet suspended pending a fraud investigation", _WALLET,
       required=("walletId",), customer_facing=True, critical=True, urgent=True),
    _e("WALLET_CLOSED", WALLET, "INSTANT", "Wallet closed permanently", _WALLET, required=("walletId",),
       customer_facing=True, critical=True),
    _e("WALLET_LOADED", WALLET, "INSTANT", "Money loaded into the wallet",
       {**_WALLET, **_MONEY, "balance": ("string", "Balance after the load")}, required=("walletId",),
       customer_facing=True),
    _e("WALLET_DEPOSIT_RECEIVED", WALLET, "INSTANT", "A deposit arrived in the wallet",
       {**_WALLET, **_MONEY, "operationId": ("string", "Operation id")}, required=("walletId",)),
    _e("WALLET_LOW_BALANCE", WALLET, "INSTANT", "Wallet balance fell below the product threshold",
       {**_WALLET, "balance": ("string", "Balance"), "currency": ("string", "Currency")}, required=("walletId",),
       customer_facing=True),
    # Customer.
    _e("CUSTOMER_REGISTERED", CUSTOMER, "INSTANT", "A cardholder was registered", _HOLDER,
       required=("customerId",), customer_facing=True),
    _e("CUSTOMER_KYC_UPDATED", CUSTOMER, "INSTANT", "The cardholder's KYC status changed",
       {**_HOLDER, "kycStatus": ("string", "New KYC status")}, required=("customerId",), customer_facing=True),
    _e("CUSTOMER_CONTACT_CHANGED", CUSTOMER, "INSTANT", "The cardholder's phone or email changed",
       {**_HOLDER, "field": ("string", "phone or email")}, required=("customerId",), customer_facing=True,
       urgent=True),
    _e("CUSTOMER_OTP", CUSTOMER, "INSTANT", "A one-time password for the cardholder",
       {**_HOLDER, "otp": ("string", "One-time code"), "purpose": ("string", "What it authorises")},
       required=("customerId",), customer_facing=True, urgent=True, critical=True),
    # Fees.
    _e("FEE_CHARGED", FEES, "INSTANT", "A fee was charged to the wallet",
       {**_CARD, **_HOLDER, **_MONEY, "feeType": ("string", "e.g. ANNUAL, REPLACEMENT")}, customer_facing=True,
       critical=True),
    _e("ANNUAL_FEE_DUE", FEES, "INSTANT", "The annual fee will be charged soon",
       {**_CARD, **_HOLDER, **_MONEY, "dueDate": ("string", "Date")}, customer_facing=True, critical=True),
    # Platform events about the partner's own integration.
    _e("SUBSCRIPTION_DISABLED", PLATFORM, "INSTANT", "A webhook subscription was disabled after failures",
       {"subscriptionEventName": ("string", "The subscription's eventName"), "destination": ("string", "URL"),
        "reason": ("string", "Why"), "lastError": ("string", "Last error")}, required=("subscriptionEventName",)),
    _e("WEBHOOK_TEST", PLATFORM, "INSTANT", "A signed sample event sent on request to test an endpoint",
       {"message": ("string", "Sample text")}, required=()),
    # Operational events about one of the partner's own endpoints. Never sent to the subscription they are about:
    # subscribe to them on another subscription (or ALL_EVENTS) to be told when an endpoint needs attention.
    _e("ENDPOINT_DISABLED", PLATFORM, "INSTANT",
       "One of your webhook subscriptions was disabled (after repeated failures, a 410 answer, by you or by support); "
       "its deliveries wait until it is enabled again",
       {**_ENDPOINT, "reason": ("string", "Why it was disabled"),
        "lastError": ("string", "The last delivery error, when failures disabled it")},
       required=("subscriptionEventName",)),
    _e("ENDPOINT_ENABLED", PLATFORM, "INSTANT",
       "A disabled webhook subscription was enabled again; its waiting deliveries are being sent",
       {**_ENDPOINT, "enabledBy": ("string", "PARTNER, SUPPORT or PLATFORM")}, required=("subscriptionEventName",)),
    _e("ENDPOINT_RECOVERED", PLATFORM, "INSTANT",
       "A webhook endpoint answered successfully again after a run of failed attempts",
       {**_ENDPOINT, "failingSince": ("string", "When its failures began (ISO 8601)"),
        "recoveredAt": ("string", "The first successful answer (ISO 8601)")}, required=("subscriptionEventName",)),
    _e("DELIVERY_ATTEMPT_EXHAUSTED", PLATFORM, "INSTANT",
       "A webhook delivery failed on its last attempt and will not be retried (replay it, or recover a time window)",
       {**_ENDPOINT, "eventId": ("string", "The eventId of the event that was not delivered"),
        "eventName": ("string", "Its eventName"),
        "deliveryId": ("integer", "The delivery, for POST /deliveries/{id}/retry"),
        "attempts": ("integer", "Attempts made"), "lastStatusCode": ("integer", "The last HTTP status, if any"),
        "lastError": ("string", "The last error")}, required=("subscriptionEventName", "eventId")),
]

EVENT_CATALOG: dict[str, EventDefinition] = {d.name: d for d in _DEFINITIONS}
CATEGORIES: list[str] = list(dict.fromkeys(d.category for d in _DEFINITIONS))
SUBSCRIBABLE_EVENT_NAMES: list[str] = [ALL_EVENTS, *EVENT_CATALOG]
# Categories a cardholder may opt out of: those with customer messages that are not critical (critical notices are
# always sent, so a category of critical notices only, such as Fees, has nothing to opt out of).
OPT_OUT_CATEGORIES: list[str] = [
    c for c in CATEGORIES if any(d.category == c and d.customer_facing and not d.critical for d in _DEFINITIONS)
]


# Operational events about a subscription (data.subscriptionEventName): never delivered to that subscription.
OPERATIONAL_EVENT_NAMES = frozenset(
    {"ENDPOINT_DISABLED", "ENDPOINT_ENABLED", "ENDPOINT_RECOVERED", "DELIVERY_ATTEMPT_EXHAUSTED",
     "SUBSCRIPTION_DISABLED"}
)


def get_event(name: str) -> EventDefinition | None:
    return EVENT_CATALOG.get(name)


def is_advance(name: str) -> bool:
    definition = EVENT_CATALOG.get(name)
    return definition is not None and definition.event_type == "ADVANCE"
