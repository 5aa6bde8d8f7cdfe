from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from notifications import services
from notifications.management.cli import EXIT_OK, OpsCommand, format_table, parse_duration
from notifications.models import DeliveryStatus
from subscriptions.catalog import EVENT_CATALOG
from subscriptions.models import Partner


def _moment(text: str) -> datetime:
    """An ISO date or date-time, or a duration ago ('24h', '7d')."""
    try:
        return timezone.now() - parse_duration(text)
    except ValueError:
        pass
    value = parse_datetime(text)
    if value is None and (day := parse_date(text)) is not None:
        value = datetime(day.year, day.month, day.day)
    if value is None:
        raise ValueError(f"{text!r} is neither an ISO date/date-time nor a duration like 24h or 7d")
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class Command(OpsCommand):
    help = (
        "Send matching deliveries again now with a fresh retry budget (default: FAILED ones). "
        "Example: replay_deliveries --status FAILED --since 24h --tenant acme"
    )

    def add_command_arguments(self, parser):
        parser.add_argument("--status", default=DeliveryStatus.FAILED,
                            choices=[DeliveryStatus.FAILED, DeliveryStatus.SUCCEEDED, DeliveryStatus.PENDING])
        parser.add_argument("--since", help="ISO date/date-time, or a duration ago such as 24h or 7d")
        parser.add_argument("--until", help="ISO date/date-time, or a duration ago")
        parser.add_argument("--tenant", help="Only this partner's deliveries (tenant id)")
        parser.add_argument("--event-name", help="Only deliveries of this event name")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be replayed, change nothing")

    def handle(self, *args, **options):
        try:
            since = _moment(options["since"]) if options["since"] else None
            until = _moment(options["until"]) if options["until"] else None
        except ValueError as exc:
            raise self.fail_usage(str(exc)) from None
        if options["tenant"] and not Partner.objects.filter(tenant_id=options["tenant"]).exists():
            raise self.fail_usage(f"Unknown tenant {options['tenant']!r}")
        if options["event_name"] and options["event_name"] not in EVENT_CATALOG:
            raise self.fail_usage(f"Unknown event name {options['event_name']!r}")
        bar = self.progress(None, "replaying")
        with bar:
            summary = services.deliveries_replay(
                status=options["status"], since=since, until=until, tenant_id=options["tenant"],
                event_name=options["event_name"], dry_run=options["dry_run"],
                progress=lambda done, total: (setattr(bar, "total", total), bar.advance(done - bar.done)),
            )
        verb = "would replay" if summary.dry_run else "replayed"
        self.finish(
            summary.as_dict(),
            human=format_table(["matched", verb, "tasks"], [[summary.matched,
                                                               summary.matched if summary.dry_run
                                                               else summary.replayed, summary.tasks]]),
            exit_code=EXIT_OK,
        )
