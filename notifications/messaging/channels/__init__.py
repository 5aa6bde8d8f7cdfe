"""Customer-message channel adapters, one small class per channel (healthchecks' transports style):
`send(message) -> SendResult` or `TransportError(message, permanent=…)`. `channel_adapter()` picks the class the
settings name: SMS_PROVIDER (twilio | console), PUSH_PROVIDER (fcm | console), EMAIL_CHANNEL (smtp | console);
IN_APP always stores in the cardholder's inbox.

`message_card_number_fields(message)` names the fields of a message's channel that hold a card number: the check to
run before a send (every adapter also runs it on what it is about to send, and raises CardNumberRefused)."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from notifications.messaging.channels.base import (
    CardNumberRefused,
    ChannelAdapter,
    SendResult,
    TransportError,
    card_number_fields,
)
from notifications.messaging.channels.console import REAL_CHANNELS, ConsoleChannel
from notifications.messaging.channels.email import EmailChannel
from notifications.messaging.channels.in_app import InAppChannel
from notifications.messaging.channels.push import FcmPushChannel
from notifications.messaging.channels.sms import TwilioSmsChannel
from notifications.models import CustomerMessage

__all__ = [
    "CardNumberRefused", "ChannelAdapter", "SendResult", "TransportError", "channel_adapter",
    "message_card_number_fields",
]


def channel_adapter(channel: str) -> ChannelAdapter:
    """The adapter for "SMS", "EMAIL", "PUSH" or "IN_APP" as configured."""
    if channel == "IN_APP":
        return InAppChannel()
    if channel == "SMS":
        choices = {"twilio": TwilioSmsChannel, "console": lambda: ConsoleChannel("SMS")}
        selected = settings.SMS_PROVIDER
    elif channel == "PUSH":
        choices = {"fcm": FcmPushChannel, "console": lambda: ConsoleChannel("PUSH")}
        selected = settings.PUSH_PROVIDER
    elif channel == "EMAIL":
        # "smtp" uses Django's EMAIL_BACKEND (SMTP in production; console/locmem where settings say so).
        choices = {"smtp": EmailChannel, "console": lambda: ConsoleChannel("EMAIL")}
        selected = settings.EMAIL_CHANNEL_BACKEND
    else:
        raise ValueError(f"Unknown channel {channel!r}")
    factory = choices.get(selected.lower())
    if factory is None:
        raise ImproperlyConfigured(f"Unknown {channel} provider {selected!r}; choose one of {', '.join(choices)}")
    return factory()


def message_card_number_fields(message: CustomerMessage) -> list[str]:
    """The names of the fields `message`'s channel would send that hold a card number (empty: it may be sent).
    Every field counts: subject and body, push data and token, email parts, addresses and headers."""
    return card_number_fields(REAL_CHANNELS[message.channel].outgoing_fields(message))
