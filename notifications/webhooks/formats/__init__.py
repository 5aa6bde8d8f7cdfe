"""Webhook body formats (DESIGN.md "Subscription options", `payloadFormat`): `standard`, `issuer` (seeds 002/003) and
`p2c` (seed 004). Each is a function of the stored event; the signature and headers are the same for all three.

A body is rendered once per event and format and stored (the standard one on the event, the others as EventBody
rows), so every attempt of every delivery signs and sends the same bytes."""

from collections.abc import Callable
from datetime import UTC, datetime

from notifications import guards, jsoncodec
from notifications.webhooks.formats.fields import EventFields
from notifications.webhooks.formats.issuer import issuer_envelope
from notifications.webhooks.formats.p2c import p2c_envelope
from notifications.webhooks.formats.standard import standard_envelope
from subscriptions.catalog import EventDefinition
from subscriptions.models import PayloadFormat

__all__ = ["ENVELOPES", "EventFields", "example_bodies", "render", "render_checked"]

ENVELOPES: dict[str, Callable[[EventFields], dict]] = {
    PayloadFormat.STANDARD: standard_envelope,
    PayloadFormat.ISSUER: issuer_envelope,
    PayloadFormat.P2C: p2c_envelope,
}


def render(payload_format: str, fields: EventFields) -> str:
    """The exact body (compact JSON) of `fields` in `payload_format`."""
    return jsoncodec.dumps(ENVELOPES[payload_format](fields))


def render_checked(payload_format: str, fields: EventFields) -> tuple[str, bool]:
    """The body and the card-number guard's verdict on it, taken once with the body (the sender trusts it)."""
    body = render(payload_format, fields)
    return body, guards.contains_card_number(body)


EXAMPLE_EVENT_ID = "6f0c2a8e-3f7e-4c61-9a55-0f4b0c9d2e11"
EXAMPLE_OCCURRED_AT = datetime(2026, 2, 12, 10, 30, tzinfo=UTC)


def example_fields(definition: EventDefinition, tenant_id: str = "acme") -> EventFields:
    data = definition.example_data()
    entity = data.get("cardId") or data.get("walletId") or ""
    return EventFields(
        event_id=EXAMPLE_EVENT_ID, event_name=definition.name, event_type=definition.event_type, tenant_id=tenant_id,
        occurred_at=EXAMPLE_OCCURRED_AT, data=data, entity_id=str(entity), sequence=1 if entity else None,
    )


def example_bodies(definition: EventDefinition) -> dict[str, dict]:
    """The event's example body in every format, as a receiver would parse it."""
    fields = example_fields(definition)
    return {fmt: jsoncodec.loads(render(fmt, fields).encode()) for fmt in ENVELOPES}
