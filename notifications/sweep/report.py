"""What a sweep run is and what it reports: the event names, the skip reasons, the per-(event, period) rows of the
report, the run's scope and progress, and the deterministic eventIds of notices."""

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Protocol

EXPIRY_ADVANCE = "KIT_EXPIRY_ADVANCE_NOTIFICATION"
DORMANCY_ADVANCE = "KIT_INACTIVATION_ADVANCE_NOTIFICATION"
EXPIRY = "KIT_EXPIRY_NOTIFICATION"
DORMANCY = "KIT_INACTIVATION_NOTIFICATION"
EVENT_ORDER = (EXPIRY_ADVANCE, EXPIRY, DORMANCY_ADVANCE, DORMANCY)

# Namespace of the sweep's deterministic eventIds; never change it, or replays would get new ids.
EVENT_ID_NAMESPACE = uuid.UUID("6c1b7a52-3f0e-5d2a-9b8e-4a1d0c7f2e93")
# First key of the sweep's pg_advisory_xact_lock(int, int) pairs, to stay clear of other lock users.
LOCK_CLASS = 505_505

ProgressCallback = Callable[[int, int, str], None]


class SweepError(ValueError):
    """A sweep that cannot start (bad arguments)."""


class UnknownTenantError(SweepError):
    pass


class SkipReason(StrEnum):
    ALREADY_SENT = "already_sent"
    DRY_RUN = "dry_run"
    SUBSCRIPTION_DISABLED = "subscription_disabled"
    NO_SUBSCRIPTION = "no_subscription"
    STATE_CHANGE_FAILED = "state_change_failed"


# The mode of a partner's window: send, or the reason its due cards are only counted.
SEND = "send"


@dataclass
class SweepRow:
    """Counts of one event and period: due cards, notices sent (of which late), and skipped ones by reason."""

    event_name: str
    days_before: int
    due: int = 0
    sent: int = 0
    late: int = 0
    skipped: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "eventName": self.event_name,
            "daysBefore": self.days_before,
            "due": self.due,
            "sent": self.sent,
            "late": self.late,
            "skipped": {str(reason): count for reason, count in sorted(self.skipped.items()) if count},
        }


@dataclass
class SweepReport:
    """What one sweep did, per event and period. ``as_dict()`` is the JSON of the task result and of
    ``run_advance_sweep --json``."""

    run_date: date
    tenant_id: str | None
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None = None
    rows: dict[tuple[str, int], SweepRow] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # time spent per event

    def row(self, event_name: str, days_before: int) -> SweepRow:
        key = (event_name, days_before)
        if key not in self.rows:
            self.rows[key] = SweepRow(event_name=event_name, days_before=days_before)
        return self.rows[key]

    def sorted_rows(self) -> list[SweepRow]:
        """Rows in catalog order of the event, longest period first."""
        return sorted(self.rows.values(), key=lambda r: (EVENT_ORDER.index(r.event_name), -r.days_before))

    @property
    def total_due(self) -> int:
        return sum(r.due for r in self.rows.values())

    @property
    def total_sent(self) -> int:
        return sum(r.sent for r in self.rows.values())

    @property
    def failures(self) -> int:
        return sum(r.skipped[SkipReason.STATE_CHANGE_FAILED] for r in self.rows.values())

    def as_dict(self) -> dict:
        duration = (self.finished_at - self.started_at).total_seconds() if self.finished_at else None
        return {
            "runDate": self.run_date.isoformat(),
            "tenantId": self.tenant_id,
            "dryRun": self.dry_run,
            "startedAt": self.started_at.isoformat(),
            "finishedAt": self.finished_at.isoformat() if self.finished_at else None,
            "durationSeconds": round(duration, 3) if duration is not None else None,
            "totals": {"due": self.total_due, "sent": self.total_sent, "failures": self.failures},
            "rows": [row.as_dict() for row in self.sorted_rows()],
            "secondsByEvent": {name: round(self.seconds[name], 3) for name in EVENT_ORDER if name in self.seconds},
        }


def notice_event_id(*, card_uuid: uuid.UUID | str, event_name: str, days_before: int, target_date: date) -> str:
    """The deterministic eventId of one notice: the same card, event, period and target always give the same id."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{card_uuid}:{event_name}:{days_before}:{target_date.isoformat()}"))



@dataclass
class SweepRun:
    run_date: date
    dry_run: bool
    partners: dict[int, str]  # active partners in scope: pk -> tenant id
    partner_ids: list[int] | None  # scope of the on-the-day changes; None means every partner
    report: SweepReport
    chunk_size: int
    tz: tzinfo


class SweepProgress:
    def __init__(self, callback: ProgressCallback | None, total: int):
        self.callback, self.total, self.done = callback, total, 0
        if callback:
            callback(0, total, "counted due cards")

    def advance(self, cards: int, label: str) -> None:
        self.done += cards
        if self.callback:
            # Cards may change between the count and the step; never report more than 100%.
            self.callback(min(self.done, self.total), self.total, label)

    def finish(self) -> None:
        # The counts may over-count (they skip some filters to stay cheap): end the bar at 100%.
        if self.callback:
            self.callback(self.total, self.total, "done")


class SweepStep(Protocol):
    event_name: str

    def count(self) -> int: ...

    def execute(self, progress: SweepProgress) -> None: ...
