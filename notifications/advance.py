"""The daily advance-notification sweep (seed 001: "Advance events are scheduled — sent N days before the event";
"The system processes advance events daily").

One run, for one date, does three things:

* expiry advance — KIT_EXPIRY_ADVANCE_NOTIFICATION for ACTIVE cards whose expiry date is N days ahead;
* dormancy advance — KIT_INACTIVATION_ADVANCE_NOTIFICATION for ACTIVE cards whose inactivation date
  (local date of the last activity + the product's dormancy days) is N days ahead;
* on the day — cards whose expiry date has passed move to EXPIRED (KIT_EXPIRY_NOTIFICATION) and cards whose
  inactivation date has come are inactivated (KIT_INACTIVATION_NOTIFICATION), through the wallets services.

Advance events go only to partners with an enabled subscription to the event (or to ALL_EVENTS); the periods N come
from that subscription, or from ``settings.ADVANCE_DEFAULT_PERIODS`` when it carries none. On-the-day events go to
every partner: they are ordinary instant events and the pipeline matches them to subscriptions.

Exactly once: every notice is an ``AdvanceNotice`` row, unique per (card, event, period, target date). A step inserts
the due notices with ``ON CONFLICT DO NOTHING RETURNING`` and writes outbox rows for exactly the rows that came back,
in the same transaction, so a crash can neither send without recording nor record without sending. The eventIds are
uuid5 of (card, event, period, target date), so even a replayed outbox row is absorbed by the eventId uniqueness of
ingest. Catch-up: notices whose due day lies within ``ADVANCE_CATCHUP_DAYS`` before the run date and were not sent
go out with ``late=true`` while the event itself is still ahead. docs/advance-notifications.md has the details.
"""

import logging
import uuid
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from time import monotonic
from typing import NamedTuple, Protocol

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from config.logging import log_context
from notifications.models import AdvanceNotice, OutboxMessage
from notifications.outbox import outbox_add_many, outbox_message
from subscriptions.catalog import ALL_EVENTS
from subscriptions.models import EventSubscription, Partner
from wallets.models import Card, Cardholder, Product, Wallet
from wallets.services import card_expire, card_inactivate_for_dormancy

logger = logging.getLogger(__name__)

EXPIRY_ADVANCE = "KIT_EXPIRY_ADVANCE_NOTIFICATION"
DORMANCY_ADVANCE = "KIT_INACTIVATION_ADVANCE_NOTIFICATION"
EXPIRY = "KIT_EXPIRY_NOTIFICATION"
DORMANCY = "KIT_INACTIVATION_NOTIFICATION"
EVENT_ORDER = (EXPIRY_ADVANCE, EXPIRY, DORMANCY_ADVANCE, DORMANCY)

# Namespace of the sweep's deterministic eventIds; never change it, or replays would get new ids.
EVENT_ID_NAMESPACE = uuid.UUID("6c1b7a52-3f0e-5d2a-9b8e-4a1d0c7f2e93")
# First key of the sweep's pg_advisory_xact_lock(int, int) pairs, to stay clear of other lock users.
_LOCK_CLASS = 505_505
# Cards the on-the-day step may move: a dormant card still expires; blocked, closed or replaced ones do not.
EXPIRABLE_STATUSES = (Card.Status.ACTIVE, Card.Status.INACTIVE)

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
_SEND = "send"


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


