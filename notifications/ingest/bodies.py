"""The events' webhook bodies in the formats other than `standard`: rendered once per event and format, and only
for the formats a subscription receiving the event uses (webhooks.payloads renders them), then stored beside the
events with COPY. The standard body is written on the event itself."""

from notifications import bulk
from notifications.ingest.parsing import ParsedMessage
from notifications.models import EventBody
from notifications.webhooks.payloads import EventFields, render_checked

EVENT_BODY_COLUMNS = ("event_id", "payload_format", "body", "holds_card_number")


def event_bodies_store(
    *,
    stored: list[tuple[int, ParsedMessage, str, object]],
    sequences: list[int | None],
    formats: dict[int, set[str]],
) -> int:
    """Render and store the bodies `formats` asks for (event pk -> formats); `stored` ((pk, message, event type,
    tenant)) and `sequences` are aligned, in batch order. Returns how many bodies were written."""
    if not formats:
        return 0
    rows: list[tuple] = []
    for (pk, p, event_type, _tenant), sequence in zip(stored, sequences, strict=True):
        wanted = formats.get(pk)
        if not wanted:
            continue
        fields = EventFields(
            event_id=p.event_id, event_name=p.event_name, event_type=event_type, tenant_id=p.tenant_id,
            occurred_at=p.occurred_at, data=p.data, entity_id=p.entity_id, sequence=sequence,
        )
        for payload_format in sorted(wanted):
            rows.append((pk, payload_format, *render_checked(payload_format, fields)))
    bulk.copy_rows(EventBody._meta.db_table, EVENT_BODY_COLUMNS, rows)
    return len(rows)
