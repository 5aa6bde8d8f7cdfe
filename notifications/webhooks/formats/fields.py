"""What every body format is rendered from: the event as ingest stored it."""

from dataclasses import dataclass
from datetime import UTC, datetime


# Not frozen, with slots: one is built for every event ingested, and a frozen dataclass is slower to build.
@dataclass(slots=True)
class EventFields:
    event_id: str
    event_name: str
    event_type: str
    tenant_id: str
    occurred_at: datetime
    data: dict
    entity_id: str = ""
    sequence: int | None = None

    @property
    def occurred_at_text(self) -> str:
        """ISO 8601 in UTC with a `Z`, as every format writes times."""
        return self.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
