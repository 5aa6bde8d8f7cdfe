"""Customer-message channel adapters, one small class per channel (healthchecks' transports style):
`send(message) -> SendResult` or `TransportError(message, permanent=…)`. `channel_adapter()` picks the class the
settings name: SMS_PROVIDER (twilio | console), PUSH_PROVIDER (fcm | console), EMAIL_CHANNEL (smtp | console);
IN_APP always stores in the cardholder's inbox."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from notifications.messaging.channels.base import ChannelAdapter, SendResult, TransportError
from notifications.messaging.channels.console import ConsoleChannel
from notifications.messaging.channels.email import EmailChannel
from notifications.messaging.channels.in_app import InAppChannel
from notifications.messaging.channels.push import FcmPushChannel
from notifications.messaging.channels.sms import TwilioSmsChannel

__all__ = ["ChannelAdapter", "SendResult", "TransportError", "channel_adapter"]


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
