"""Advance notices: KIT_EXPIRY_ADVANCE_NOTIFICATION and KIT_INACTIVATION_ADVANCE_NOTIFICATION N days before a card's
expiry or inactivation date, for the partners subscribed to them, in the periods they asked for."""

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from notifications.outbox import outbox_add_many, outbox_message
from notifications.sweep import sql
from notifications.sweep.report import (
    DORMANCY_ADVANCE,
    EXPIRY_ADVANCE,
    SEND,
    SkipReason,
    SweepProgress,
    SweepRun,
    notice_event_id,
)
from subscriptions.catalog import ALL_EVENTS
from subscriptions.models import EventSubscription
from wallets.models import Card

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdvanceKind:
    event_name: str
    date_field: str  # the data key that carries the target date
    # Days from the target date to the day the event itself happens: a card is still valid on its expiry date and
    # expires the day after, while a dormant card is inactivated on its inactivation date.
    event_day_offset: int


EXPIRY_KIND = AdvanceKind(EXPIRY_ADVANCE, "expiryDate", event_day_offset=1)
DORMANCY_KIND = AdvanceKind(DORMANCY_ADVANCE, "inactivationDate", event_day_offset=0)


class Window(NamedTuple):
    """One partner's period N whose notices are due, today or late, for cards with this target date."""

    partner_id: int
    days_before: int
    mode: str
    target: date




def partner_periods(*, event_name: str, partner_ids: list[int]) -> dict[int, tuple[str, list[int]]]:
    """Per partner: whether its advance notices are sent (or why not) and the periods that apply.

    The subscription to the event itself decides; ALL_EVENTS counts when there is no enabled one. A subscription
    without periods (ALL_EVENTS never has any) uses settings.ADVANCE_DEFAULT_PERIODS."""
    default = [int(n) for n in settings.ADVANCE_DEFAULT_PERIODS]
    subscriptions: dict[int, dict[str, EventSubscription]] = defaultdict(dict)
    rows = EventSubscription.objects.filter(partner_id__in=partner_ids, event_name__in=[event_name, ALL_EVENTS])
    for sub in rows.only("partner_id", "event_name", "is_enabled", "advance_notification_periods"):
        subscriptions[sub.partner_id][sub.event_name] = sub
    result: dict[int, tuple[str, list[int]]] = {}
    for partner_id in partner_ids:
        subs = subscriptions.get(partner_id, {})
        enabled = [subs[name] for name in (event_name, ALL_EVENTS) if name in subs and subs[name].is_enabled]
        if enabled:
            mode, chosen = SEND, enabled[0]
        elif subs:
            mode, chosen = SkipReason.SUBSCRIPTION_DISABLED.value, subs.get(event_name) or subs[ALL_EVENTS]
        else:
            mode, chosen = SkipReason.NO_SUBSCRIPTION.value, None
        periods = list(chosen.advance_notification_periods) if chosen is not None else []
        result[partner_id] = (mode, sorted({n for n in periods or default if n > 0}, reverse=True))
    return result


def period_windows(
    *, periods: list[int], run_date: date, catchup_days: int, event_day_offset: int
) -> list[tuple[int, date, date]]:
    """For each period N: the range of target dates whose N-day notice a run on `run_date` sends.

    N's notice is due on target - N. It is sent when that day is today or up to `catchup_days` ago (late), while the
    event is still ahead, and only if no nearer period is due by today as well: after a gap a cardholder gets the
    most recent reminder, not a burst of stale ones."""
    ordered = sorted({n for n in periods if n > 0}, reverse=True)
    windows = []
    for index, days in enumerate(ordered):
        nearer = ordered[index + 1] if index + 1 < len(ordered) else None
        floor = nearer + 1 if nearer is not None else 1 - event_day_offset
        low = run_date + timedelta(days=max(days - catchup_days, floor))
        high = run_date + timedelta(days=days)
        if low <= high:
            windows.append((days, low, high))
    return windows


def advance_windows(run: SweepRun, kind: AdvanceKind) -> list[Window]:
    """One window per partner, period and target date that has notices due today (or late)."""
    windows: list[Window] = []
    periods_by_partner = partner_periods(event_name=kind.event_name, partner_ids=list(run.partners))
    for partner_id, (mode, periods) in periods_by_partner.items():
        ranges = period_windows(
            periods=periods,
            run_date=run.run_date,
            catchup_days=settings.ADVANCE_CATCHUP_DAYS,
            event_day_offset=kind.event_day_offset,
        )
        for days, low, high in ranges:
            run.report.row(kind.event_name, days)
            for offset in range((high - low).days + 1):
                windows.append(Window(partner_id, days, mode, low + timedelta(days=offset)))
    return windows



class Candidate(NamedTuple):
    id: int
    card_id: uuid.UUID
    kit_no: str
    last4: str
    partner_id: int
    days_before: int | None  # None: no window of the card's partner covers its target date
    mode: str | None
    target: date
    customer_id: str
    cardholder_name: str
    noticed: bool



def local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


