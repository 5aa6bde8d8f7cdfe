"""Console adapters for `make run` and local development: they log the message instead of sending it."""

import logging
import uuid

from notifications.messaging.channels.base import ChannelAdapter, SendResult
from notifications.models import CustomerMessage

logger = logging.getLogger(__name__)


class ConsoleChannel(ChannelAdapter):
    def __init__(self, name: str):
        self.name = name

    def send(self, message: CustomerMessage) -> SendResult:
        provider_id = f"console-{uuid.uuid4().hex[:12]}"
        subject = f" [{message.subject}]" if message.subject else ""
        logger.info("%s to %s%s: %s (%s)", self.name, message.recipient, subject, message.body, provider_id)
        return SendResult(provider_message_id=provider_id)
