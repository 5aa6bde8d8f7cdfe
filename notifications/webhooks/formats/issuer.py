"""The `issuer` body (seeds 002 and 003): `operation`, `sub_operation`, `operation_id`, `status`, `reason` (FAILED
only) and `data`.

`ISSUER_OPERATIONS` is the one mapping table: every catalog event to its operation and sub-operation, and the rule
that turns the event's outcome into the envelope's status (SUCCESS | CANCELLED | FAILED). `operation_id` is the
eventId, the same id as the `webhook-id` header, so a receiver de-duplicates on either. docs/partner-api.md prints
this table; a test checks that it covers the whole catalog."""

from collections.abc import Callable
from dataclasses import dataclass

from notifications.webhooks.formats.fields import EventFields

SUCCESS, CANCELLED, FAILED = "SUCCESS", "CANCELLED", "FAILED"
ISSUER_STATUSES = (SUCCESS, CANCELLED, FAILED)

# A transaction status (data.status, transactionStatus, newStatus) that means the operation failed or was undone.
FAILED_TRANSACTION_STATUSES = frozenset({"DECLINED", "FAILED", "ERROR", "REJECTED"})
CANCELLED_TRANSACTION_STATUSES = frozenset({"CANCELLED", "CANCELED", "REVERSED", "VOIDED"})

Outcome = Callable[[dict], tuple[str, str | None]]  # data -> (status, reason when FAILED)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def _reason(data: dict, default: str) -> str:
    """Why it failed: the event's own reason when it gives one."""
    for key in ("declineReason", "reason", "responseCode", "errorDescription"):
        if text := _text(data.get(key)):
            return text
    return default


def success(data: dict) -> tuple[str, str | None]:
    return SUCCESS, None


def cancelled(data: dict) -> tuple[str, str | None]:
    return CANCELLED, None


def failed(default_reason: str) -> Outcome:
    def outcome(data: dict) -> tuple[str, str | None]:
        return FAILED, _reason(data, default_reason)

    return outcome


def by_transaction_status(field: str, *, reversal_cancels: bool = False) -> Outcome:
    """FAILED or CANCELLED when data[field] says so (DECLINED, FAILED… / CANCELLED, REVERSED…), else SUCCESS. With
    `reversal_cancels`, a transactionType REVERSAL is CANCELLED too (TRANSACTION_NOTIFICATION reports every type)."""

    def outcome(data: dict) -> tuple[str, str | None]:
        status = _text(data.get(field)).upper()
        if status in FAILED_TRANSACTION_STATUSES:
            return FAILED, _reason(data, status)
        if status in CANCELLED_TRANSACTION_STATUSES:
            return CANCELLED, None
        if reversal_cancels and _text(data.get("transactionType")).upper() == "REVERSAL":
            return CANCELLED, None
        return SUCCESS, None

    return outcome


def card_authorization(data: dict) -> tuple[str, str | None]:
    if data.get("authorized") is False:
        return FAILED, _reason(data, "NOT_AUTHORIZED")
    return SUCCESS, None


def batch(data: dict) -> tuple[str, str | None]:
    """A batch in which nothing succeeded and something failed is FAILED; any success makes it SUCCESS."""
    succeeded, failures = data.get("successTransactionCount"), data.get("failedTransactionCount")
    if succeeded == 0 and isinstance(failures, int) and failures > 0:
        return FAILED, "ALL_TRANSACTIONS_FAILED"
    return SUCCESS, None


@dataclass(frozen=True)
class IssuerOperation:
    operation: str
    sub_operation: str
    outcome: Outcome = success
    # How the status is decided, in words, for the documentation's table.
    rule: str = "SUCCESS"


def _op(operation: str, sub_operation: str, outcome: Outcome = success, rule: str = "SUCCESS") -> IssuerOperation:
    return IssuerOperation(operation, sub_operation, outcome, rule)


_BY_STATUS = "FAILED (reason = declineReason) when `status` is DECLINED/FAILED, CANCELLED when CANCELLED/REVERSED"

