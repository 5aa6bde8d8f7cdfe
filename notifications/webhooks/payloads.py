"""Webhook bodies: what a partner's endpoint receives, serialised once per event and stored, so every attempt signs
and sends the same bytes."""

from datetime import UTC, datetime

from notifications import jsoncodec


def webhook_body(
    *,
    event_id: str,
    event_name: str,
    event_type: str,
    tenant_id: str,
    occurred_at: datetime,
    data: dict,
    entity_id: str = "",
    sequence: int | None = None,
) -> str:
    """The webhook envelope of DESIGN.md: `entityId` and `sequence` only when the event named an entity."""
    envelope = {
        "eventId": event_id,
        "eventName": event_name,
        "eventType": event_type,
        "tenantId": tenant_id,
        "occurredAt": occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    if entity_id:
        envelope["entityId"] = entity_id
        envelope["sequence"] = sequence
    return jsoncodec.dumps(envelope)
