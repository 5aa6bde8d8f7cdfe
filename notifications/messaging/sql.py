"""The statements of customer-message sending; table names come from the models' metadata."""

import uuid
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from notifications import leases
from notifications.models import CustomerMessage, MessageStatus

MESSAGES = leases.LeasedTable(
    model=CustomerMessage,
    waiting_statuses=(MessageStatus.PENDING.value, MessageStatus.HELD.value),
    lease_setting="CUSTOMER_MESSAGE_LEASE_SECONDS",
    # A HELD message waited out quiet hours: nobody enqueued it, so the re-enqueue sweep takes it when it is due.
    no_grace_statuses=(MessageStatus.HELD.value,),
)

_CLAIM_SQL = leases.claim_statement(MESSAGES, returning="d.id")


def messages_claim(ids: list[int]) -> tuple[uuid.UUID, list[int]]:
    """Claim the due ones among `ids` under a fresh token (leases.claim_statement); returns the token and the ids."""
    token = leases.new_token()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, leases.claim_params(MESSAGES, ids, token, timezone.now()))
        return token, [row[0] for row in cursor.fetchall()]


# The status a successful send writes: SENT, unless the provider's receipt overtook the worker's write (a status
# callback can arrive before it), in which case the receipt's status.
STATUS_AFTER_SEND = Case(When(~Q(receipt_status=""), then=F("receipt_status")), default=Value(MessageStatus.SENT.value))

_TABLE = connection.ops.quote_name(CustomerMessage._meta.db_table)
# One statement, so a receipt and the worker's record of the send cannot interleave (the row lock orders them, and
# PostgreSQL re-evaluates the later one against the row the earlier one wrote). The first receipt wins; it moves
# only a SENT message (RETURNING then gives the receipt's status); one that overtook the send is kept in
# receipt_status for STATUS_AFTER_SEND. The provider's id must match once the message has one.
_RECEIPT_SQL = f"""
    UPDATE {_TABLE} SET receipt_status = %(status)s, receipt_at = %(at)s,
           provider_error_code = CASE WHEN %(code)s <> '' THEN %(code)s ELSE provider_error_code END,
           status = CASE WHEN status = 'SENT' THEN %(status)s ELSE status END,
           finished_at = CASE WHEN status = 'SENT' THEN %(at)s ELSE finished_at END
     WHERE id = %(id)s AND receipt_status = '' AND (provider_message_id = '' OR provider_message_id = %(sid)s)
    RETURNING status
"""  # noqa: S608 - the table name comes from the model's metadata


def message_receipt_write(
    *, message_id: int, provider_message_id: str, status: str, error_code: str, at: datetime
) -> str | None:
    """Write a receipt (see _RECEIPT_SQL); the message's status afterwards, or None when nothing was written (an
    unknown message, another provider id, or a receipt already recorded)."""
    with connection.cursor() as cursor:
        cursor.execute(_RECEIPT_SQL, {"status": status, "at": at, "code": error_code, "id": message_id,
                                      "sid": provider_message_id})
        row = cursor.fetchone()
    return row[0] if row else None
