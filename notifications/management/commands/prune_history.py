"""`manage.py prune_history --older-than 30d`: retention for delivery attempts, finished deliveries, customer
messages, events, resolved dead letters and published outbox rows. Open work is never deleted.

Exit code: 0 done, 2 bad arguments."""

from django.utils import timezone

from notifications.management.cli import OpsCommand, format_table, parse_duration
from notifications.ops import retention


class Command(OpsCommand):
    help = (
        "Delete finished history older than --older-than (e.g. 30d, 12h, 2w) in batches: delivery attempts, "
        "finished webhook deliveries and customer messages, events with nothing left open, resolved dead letters "
        "and published outbox rows. Pending, sending, held or open rows are never deleted."
    )

    def add_command_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than", required=True, help="Age cutoff: a number and a unit s, m, h, d or w (e.g. 30d)."
        )
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Rows deleted per transaction (default 1000)."
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")

    def handle(self, *args, **options) -> None:
        try:
            age = parse_duration(options["older_than"])
        except ValueError as exc:
            raise self.fail_usage(f"--older-than: {exc}") from exc
        if options["batch_size"] < 1:
            raise self.fail_usage("--batch-size must be a positive integer")
        cutoff = timezone.now() - age

        if options["dry_run"]:
            report = retention.history_prune(cutoff=cutoff, dry_run=True)
        else:
            total = sum(retention.history_count(cutoff=cutoff).values())
            with self.progress(total, "pruning") as bar:
                report = retention.history_prune(
                    cutoff=cutoff,
                    batch_size=options["batch_size"],
                    on_progress=lambda step, n: bar.advance(n, label=step),
                )
        self.finish(report.as_json(), human=lambda: self._human(report))

    def _human(self, report: retention.PruneReport) -> str:
        verb = "Would delete" if report.dry_run else "Deleted"
        table = format_table(["table", "rows"], [[step, report.counts[step]] for step in retention.STEPS])
        return f"{verb} {report.total} rows older than {report.cutoff:%Y-%m-%d %H:%M:%S %Z}:\n{table}"
