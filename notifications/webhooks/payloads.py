"""Webhook bodies: what a partner's endpoint receives, serialised once per event and format and stored, so every
attempt signs and sends the same bytes. The interface ingest renders bodies through; the formats themselves live in
`notifications.webhooks.formats`."""

from datetime import datetime

from notifications import jsoncodec
from notifications.webhooks.formats import EventFields, render_checked
from notifications.webhooks.formats.standard import standard_envelope
from subscriptions.models import PayloadFormat

__all__ = ["STANDARD", "EventFields", "render_checked", "webhook_body"]

STANDARD = PayloadFormat.STANDARD.value


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
    """The `standard` body, the webhook envelope of DESIGN.md: `entityId` and `sequence` only when the event named an
    entity. Stored on the event itself."""
    return jsoncodec.dumps(standard_envelope(EventFields(
        event_id=event_id, event_name=event_name, event_type=event_type, tenant_id=tenant_id,
        occurred_at=occurred_at, data=data, entity_id=entity_id, sequence=sequence,
    )))
