"""Console adapters for `make run` and local development: they log the message instead of sending it. They check the
same fields as the channel they stand in for, so a refusal looks the same in development as in production."""

import logging
import uuid

from notifications.messaging.channels.base import ChannelAdapter, SendResult, refuse_card_numbers
from notifications.messaging.channels.email import EmailChannel
from notifications.messaging.channels.in_app import InAppChannel
from notifications.messaging.channels.push import FcmPushChannel
from notifications.messaging.channels.sms import TwilioSmsChannel
from notifications.models import CustomerMessage

logger = logging.getLogger(__name__)

REAL_CHANNELS: dict[str, type[ChannelAdapter]] = {
    "SMS": TwilioSmsChannel, "EMAIL": EmailChannel, "PUSH": FcmPushChannel, "IN_APP": InAppChannel,
}


class ConsoleChannel(ChannelAdapter):
    def __init__(self, name: str):
        self.name = name

    @classmethod
    def outgoing_fields(cls, message: CustomerMessage) -> dict[str, str]:
        return REAL_CHANNELS[message.channel].outgoing_fields(message)

    def send(self, message: CustomerMessage) -> SendResult:
        refuse_card_numbers(REAL_CHANNELS[self.name].outgoing_fields(message))
        provider_id = f"console-{uuid.uuid4().hex[:12]}"
        subject = f" [{message.subject}]" if message.subject else ""
        logger.info("%s to %s%s: %s (%s)", self.name, message.recipient, subject, message.body, provider_id)
        return SendResult(provider_message_id=provider_id)