def sweep_run(
    *,
    run_date: date | None = None,
    tenant_id: str | None = None,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
) -> SweepReport:
    """Run the daily sweep for `run_date` (default: today in settings.TIME_ZONE), for one tenant or all.

    Safe to run any number of times, also concurrently: each notice is sent at most once. With `dry_run` nothing is
    written; the report then counts what would be sent as skipped with reason ``dry_run``. With `progress`, the due
    cards are counted first and `progress(done, total, label)` is called after each chunk. Raises
    UnknownTenantError for a tenant id that does not exist."""
    tz = timezone.get_default_timezone()
    run_date = run_date or timezone.localdate(timezone=tz)
    scope = Partner.objects.all()
    if tenant_id is not None:
        scope = scope.filter(tenant_id=tenant_id)
        if not scope.exists():
            raise UnknownTenantError(f"Unknown tenant {tenant_id!r}.")
    report = SweepReport(run_date=run_date, tenant_id=tenant_id, dry_run=dry_run, started_at=timezone.now())
    run = _Run(
        run_date=run_date,
        dry_run=dry_run,
        # Advance notices need a subscription, which an inactive partner cannot use; state changes apply to all.
        partners={p.pk: p.tenant_id for p in scope.filter(is_active=True)},
        partner_ids=list(scope.values_list("pk", flat=True)) if tenant_id is not None else None,
        report=report,
        chunk_size=max(1, settings.ADVANCE_SWEEP_CHUNK_SIZE),
        tz=tz,
    )
    with log_context(tenant=tenant_id):
        steps = _plan_steps(run)
        tracker = _Progress(progress, total=sum(step.count() for step in steps) if progress else 0)
        for step in steps:
            started = monotonic()
            step.execute(tracker)
            report.seconds[step.event_name] = report.seconds.get(step.event_name, 0.0) + monotonic() - started
        tracker.finish()
        report.finished_at = timezone.now()
        logger.info(
            "Advance sweep for %s%s: %d due, %d sent, %d state changes failed",
            run_date,
            " (dry run)" if dry_run else "",
            report.total_due,
            report.total_sent,
            report.failures,
        )
    return report


# ---------------------------------------------------------------------------------------------------------------
# Planning


@dataclass
class _Run:
    run_date: date
    dry_run: bool
    partners: dict[int, str]  # active partners in scope: pk -> tenant id
    partner_ids: list[int] | None  # scope of the on-the-day changes; None means every partner
    report: SweepReport
    chunk_size: int
    tz: tzinfo


class _Progress:
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


class _Step(Protocol):
    event_name: str

    def count(self) -> int: ...

    def execute(self, progress: _Progress) -> None: ...


@dataclass(frozen=True)
class _AdvanceKind:
    event_name: str
    date_field: str  # the data key that carries the target date
    # Days from the target date to the day the event itself happens: a card is still valid on its expiry date and
    # expires the day after, while a dormant card is inactivated on its inactivation date.
    event_day_offset: int


EXPIRY_KIND = _AdvanceKind(EXPIRY_ADVANCE, "expiryDate", event_day_offset=1)
DORMANCY_KIND = _AdvanceKind(DORMANCY_ADVANCE, "inactivationDate", event_day_offset=0)


class _Window(NamedTuple):
    """One partner's period N whose notices are due, today or late, for cards with this target date."""

    partner_id: int
    days_before: int
    mode: str
    target: date


def _plan_steps(run: _Run) -> list[_Step]:
    """Every step of the run. The on-the-day state changes come first: a card that expires today must not also be
    offered a dormancy reminder."""
    dormancy_groups = _dormancy_groups(run)
    steps: list[_Step] = [_ExpiryStep(run), *(_DormancyStep(run, days) for days in dormancy_groups)]
    run.report.row(EXPIRY, 0)
    run.report.row(DORMANCY, 0)
    for kind in (EXPIRY_KIND, DORMANCY_KIND):
        windows = _advance_windows(run, kind)
        if not windows:
            continue
        for group in dormancy_groups if kind is DORMANCY_KIND else [None]:
            steps.append(_AdvanceStep(run, kind, windows, dormancy_days=group))
    return steps


def _dormancy_groups(run: _Run) -> list[int]:
    """The distinct dormancy periods of the products in scope: one query per period keeps the range on
    last_activity_at sargable, where a join would compute every card's inactivation date."""
    # A product with 0 dormancy days has dormancy switched off (0 would otherwise inactivate every card at once).
    products = Product.objects.filter(dormancy_days__gt=0)
    if run.partner_ids is not None:
        products = products.filter(partner_id__in=run.partner_ids)
    return sorted(set(products.values_list("dormancy_days", flat=True)))


def _partner_periods(*, event_name: str, partner_ids: list[int]) -> dict[int, tuple[str, list[int]]]:
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
            mode, chosen = _SEND, enabled[0]
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


