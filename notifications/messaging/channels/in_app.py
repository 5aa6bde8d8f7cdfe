"""The in-app inbox: "sending" stores the message in the cardholder's inbox (`InboxMessage`), where the partner's app
lists it through the partner API. Storing is idempotent per message, so an at-least-once resend adds nothing."""

from django.db import connection
from django.utils import timezone

from notifications.messaging.channels.base import ChannelAdapter, SendResult, TransportError, refuse_card_numbers
from notifications.models import CustomerMessage, InboxMessage
from subscriptions.catalog import get_event

_STORED_FIELDS = ("message", "partner", "cardholder", "event_id", "event_name", "category", "title", "body",
                  "created_at")
_COLUMNS = [InboxMessage._meta.get_field(name).column for name in _STORED_FIELDS]
_MESSAGE_COLUMN = InboxMessage._meta.get_field("message").column
# One statement with no savepoint (the ORM's get_or_create took four round trips): insert, or on a resend take the
# entry already stored, through a no-op update of the conflicting row so that RETURNING gives its id.
_STORE_SQL = f"""
    INSERT INTO {connection.ops.quote_name(InboxMessage._meta.db_table)} ({", ".join(_COLUMNS)})
    VALUES ({", ".join(["%s"] * len(_COLUMNS))})
    ON CONFLICT ({_MESSAGE_COLUMN}) DO UPDATE SET {_MESSAGE_COLUMN} = EXCLUDED.{_MESSAGE_COLUMN}
    RETURNING id
"""  # noqa: S608 - names from the model's metadata


class InAppChannel(ChannelAdapter):
    name = "IN_APP"

    @classmethod
    def outgoing_fields(cls, message: CustomerMessage) -> dict[str, str]:
        # What the partner's app will show: the inbox entry's title and body.
        return {"title": message.subject, "body": message.body}

    def send(self, message: CustomerMessage) -> SendResult:
        refuse_card_numbers(self.outgoing_fields(message))
        if not message.pk or not message.cardholder_id:
            raise TransportError("An in-app message needs a stored message and its cardholder", permanent=True)
        event = message.event
        definition = get_event(event.event_name)
        values = (message.pk, message.partner_id, message.cardholder_id, event.event_id, event.event_name,
                  definition.category if definition else "", message.subject, message.body, timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(_STORE_SQL, values)
            (entry_id,) = cursor.fetchone()
        return SendResult(provider_message_id=f"inbox-{entry_id}")
