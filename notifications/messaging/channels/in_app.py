"""The in-app inbox: "sending" stores the message in the cardholder's inbox (`InboxMessage`), where the partner's app
lists it through the partner API. Storing is idempotent per message, so an at-least-once resend adds nothing."""

from notifications.messaging.channels.base import ChannelAdapter, SendResult, TransportError, refuse_card_numbers
from notifications.models import CustomerMessage, InboxMessage
from subscriptions.catalog import get_event


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
        entry, _ = InboxMessage.objects.get_or_create(
            message_id=message.pk,
            defaults={
                "partner_id": message.partner_id, "cardholder_id": message.cardholder_id,
                "event_id": event.event_id, "event_name": event.event_name,
                "category": definition.category if definition else "", "title": message.subject, "body": message.body,
            },
        )
        return SendResult(provider_message_id=f"inbox-{entry.pk}")