ISSUER_OPERATIONS: dict[str, IssuerOperation] = {
    # Card lifecycle.
    "KIT_STATUS_UPDATE": _op("CARD", "STATUS_UPDATE"),
    "KIT_INACTIVATION_NOTIFICATION": _op("CARD", "DORMANCY_INACTIVATION"),
    "KIT_INACTIVATION_ADVANCE_NOTIFICATION": _op("CARD", "DORMANCY_INACTIVATION_NOTICE"),
    "KIT_EXPIRY_NOTIFICATION": _op("CARD", "EXPIRY"),
    "KIT_EXPIRY_ADVANCE_NOTIFICATION": _op("CARD", "EXPIRY_NOTICE"),
    "CARD_RENEWAL": _op("CARD", "RENEWAL"),
    "CARD_ISSUED": _op("CARD", "ISSUE"),
    "CARD_ACTIVATED": _op("CARD", "ACTIVATION"),
    "CARD_BLOCKED": _op("CARD", "BLOCK"),
    "CARD_CLOSED": _op("CARD", "CLOSURE"),
    "CARD_AUTHORIZED": _op("CARD", "AUTHORIZATION", card_authorization,
                           "FAILED (reason = responseCode) when `authorized` is false"),
    "CARD_STATUS_CHANGED": _op("CARD", "STATUS_CHANGE"),
    "CARD_PIN_CHANGED": _op("CARD", "PIN_CHANGE"),
    "CARD_TOKENIZED": _op("CARD", "TOKENIZATION"),
    "CARD_REISSUED": _op("CARD", "REISSUE"),
    # Card transactions (seed 003's family).
    "CARD_TRANSACTION_APPROVED": _op("CARD_TRANSACTION", "AUTHORIZATION"),
    "CARD_TRANSACTION_DECLINED": _op("CARD_TRANSACTION", "AUTHORIZATION", failed("DECLINED"),
                                     "FAILED, reason = declineReason"),
    "CARD_TRANSACTION_CLEARING_PENDING": _op("CARD_TRANSACTION", "CLEARING_PENDING"),
    "CARD_TRANSACTION_CLEARING_FAILED": _op("CARD_TRANSACTION", "CLEARING", failed("CLEARING_FAILED"),
                                            "FAILED, reason = reason"),
    "CARD_TRANSACTION_CLEARED": _op("CARD_TRANSACTION", "CLEARING"),
    "CARD_TRANSACTION_REFUND": _op("CARD_TRANSACTION", "REFUND"),
    "CARD_TRANSACTION_REVERSAL": _op("CARD_TRANSACTION", "REVERSAL", cancelled, "CANCELLED"),
    "CARD_3DS_CHALLENGE": _op("CARD_TRANSACTION", "THREE_DS_CHALLENGE"),
    # Transactions as a whole.
    "TRANSACTION_NOTIFICATION": _op("TRANSACTION", "NOTIFICATION",
                                    by_transaction_status("status", reversal_cancels=True),
                                    f"{_BY_STATUS} or transactionType is REVERSAL"),
    "TRANSACTION_STATUS_CHANGED": _op("TRANSACTION", "STATUS_CHANGE", by_transaction_status("newStatus"),
                                      "by `newStatus`: FAILED when DECLINED/FAILED, CANCELLED when "
                                      "CANCELLED/REVERSED"),
    "TRANSACTION_COMPLETED": _op("TRANSACTION", "COMPLETION", by_transaction_status("transactionStatus"),
                                 "by `transactionStatus`: FAILED when DECLINED/FAILED, CANCELLED when "
                                 "CANCELLED/REVERSED"),
    "TRANSACTION_BATCH_COMPLETED": _op("TRANSACTION", "BATCH_COMPLETION", batch,
                                       "FAILED (ALL_TRANSACTIONS_FAILED) when none succeeded and some failed"),
    # Wallets; a deposit is seed 002's own example, TREASURY / DEPOSIT.
    "WALLET_STATUS_CHANGED": _op("WALLET", "STATUS_CHANGE"),
    "WALLET_LOCKED": _op("WALLET", "LOCK"),
    "WALLET_BLOCKED": _op("WALLET", "BLOCK"),
    "WALLET_FRAUD_SUSPENDED": _op("WALLET", "FRAUD_SUSPENSION"),
    "WALLET_CLOSED": _op("WALLET", "CLOSURE"),
    "WALLET_LOADED": _op("WALLET", "LOAD"),
    "WALLET_DEPOSIT_RECEIVED": _op("TREASURY", "DEPOSIT"),
    "WALLET_LOW_BALANCE": _op("WALLET", "LOW_BALANCE"),
    # Customers.
    "CUSTOMER_REGISTERED": _op("CUSTOMER", "REGISTRATION"),
    "CUSTOMER_KYC_UPDATED": _op("CUSTOMER", "KYC_UPDATE"),
    "CUSTOMER_CONTACT_CHANGED": _op("CUSTOMER", "CONTACT_CHANGE"),
    "CUSTOMER_OTP": _op("CUSTOMER", "OTP"),
    # Fees.
    "FEE_CHARGED": _op("FEE", "CHARGE"),
    "ANNUAL_FEE_DUE": _op("FEE", "ANNUAL_FEE_NOTICE"),
    # The partner's own integration.
    "SUBSCRIPTION_DISABLED": _op("WEBHOOK", "SUBSCRIPTION_DISABLED"),
    "ENDPOINT_DISABLED": _op("WEBHOOK", "ENDPOINT_DISABLED"),
    "ENDPOINT_ENABLED": _op("WEBHOOK", "ENDPOINT_ENABLED"),
    "ENDPOINT_RECOVERED": _op("WEBHOOK", "ENDPOINT_RECOVERED"),
    "DELIVERY_ATTEMPT_EXHAUSTED": _op("WEBHOOK", "DELIVERY_ATTEMPT_EXHAUSTED"),
    "WEBHOOK_TEST": _op("WEBHOOK", "TEST"),
}


def issuer_operation(event_name: str) -> IssuerOperation:
    """The table's entry; an event missing from it (a test keeps that from happening) is still sent, as
    OTHER / its eventName, rather than lost."""
    return ISSUER_OPERATIONS.get(event_name) or IssuerOperation("OTHER", event_name)


def issuer_envelope(fields: EventFields) -> dict:
    mapping = issuer_operation(fields.event_name)
    status, reason = mapping.outcome(fields.data)
    envelope: dict = {
        "operation": mapping.operation,
        "sub_operation": mapping.sub_operation,
        "operation_id": fields.event_id,
        "status": status,
    }
    if status == FAILED:
        envelope["reason"] = reason or FAILED
    envelope["data"] = fields.data
    return envelope