def _advance_windows(run: _Run, kind: _AdvanceKind) -> list[_Window]:
    """One window per partner, period and target date that has notices due today (or late)."""
    windows: list[_Window] = []
    periods_by_partner = _partner_periods(event_name=kind.event_name, partner_ids=list(run.partners))
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
                windows.append(_Window(partner_id, days, mode, low + timedelta(days=offset)))
    return windows


# ---------------------------------------------------------------------------------------------------------------
# Advance notices


class _Candidate(NamedTuple):
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


# One page of the cards whose target date lies in [first, last], by id, read once through the (status, <date>)
# index; only then are they matched to the (partner, period, target date) windows and joined to their cardholder.
# Joining the windows first would make PostgreSQL re-read a day's cards once per partner, and every page would
# redo the whole join. `noticed` tells an already-sent notice apart without a second query; the insert's ON
# CONFLICT still decides when two sweeps race.
_PAGE_SQL = """
WITH page AS MATERIALIZED (
    SELECT c.id, c.card_id, c.kit_no, c.last4, c.partner_id, c.wallet_id, {target_expr} AS target
      FROM {card} c
      {page_join}
     WHERE c.status = %(active)s AND c.partner_id = ANY(%(partners)s) AND c.id > %(after)s AND {range_filter}
     ORDER BY c.id
     LIMIT %(limit)s
)
SELECT page.id, page.card_id, page.kit_no, page.last4, page.partner_id, w.days_before, w.mode, page.target,
       ch.external_id, ch.name, sent.hit IS NOT NULL AS noticed
  FROM page
  LEFT JOIN unnest(%(w_partner)s::bigint[], %(w_days)s::integer[], %(w_mode)s::text[], %(w_target)s::date[])
       AS w(partner_id, days_before, mode, target)
       ON w.partner_id = page.partner_id AND w.target = page.target
  -- LATERAL: one probe of the unique index per card; a plain EXISTS may be planned as a hash of every notice of
  -- the event, a table that grows every day.
  LEFT JOIN LATERAL (SELECT 1 AS hit FROM {notice} n
                      WHERE n.card_id = page.id AND n.event_name = %(event)s
                        AND n.days_before = w.days_before AND n.target_date = page.target
                      LIMIT 1) sent ON true
  JOIN {wallet} wa ON wa.id = page.wallet_id
  JOIN {cardholder} ch ON ch.id = wa.cardholder_id
 ORDER BY page.id
"""
_EXPIRY_SQL = {
    "target_expr": "c.expiry_date",
    "page_join": "",
    "range_filter": "c.expiry_date BETWEEN %(first)s AND %(last)s",
}
# Inactivation date = local date of the last activity + the product's dormancy days. Cards are taken one dormancy
# period at a time so the range on last_activity_at can use the (status, last_activity_at) index; a card that
# expires before it would go dormant gets expiry reminders instead.
_DORMANCY_TARGET = "((c.last_activity_at AT TIME ZONE %(tz)s)::date + %(dormancy_days)s::integer)"
_DORMANCY_SQL = {
    "target_expr": _DORMANCY_TARGET,
    "page_join": "JOIN {wallet} pw ON pw.id = c.wallet_id JOIN {product} p ON p.id = pw.product_id",
    "range_filter": (
        "p.dormancy_days = %(dormancy_days)s AND c.last_activity_at >= %(active_from)s"
        f" AND c.last_activity_at < %(active_to)s AND c.expiry_date >= {_DORMANCY_TARGET}"
    ),
}
# Cards per target date, to cut the dates into pages of about a chunk each and to size the progress bar. Reads the
# (status, <date>) index only; it over-counts (every partner, every product), which only makes pages smaller.
# A run for one tenant filters by partner too (heap reads, but only that tenant's cards are counted).
_EXPIRY_COUNT_SQL = """
SELECT c.expiry_date, count(*) FROM {card} c
 WHERE c.status = %(active)s AND c.expiry_date BETWEEN %(first)s AND %(last)s {partner_filter}
 GROUP BY 1
"""
_DORMANCY_COUNT_SQL = """
SELECT (c.last_activity_at AT TIME ZONE %(tz)s)::date + %(dormancy_days)s::integer, count(*) FROM {card} c
 WHERE c.status = %(active)s AND c.last_activity_at >= %(active_from)s AND c.last_activity_at < %(active_to)s
       {partner_filter}
 GROUP BY 1
"""

