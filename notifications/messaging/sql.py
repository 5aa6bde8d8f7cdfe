"""The statements of customer-message sending; table names come from the models' metadata."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
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


_TABLE = connection.ops.quote_name(CustomerMessage._meta.db_table)
# One statement, so a receipt and the worker's record of the send cannot interleave (the row lock orders them, and
# PostgreSQL re-evaluates the later one against the row the earlier one wrote). The first receipt wins; it moves
# only a SENT message (RETURNING then gives the receipt's status); one that overtook the send is kept in
# receipt_status for _RECORD_SENT_SQL. The provider's id must match once the message has one.
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


@dataclass(frozen=True)
class SentMessage:
    """A message its provider accepted, with the text rendered for this attempt (None: rendered by an earlier one)."""
    message_id: int
    provider_message_id: str
    rendered: tuple[str, str, str, datetime] | None  # subject, body, html body, rendered at


# The record of successful sends, one statement for a group of them. The status is SENT, unless the provider's
# receipt overtook the worker's write (a status callback can arrive before it): then the receipt's status, and the
# receipt's time is the finish. Only rows still leased to the sender's token are written (leases.held_by_sql).
_RECORD_SENT_SQL = f"""
    UPDATE {_TABLE} AS m SET
           status = CASE WHEN m.receipt_status <> '' THEN m.receipt_status ELSE '{MessageStatus.SENT.value}' END,
           finished_at = COALESCE(m.receipt_at, %(now)s), sent_at = %(now)s, last_error = '',
           lease_expires_at = NULL, provider_message_id = left(v.provider_message_id, 200),
           subject = CASE WHEN v.rendered THEN v.subject ELSE m.subject END,
           body = CASE WHEN v.rendered THEN v.body ELSE m.body END,
           html_body = CASE WHEN v.rendered THEN v.html_body ELSE m.html_body END,
           rendered_at = CASE WHEN v.rendered THEN v.rendered_at ELSE m.rendered_at END
      FROM unnest(%(ids)s::bigint[], %(provider_ids)s::text[], %(rendered)s::boolean[], %(subjects)s::text[],
                  %(bodies)s::text[], %(html_bodies)s::text[], %(rendered_at)s::timestamptz[])
           AS v(id, provider_message_id, rendered, subject, body, html_body, rendered_at)
     WHERE m.id = v.id AND {leases.held_by_sql("m")}
    RETURNING m.id, m.status, m.provider_error_code
"""  # noqa: S608 - the table name comes from the model's metadata


def messages_record_sent(
    token: uuid.UUID, sent: Sequence[SentMessage], now: datetime
) -> dict[int, tuple[str, str]]:
    """Record the successful sends of messages leased to `token` (_RECORD_SENT_SQL); returns {message id: (status,
    provider error code)} for the rows written. A message missing from it was taken over by another worker."""
    if not sent:
        return {}
    texts = [s.rendered or ("", "", "", None) for s in sent]
    params = {
        "now": now, "token": token, "ids": [s.message_id for s in sent],
        "provider_ids": [s.provider_message_id for s in sent], "rendered": [s.rendered is not None for s in sent],
        "subjects": [t[0] for t in texts], "bodies": [t[1] for t in texts], "html_bodies": [t[2] for t in texts],
        "rendered_at": [t[3] for t in texts],
    }
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_SENT_SQL, params)
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
