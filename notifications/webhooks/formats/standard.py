"""The `standard` body (DESIGN.md "Webhook request"): the platform's own envelope."""

from notifications.webhooks.formats.fields import EventFields


def standard_envelope(fields: EventFields) -> dict:
    """`entityId` and `sequence` only when the event named an entity."""
    envelope = {
        "eventId": fields.event_id,
        "eventName": fields.event_name,
        "eventType": fields.event_type,
        "tenantId": fields.tenant_id,
        "occurredAt": fields.occurred_at_text,
        "data": fields.data,
    }
    if fields.entity_id:
        envelope["entityId"] = fields.entity_id
        envelope["sequence"] = fields.sequence
    return envelope
