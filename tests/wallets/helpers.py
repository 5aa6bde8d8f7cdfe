"""Helpers of the wallets tests."""

from notifications.models import OutboxMessage


def outbox(event_name: str | None = None, *, entity_id: str | None = None) -> list[dict]:
    """Payloads written to the outbox, oldest first, optionally of one event name and entity."""
    rows = OutboxMessage.objects.order_by("id")
    if event_name:
        rows = rows.filter(payload__eventName=event_name)
    if entity_id:
        rows = rows.filter(payload__entityId=entity_id)
    return [row.payload for row in rows]


def outbox_names(*, entity_id: str | None = None) -> list[str]:
    return [payload["eventName"] for payload in outbox(entity_id=entity_id)]
