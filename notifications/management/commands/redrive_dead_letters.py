from notifications import services
from notifications.management.cli import EXIT_OK, EXIT_PARTIAL, OpsCommand, format_table
from notifications.models import DeadLetter


class Command(OpsCommand):
    help = (
        "Ingest open dead letters again (their corrected payload if support entered one in the admin). "
        "Those still invalid stay open with the new reason. Exit 1 if any is still failing."
    )

    def add_command_arguments(self, parser):
        selection = parser.add_mutually_exclusive_group(required=True)
        selection.add_argument("--id", type=int, nargs="+", dest="ids", help="Dead letter ids")
        selection.add_argument("--reason", help="All open dead letters with this reason code, e.g. unknown_tenant")
        selection.add_argument("--all", action="store_true", help="Every open dead letter")
        parser.add_argument("--dry-run", action="store_true", help="Only say what would be re-driven")

    def handle(self, *args, **options):
        queryset = DeadLetter.objects.filter(status=DeadLetter.Status.OPEN).order_by("id")
        if options["ids"]:
            queryset = queryset.filter(pk__in=options["ids"])
        elif options["reason"]:
            queryset = queryset.filter(reason_code=options["reason"])
        letters = list(queryset)
        if options["dry_run"]:
            payload = {"dryRun": True, "matched": len(letters), "ids": [d.pk for d in letters]}
            self.finish(payload, human=f"{len(letters)} open dead letters would be re-driven.")
            return
        results = []
        with self.progress(len(letters), "re-driving") as bar:
            for letter in letters:
                results.append(services.dead_letter_redrive(dead_letter=letter))
                bar.advance()
        failed = [r for r in results if not r.ok]
        payload = {
            "matched": len(letters),
            "redriven": len(results) - len(failed),
            "failed": len(failed),
            "results": [{"id": r.dead_letter_id, "ok": r.ok, "eventId": r.event_id, "reason": r.reason}
                        for r in results],
        }
        rows = [[r.dead_letter_id, "re-driven" if r.ok else "still failing", r.event_id or r.reason] for r in results]
        self.finish(
            payload,
            human=(format_table(["id", "result", "event / reason"], rows) + "\n" if rows else "")
            + f"{payload['redriven']} re-driven, {payload['failed']} still failing.",
            exit_code=EXIT_PARTIAL if failed else EXIT_OK,
        )