_INSERT_NOTICES_SQL = """
INSERT INTO {notice} (card_id, partner_id, event_name, days_before, target_date, due_date, sent_on, late, event_id,
                      created_at)
SELECT u.card_id, u.partner_id, %(event)s, u.days_before, u.target_date, u.due_date, %(sent_on)s, u.late, u.event_id,
       %(now)s
  FROM unnest(%(card_id)s::bigint[], %(partner_id)s::bigint[], %(days_before)s::integer[], %(target_date)s::date[],
              %(due_date)s::date[], %(late)s::boolean[], %(event_id)s::text[])
       AS u(card_id, partner_id, days_before, target_date, due_date, late, event_id)
ON CONFLICT (card_id, event_name, days_before, target_date) DO NOTHING
RETURNING card_id, days_before
"""


def _tables() -> dict[str, str]:
    return {
        "notice": AdvanceNotice._meta.db_table,
        "card": Card._meta.db_table,
        "wallet": Wallet._meta.db_table,
        "cardholder": Cardholder._meta.db_table,
        "product": Product._meta.db_table,
    }


def _local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


class _AdvanceStep:
    """The notices of one advance event (for dormancy: of one dormancy period). The target dates are cut into runs
    of consecutive dates holding about a chunk of cards each; each run is read in pages of cards, one transaction
    per page."""

    def __init__(self, run: _Run, kind: _AdvanceKind, windows: list[_Window], *, dormancy_days: int | None):
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
        tables = _tables()
        parts = _EXPIRY_SQL if kind is EXPIRY_KIND else _DORMANCY_SQL
        self.page_sql = _PAGE_SQL.format(
            target_expr=parts["target_expr"],
            page_join=parts["page_join"].format(**tables),
            range_filter=parts["range_filter"],
            **tables,
        )
        count_sql = _EXPIRY_COUNT_SQL if kind is EXPIRY_KIND else _DORMANCY_COUNT_SQL
        partner_filter = "AND c.partner_id = ANY(%(partners)s)" if run.partner_ids is not None else ""
        self.count_sql = count_sql.format(partner_filter=partner_filter, **tables)
        self._per_date: dict[date, int] | None = None

    def _range_params(self, first: date, last: date) -> dict:
        if self.kind is EXPIRY_KIND:
            return {"first": first, "last": last}
        # The target dates fix the last-activity days, whose bounds are local midnights of the platform's zone.
        return {
            "active_from": _local_midnight(first - timedelta(days=self.dormancy_days), self.run.tz),
            "active_to": _local_midnight(last - timedelta(days=self.dormancy_days - 1), self.run.tz),
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

    def execute(self, progress: _Progress) -> None:
        for first, last in self._date_runs():
            params = {**self.params, **self._range_params(first, last)}
            after = 0
            while True:
                with transaction.atomic():
                    if not self.run.dry_run:
                        # Two sweeps at once take turns per event and page: the second then finds everything
                        # noticed instead of racing on the unique index (still exactly-once, but it could deadlock).
                        _advisory_xact_lock(self.kind.event_name)
                    with connection.cursor() as cursor:
                        cursor.execute(self.page_sql, {**params, "after": after})
                        page = [_Candidate(*row) for row in cursor.fetchall()]
                    self._send([c for c in page if c.days_before is not None])
                progress.advance(len(page), self.label)
                if len(page) < self.run.chunk_size:
                    break
                after = page[-1].id

    def _send(self, candidates: list[_Candidate]) -> None:
        run, event_name = self.run, self.kind.event_name
        to_send: list[_Candidate] = []
        for candidate in candidates:
            row = run.report.row(event_name, candidate.days_before)
            row.due += 1
            if candidate.mode != _SEND:
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
        inserted = _insert_notices(
            event_name=event_name,
            run_date=run.run_date,
            notices=[
                (c.id, c.partner_id, c.days_before, c.target, _due_day(c.target, c.days_before), event_ids[c.id])
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
            late = _due_day(candidate.target, candidate.days_before) < run.run_date
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
        _emit(messages)


def _insert_notices(
    *, event_name: str, run_date: date, notices: list[tuple[int, int, int, date, date, str]]
) -> set[tuple[int, int]]:
    """Insert (card pk, partner pk, days before, target, due date, event id) notices; return the (card pk, days
    before) pairs that were new. A notice is late when its due day lies before the run date."""
    if not notices:
        return set()
    columns = list(zip(*notices, strict=True))
    params = {
        "event": event_name,
        "sent_on": run_date,
        "now": timezone.now(),
        "card_id": list(columns[0]),
        "partner_id": list(columns[1]),
        "days_before": list(columns[2]),
        "target_date": list(columns[3]),
        "due_date": list(columns[4]),
        "late": [due < run_date for due in columns[4]],
        "event_id": list(columns[5]),
    }
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_NOTICES_SQL.format(**_tables()), params)
        return {(card_pk, days) for card_pk, days in cursor.fetchall()}


def _due_day(target: date, days_before: int) -> date:
    return target - timedelta(days=days_before)


def _advisory_xact_lock(key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_LOCK_CLASS, key])


# ---------------------------------------------------------------------------------------------------------------
# On the day: expiry and dormancy state changes


class _InstantStep(ABC):
    """Apply a wallets service to each due card and emit an instant event, recorded as a days_before=0 notice so
    that it happens once per card and target date. Subclasses say which cards are due and what the event says."""

    event_name: str

    def __init__(self, run: _Run):
        self.run = run

    @abstractmethod
    def due_cards(self) -> QuerySet[Card]:
        """Cards whose change is due on or before the run date."""

    @abstractmethod
    def target_of(self, card: Card) -> date:
        """The expiry or inactivation date the change is about."""

    def due_of(self, card: Card) -> date:
        """The first day the change was due; a later run marks it late."""
        return self.target_of(card)

    @abstractmethod
    def data_of(self, card: Card, target: date) -> dict:
        """The instant event's data."""

    @abstractmethod
    def apply(self, card: Card) -> None:
        """The state change, through the wallets service."""

    def _queryset(self) -> QuerySet[Card]:
        cards = self.due_cards()
        if self.run.partner_ids is not None:
            cards = cards.filter(partner_id__in=self.run.partner_ids)
        return cards

    def count(self) -> int:
        return self._queryset().count()

    def execute(self, progress: _Progress) -> None:
        run = self.run
        row = run.report.row(self.event_name, 0)
        if run.dry_run:
            count = self.count()
            row.due += count
            row.skipped[SkipReason.DRY_RUN] += count
            progress.advance(count, self.event_name)
            return
        after = 0
        while True:
            with transaction.atomic():
                # Concurrent sweeps take turns per chunk, and the query runs after the lock, so the second one no
                # longer sees the cards the first one changed. No row locks here: the wallets services lock wallet,
                # then card, and taking the card first would invert that order.
                _advisory_xact_lock(self.event_name)
                cards = list(
                    self._queryset()
                    .filter(pk__gt=after)
                    .select_related("partner", "wallet__cardholder")
                    .order_by("pk")[: run.chunk_size]
                )
                row.due += len(cards)
                _emit(self._change_all(cards, row))
            after = cards[-1].pk if cards else after
            progress.advance(len(cards), self.event_name)
            if len(cards) < run.chunk_size:
                return

    def _change_all(self, cards: list[Card], row: SweepRow) -> list[OutboxMessage]:
        """Record the chunk's notices in one insert, then change each newly noticed card; returns the outbox
        messages of the changed ones. A card whose change is refused loses its notice again, so it stays due for
        the next run: notice and change are kept both or neither."""
        targets = {card.pk: (self.target_of(card), self.due_of(card)) for card in cards}
        event_ids = {
            card.pk: notice_event_id(
                card_uuid=card.card_id, event_name=self.event_name, days_before=0, target_date=targets[card.pk][0]
            )
            for card in cards
        }
        inserted = _insert_notices(
            event_name=self.event_name,
            run_date=self.run.run_date,
            notices=[(card.pk, card.partner_id, 0, *targets[card.pk], event_ids[card.pk]) for card in cards],
        )
        now = timezone.now()
        messages, refused = [], []
        for card in cards:
            if (card.pk, 0) not in inserted:
                row.skipped[SkipReason.ALREADY_SENT] += 1
                continue
            try:
                # The wallets services are atomic (a savepoint inside this chunk's transaction), so a refusal
                # leaves no partial change behind.
                self.apply(card)
            except DatabaseError:
                raise  # the transaction is broken or the database gone: stop here, the next run resumes
            except Exception:
                # A refused change must not stop the sweep for every other card.
                logger.exception("%s: state change of card %s failed", self.event_name, card.card_id)
                row.skipped[SkipReason.STATE_CHANGE_FAILED] += 1
                refused.append(event_ids[card.pk])
                continue
            target, due = targets[card.pk]
            late = due < self.run.run_date
            row.sent += 1
            row.late += late
            data = {
                "kitNo": card.kit_no,
                "cardId": str(card.card_id),
                "last4": card.last4,
                **self.data_of(card, target),
                "late": late,
                "customerId": card.wallet.cardholder.external_id,
                "cardholderName": card.wallet.cardholder.name,
            }
            messages.append(
                outbox_message(
                    tenant_id=card.partner.tenant_id,
                    event_name=self.event_name,
                    event_id=event_ids[card.pk],
                    entity_id=str(card.card_id),
                    data=data,
                    occurred_at=now,
                )
            )
        if refused:
            AdvanceNotice.objects.filter(event_id__in=refused, event_name=self.event_name, days_before=0).delete()
        return messages


class _ExpiryStep(_InstantStep):
    """Cards whose expiry date has passed: EXPIRED (card and wallet, by the system) and KIT_EXPIRY_NOTIFICATION."""

    event_name = EXPIRY

    def due_cards(self) -> QuerySet[Card]:
        return Card.objects.filter(status__in=EXPIRABLE_STATUSES, expiry_date__lt=self.run.run_date)

    def target_of(self, card: Card) -> date:
        return card.expiry_date

    def due_of(self, card: Card) -> date:
        # Valid through its expiry date: the change is due the day after.
        return card.expiry_date + timedelta(days=1)

    def data_of(self, card: Card, target: date) -> dict:
        return {"expiryDate": target.isoformat()}

    def apply(self, card: Card) -> None:
        card_expire(card=card)


class _DormancyStep(_InstantStep):
    """ACTIVE cards of one dormancy period whose inactivation date (last activity + dormancy days) has come:
    inactivated and KIT_INACTIVATION_NOTIFICATION."""

    event_name = DORMANCY

    def __init__(self, run: _Run, dormancy_days: int):
        super().__init__(run)
        self.dormancy_days = dormancy_days

    def due_cards(self) -> QuerySet[Card]:
        # Inactivation date <= run date  <=>  last activity before midnight of (run date - dormancy days + 1).
        cutoff = _local_midnight(self.run.run_date - timedelta(days=self.dormancy_days - 1), self.run.tz)
        return Card.objects.filter(
            status=Card.Status.ACTIVE, wallet__product__dormancy_days=self.dormancy_days, last_activity_at__lt=cutoff
        )

    def target_of(self, card: Card) -> date:
        return timezone.localtime(card.last_activity_at, self.run.tz).date() + timedelta(days=self.dormancy_days)

    def data_of(self, card: Card, target: date) -> dict:
        return {"inactivationDate": target.isoformat(), "lastActivityAt": card.last_activity_at.isoformat()}

    def apply(self, card: Card) -> None:
        card_inactivate_for_dormancy(card=card)


# ---------------------------------------------------------------------------------------------------------------
# Outbox


def _emit(messages: list[OutboxMessage]) -> None:
    """Write a chunk's outbox rows in the caller's transaction and ask for one publish after commit."""
    outbox_add_many(messages=messages)
