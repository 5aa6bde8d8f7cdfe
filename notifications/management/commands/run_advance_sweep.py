"""`manage.py run_advance_sweep [--date YYYY-MM-DD] [--dry-run] [--tenant T] [--json]`

Runs the daily advance-notification sweep by hand (beat runs it every day as `advance-notification-sweep`): for a
missed day, a backfill, or a dry run that shows what would go out. Safe to repeat: nothing is sent twice.

Exit codes (notifications.management.cli): 0 done; 1 some cards could not change state (logged; they are retried on
the next run); 2 bad arguments (a date that is not YYYY-MM-DD, an unknown tenant)."""

import argparse
from datetime import date

from notifications.management.cli import EXIT_OK, EXIT_PARTIAL, OpsCommand, format_table
from notifications.sweep.report import SweepReport, UnknownTenantError
from notifications.sweep.run import sweep_run


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {value!r}: expected YYYY-MM-DD, e.g. 2026-03-01") from None


def format_report(report: SweepReport) -> str:
    """The summary: one line per event and period with due, sent, late and skipped (by reason)."""
    scope = f"tenant {report.tenant_id}" if report.tenant_id else "all tenants"
    title = f"Advance sweep for {report.run_date.isoformat()} · {scope}{' · DRY RUN' if report.dry_run else ''}"
    rows = [
        (
            row.event_name,
            row.days_before,
            row.due,
            row.sent,
            row.late,
            ", ".join(f"{reason}={count}" for reason, count in row.as_dict()["skipped"].items()) or "-",
        )
        for row in report.sorted_rows()
    ]
    table = format_table(["EVENT", "DAYS", "DUE", "SENT", "LATE", "SKIPPED"], rows)
    total = (
        f"Total: {report.total_due} due, {report.total_sent} sent, {report.failures} failed state changes"
        f" in {report.as_dict()['durationSeconds']} s"
    )
    return f"{title}\n{table}\n{total}"


class Command(OpsCommand):
    help = (
        "Run the advance-notification sweep: expiry and dormancy reminders N days ahead, and on the day itself "
        "expire or inactivate the cards. Idempotent; --dry-run writes nothing. "
        "Example: run_advance_sweep --date 2026-03-01 --dry-run"
    )

    def add_command_arguments(self, parser) -> None:
        parser.add_argument(
            "--date", type=_parse_date, default=None, help="Sweep date, YYYY-MM-DD (default: today in TIME_ZONE)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be sent and changed; write nothing."
        )
        parser.add_argument("--tenant", default=None, help="Only this tenant id (default: every tenant).")

    def handle(self, *args, **options) -> None:
        bar = self.progress(None, "counting due cards")

        def on_progress(done: int, total: int, label: str) -> None:
            bar.total = total
            bar.advance(done - bar.done, label=label)

        try:
            with bar:
                report = sweep_run(
                    run_date=options["date"],
                    tenant_id=options["tenant"],
                    dry_run=options["dry_run"],
                    progress=on_progress,
                )
        except UnknownTenantError as exc:
            raise self.fail_usage(f"{exc} Create it with `manage.py create_tenant` or check the spelling.") from None
        if report.failures:
            self.stderr.write(
                f"{report.failures} card(s) could not change state; see the log. They are retried on the next run."
            )
        self.finish(
            report.as_dict(),
            human=lambda: format_report(report),
            exit_code=EXIT_PARTIAL if report.failures else EXIT_OK,
        )
