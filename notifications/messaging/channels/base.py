"""What every channel adapter shares: the result of a send, the error that decides retry versus give up, and the
card-number check of every field an adapter sends."""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

import requests
from django.conf import settings

from notifications import guards
from notifications.models import CustomerMessage


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str


class TransportError(Exception):
    """A send that did not go through. `permanent` means trying again cannot help (invalid number, unregistered
    device, rejected address); otherwise the message is retried on the backoff schedule. `retry_after` carries
    the provider's own hint (seconds) when it gave one; `error_code` the provider's code (21211, 550,
    UNREGISTERED); `invalid_destination` that the provider called the destination itself dead, so the cardholder's
    phone, address or token is marked and not tried again."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None,
                 error_code: str = "", invalid_destination: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.error_code = str(error_code or "")[:40]
        self.invalid_destination = invalid_destination


class CardNumberRefused(TransportError):
    """A field the adapter was about to send holds a card number (notifications.guards): nothing was sent, and
    sending again cannot help. `fields` names them (never their content)."""

    def __init__(self, fields: list[str]):
        super().__init__(guards.REFUSAL_REASON, permanent=True)
        self.fields = fields


def card_number_fields(fields: Mapping[str, str]) -> list[str]:
    """The names of the fields whose text holds a card number."""
    return [name for name, text in fields.items() if guards.contains_card_number(text)]


def refuse_card_numbers(fields: Mapping[str, str]) -> None:
    """Raise CardNumberRefused if any of `fields` (name -> the exact text about to be sent) holds a card number."""
    held = card_number_fields(fields)
    if held:
        raise CardNumberRefused(held)


class ChannelAdapter(ABC):
    """One channel's way out. Subclasses implement `outgoing_fields` and `send`; `send` builds what it sends from
    the same fields and calls `refuse_card_numbers` on them right before anything leaves."""

    name = ""

    @classmethod
    @abstractmethod
    def outgoing_fields(cls, message: CustomerMessage) -> dict[str, str]:
        """Every text this channel sends for `message` (content, data, headers), by name. Phone numbers (SMS To
        and From) are left out: an E.164 number has up to 15 digits, and one in ten such would pass Luhn."""

    @abstractmethod
    def send(self, message: CustomerMessage) -> SendResult:
        """Send one message; raise TransportError when it did not go through (CardNumberRefused when a field
        holds a card number)."""


class HttpChannelAdapter(ChannelAdapter):
    """A channel behind an HTTP provider API: one POST, 2xx = sent, anything else decided by `_error`."""

    provider = ""  # for error texts, e.g. "SMS provider"
    id_field = ""  # where the provider's 2xx answer carries its message id

    def __init__(self, session: requests.Session | None = None):
        self.session = session or requests.Session()

    def _post(self, url: str, **request_kwargs) -> SendResult:
        try:
            response = self.session.post(
                url,
                timeout=(settings.CUSTOMER_CHANNEL_CONNECT_TIMEOUT_SECONDS,
                         settings.CUSTOMER_CHANNEL_READ_TIMEOUT_SECONDS),
                allow_redirects=False,
                **request_kwargs,
            )
        except requests.RequestException as exc:
            raise TransportError(f"{self.provider} unreachable: {type(exc).__name__}", permanent=False) from exc
        if 200 <= response.status_code < 300:
            try:
                return SendResult(provider_message_id=str(response.json().get(self.id_field, "")))
            except ValueError:
                # Accepted but unreadable: the message probably left, so it is not retried (no duplicates).
                return SendResult(provider_message_id="")
        raise self._error(response)

    @staticmethod
    @abstractmethod
    def _error(response: requests.Response) -> TransportError:
        """Classify a non-2xx answer as permanent or retryable."""


def excerpt(text: str, limit: int = 200) -> str:
    """Short single-line excerpt of a provider answer for last_error."""
    return " ".join((text or "").split())[:limit]
