"""What every channel adapter shares: the result of a send and the error that decides retry versus give up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from notifications.models import CustomerMessage


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str


class TransportError(Exception):
    """A send that did not go through. `permanent` means trying again cannot help (invalid number, unregistered
    device, rejected address); otherwise the message is retried on the backoff schedule. `retry_after` carries
    the provider's own hint (seconds) when it gave one."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after


class ChannelAdapter:
    """One channel's way out. Subclasses implement `send` and nothing else."""

    name = ""

    def send(self, message: CustomerMessage) -> SendResult:
        raise NotImplementedError


def excerpt(text: str, limit: int = 200) -> str:
    """Short single-line excerpt of a provider answer for last_error."""
    return " ".join((text or "").split())[:limit]
