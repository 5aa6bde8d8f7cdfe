"""The cardholder's in-app inbox, written by the partner's app through the partner API: mark one or all read.
(Entries are written by the IN_APP channel, notifications/messaging/channels/in_app.py.)"""

from django.utils import timezone

from notifications.models import InboxMessage
from wallets.models import Cardholder


def inbox_mark_read(*, entry: InboxMessage) -> InboxMessage:
    """Mark one entry read (a second call keeps the first time)."""
    if entry.read_at is None:
        now = timezone.now()
        InboxMessage.objects.filter(pk=entry.pk, read_at=None).update(read_at=now)
        entry.refresh_from_db(fields=["read_at"])
    return entry


def inbox_mark_all_read(*, cardholder: Cardholder) -> int:
    """Mark every unread entry of the cardholder read; returns how many were unread."""
    return InboxMessage.objects.filter(cardholder=cardholder, read_at=None).update(read_at=timezone.now())
