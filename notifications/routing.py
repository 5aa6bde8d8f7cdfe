"""Customer notification routing: which channels a cardholder gets for an event (filled in by the templates and
channels work). Called by ingest inside the event's transaction."""

from notifications.models import CustomerMessage, Event


def plan_customer_messages(events: list[Event]) -> list[CustomerMessage]:
    """Unsaved CustomerMessage rows (one per channel per event about a cardholder); ingest bulk-creates them."""
    return []