class AdvanceStep:
    """The notices of one advance event (for dormancy: of one dormancy period). The target dates are cut into runs
    of consecutive dates holding about a chunk of cards each; each run is read in pages of cards, one transaction
    per page."""

    def __init__(self, run: SweepRun, kind: AdvanceKind, windows: list[Window], *, dormancy_days: int | None):
        self.run, self.kind, self.dormancy_days = run, kind, dormancy_days
        self.event_name = kind.event_name
        self.label = kind.event_name if dormancy_days is None else f"{kind.event_name} ({dormancy_days} d)"
        self.targets = sorted({w.target for w in windows})
        self.params = {
            "event": kind.event_name,
            "w_partner": [w.partner_id for w in windows],
            "w_days": [w.days_before for w in windows],
            "w_mode": [w.mode for w in windows],
            "w_target": [w.target for w in windows],
            "partners": sorted({w.partner_id for w in windows}),
            "active": Card.Status.ACTIVE.value,
            "limit": run.chunk_size,
        }
        if kind is DORMANCY_KIND:
            self.params.update(tz=settings.TIME_ZONE, dormancy_days=dormancy_days)
        table_names = sql.tables()
        parts = sql.EXPIRY_SQL if kind is EXPIRY_KIND else sql.DORMANCY_SQL
        self.page_sql = sql.PAGE_SQL.format(
            target_expr=parts["target_expr"],
            page_join=parts["page_join"].format(**table_names),
            range_filter=parts["range_filter"],
            **table_names,
        )
        count_sql = sql.EXPIRY_COUNT_SQL if kind is EXPIRY_KIND else sql.DORMANCY_COUNT_SQL
        partner_filter = "AND c.partner_id = ANY(%(partners)s)" if run.partner_ids is not None else ""
        self.count_sql = count_sql.format(partner_filter=partner_filter, **table_names)
        self._per_date: dict[date, int] | None = None

    def _range_params(self, first: date, last: date) -> dict:
        if self.kind is EXPIRY_KIND:
            return {"first": first, "last": last}
        # The target dates fix the last-activity days, whose bounds are local midnights of the platform's zone.
        return {
            "active_from": local_midnight(first - timedelta(days=self.dormancy_days), self.run.tz),
            "active_to": local_midnight(last - timedelta(days=self.dormancy_days - 1), self.run.tz),
        }

    def _cards_per_date(self) -> dict[date, int]:
        if self._per_date is None:
            params = {**self.params, **self._range_params(self.targets[0], self.targets[-1])}
            with connection.cursor() as cursor:
                cursor.execute(self.count_sql, params)
                self._per_date = dict(cursor.fetchall())
        return self._per_date

    def _date_runs(self) -> list[tuple[date, date]]:
        """Runs of consecutive target dates, each holding about a chunk of cards (one date may hold more). Dates
        without cards are left out, so a quiet day costs no query."""
        per_date, runs = self._cards_per_date(), []
        size, run_open, previous = 0, False, None
        for target in self.targets:
            cards = per_date.get(target, 0)
            if previous is None or (target - previous).days > 1:
                run_open = False  # a gap between windows: never read the dates in between
            previous = target
            if not cards:
                continue
            if run_open and size + cards <= self.run.chunk_size:
                runs[-1] = (runs[-1][0], target)
                size += cards
            else:
                runs.append((target, target))
                size, run_open = cards, True
        return runs

    def count(self) -> int:
        return sum(self._cards_per_date().get(target, 0) for target in self.targets)

    def execute(self, progress: SweepProgress) -> None:
        for first, last in self._date_runs():
            params = {**self.params, **self._range_params(first, last)}
            after = 0
            while True:
                with transaction.atomic():
                    if not self.run.dry_run:
                        # Two sweeps at once take turns per event and page: the second then finds everything
                        # noticed instead of racing on the unique index (still exactly-once, but it could deadlock).
                        sql.advisory_xact_lock(self.kind.event_name)
                    with connection.cursor() as cursor:
                        cursor.execute(self.page_sql, {**params, "after": after})
                        page = [Candidate(*row) for row in cursor.fetchall()]
                    self._send([c for c in page if c.days_before is not None])
                progress.advance(len(page), self.label)
                if len(page) < self.run.chunk_size:
                    break
                after = page[-1].id

    def _send(self, candidates: list[Candidate]) -> None:
        run, event_name = self.run, self.kind.event_name
        to_send: list[Candidate] = []
        for candidate in candidates:
            row = run.report.row(event_name, candidate.days_before)
            row.due += 1
            if candidate.mode != SEND:
                row.skipped[SkipReason(candidate.mode)] += 1
            elif candidate.noticed:
                row.skipped[SkipReason.ALREADY_SENT] += 1
            elif run.dry_run:
                row.skipped[SkipReason.DRY_RUN] += 1
            else:
                to_send.append(candidate)
        if not to_send:
            return
        event_ids = {
            c.id: notice_event_id(
                card_uuid=c.card_id, event_name=event_name, days_before=c.days_before, target_date=c.target
            )
            for c in to_send
        }
        inserted = sql.insert_notices(
            event_name=event_name,
            run_date=run.run_date,
            notices=[
                (c.id, c.partner_id, c.days_before, c.target, due_day(c.target, c.days_before), event_ids[c.id])
                for c in to_send
            ],
        )
        now = timezone.now()
        messages = []
        for candidate in to_send:
            row = run.report.row(event_name, candidate.days_before)
            if (candidate.id, candidate.days_before) not in inserted:
                row.skipped[SkipReason.ALREADY_SENT] += 1  # another sweep won the race for this one
                continue
            late = due_day(candidate.target, candidate.days_before) < run.run_date
            row.sent += 1
            row.late += late
            data = {
                "kitNo": candidate.kit_no,
                "cardId": str(candidate.card_id),
                "last4": candidate.last4,
                self.kind.date_field: candidate.target.isoformat(),
                "daysBefore": candidate.days_before,
                "late": late,
                "customerId": candidate.customer_id,
                "cardholderName": candidate.cardholder_name,
            }
            messages.append(
                outbox_message(
                    tenant_id=run.partners[candidate.partner_id],
                    event_name=event_name,
                    event_id=event_ids[candidate.id],
                    entity_id=str(candidate.card_id),
                    data=data,
                    occurred_at=now,
                )
            )
        outbox_add_many(messages=messages)



def due_day(target: date, days_before: int) -> date:
    return target - timedelta(days=days_before)
