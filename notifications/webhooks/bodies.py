"""A body a delivery needs but ingest did not store: the subscription's payloadFormat changed after its events were
ingested, or the event was written outside ingest (a test event, a replay). Rendered here once per event and
format, stored, and from then on read like any other (webhooks.sql)."""

import dataclasses

from notifications.models import Event, EventBody
from notifications.webhooks.formats import EventFields, render_checked
from notifications.webhooks.sql import Claimed


def _fields(event: Event) -> EventFields:
    return EventFields(
        event_id=event.event_id, event_name=event.event_name, event_type=event.event_type,
        tenant_id=event.partner.tenant_id, occurred_at=event.occurred_at, data=event.data, entity_id=event.entity_id,
        sequence=event.sequence,
    )


def bodies_complete(claimed: list[Claimed]) -> list[Claimed]:
    """`claimed` with every missing body rendered, stored and filled in. When two workers render the same body at
    once, the first one stored wins and both send it (ON CONFLICT DO NOTHING, then read back)."""
    missing = [c for c in claimed if c.body is None]
    if not missing:
        return claimed
    events = Event.objects.select_related("partner").in_bulk({c.event_pk for c in missing})
    wanted = {(c.event_pk, c.payload_format) for c in missing if c.event_pk in events}
    EventBody.objects.bulk_create(
        [EventBody(event_id=pk, payload_format=fmt, body=body, holds_card_number=holds)
         for pk, fmt in sorted(wanted)
         for body, holds in [render_checked(fmt, _fields(events[pk]))]],
        ignore_conflicts=True,
    )
    stored = {
        (pk, fmt): (body, holds)
        for pk, fmt, body, holds in EventBody.objects.filter(event_id__in=events).values_list(
            "event_id", "payload_format", "body", "holds_card_number")
        if (pk, fmt) in wanted
    }
    completed = []
    for c in claimed:
        if c.body is None and (c.event_pk, c.payload_format) in stored:
            body, holds = stored[(c.event_pk, c.payload_format)]
            c = dataclasses.replace(c, body=body, holds_card_number=holds)
        completed.append(c)
    return completed
