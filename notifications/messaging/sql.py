"""The statements of customer-message sending; table names come from the models' metadata."""

import uuid

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
