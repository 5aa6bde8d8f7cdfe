"""How the services write values into audit snapshots (which are stored as JSON)."""

from datetime import datetime


def iso_or_none(value: datetime | None) -> str | None:
    """A datetime as ISO 8601 text; None stays None."""
    return value.isoformat() if value else None
