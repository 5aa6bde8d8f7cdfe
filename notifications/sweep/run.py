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
from datetime import date
from time import monotonic

from django.conf import settings
from django.utils import timezone

from config.logging import log_context
from notifications.sweep.advance import DORMANCY_KIND, EXPIRY_KIND, AdvanceStep, advance_windows
from notifications.sweep.on_the_day import DormancyStep, ExpiryStep
from notifications.sweep.report import (
    DORMANCY,
    EXPIRY,
    ProgressCallback,
    SweepProgress,
    SweepReport,
    SweepRun,
    SweepStep,
    UnknownTenantError,
)
from subscriptions.models import Partner
from wallets.models import Product

logger = logging.getLogger(__name__)


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
    run = SweepRun(
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
        tracker = SweepProgress(progress, total=sum(step.count() for step in steps) if progress else 0)
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



def _plan_steps(run: SweepRun) -> list[SweepStep]:
    """Every step of the run. The on-the-day state changes come first: a card that expires today must not also be
    offered a dormancy reminder."""
    dormancy_groups = _dormancy_groups(run)
    steps: list[SweepStep] = [ExpiryStep(run), *(DormancyStep(run, days) for days in dormancy_groups)]
    run.report.row(EXPIRY, 0)
    run.report.row(DORMANCY, 0)
    for kind in (EXPIRY_KIND, DORMANCY_KIND):
        windows = advance_windows(run, kind)
        if not windows:
            continue
        for group in dormancy_groups if kind is DORMANCY_KIND else [None]:
            steps.append(AdvanceStep(run, kind, windows, dormancy_days=group))
    return steps


def _dormancy_groups(run: SweepRun) -> list[int]:
    """The distinct dormancy periods of the products in scope: one query per period keeps the range on
    last_activity_at sargable, where a join would compute every card's inactivation date."""
    # A product with 0 dormancy days has dormancy switched off (0 would otherwise inactivate every card at once).
    products = Product.objects.filter(dormancy_days__gt=0)
    if run.partner_ids is not None:
        products = products.filter(partner_id__in=run.partner_ids)
    return sorted(set(products.values_list("dormancy_days", flat=True)))
