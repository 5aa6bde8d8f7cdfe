import json
import time
import uuid

from django.db import transaction

from notifications import outbox
from notifications.management.cli import EXIT_OK, EXIT_PARTIAL, OpsCommand
from notifications.models import OutboxMessage
from subscriptions.catalog import EVENT_CATALOG
from subscriptions.models import Partner


class Command(OpsCommand):
    help = (
        "Publish one event onto the notification topic (through the outbox, then straight to Kafka). "
        "Example: publish_event --tenant acme --event-name TRANSACTION_NOTIFICATION "
        "--data '{\"kitNo\": \"K0001\", \"amount\": \"125.50\", \"currency\": \"INR\"}'"
    )

    def add_command_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant id of the partner")
        parser.add_argument("--event-name", required=True, help="A catalog event name (GET /event-types/)")
        parser.add_argument("--data", default="{}", help="The event's data as a JSON object")
        parser.add_argument("--entity-id", default="", help="Card or wallet id, for per-entity ordering")
        parser.add_argument("--event-id", default=None, help="Defaults to a new UUID")
        parser.add_argument("--wait", type=float, default=15.0, help="Seconds to wait for Kafka's acknowledgement")

    def handle(self, *args, **options):
        partner = Partner.objects.filter(tenant_id=options["tenant"]).first()
        if partner is None:
            raise self.fail_usage(f"Unknown tenant {options['tenant']!r}")
        if options["event_name"] not in EVENT_CATALOG:
            raise self.fail_usage(f"Unknown event name {options['event_name']!r}; see GET /event-types/")
        try:
            data = json.loads(options["data"])
        except json.JSONDecodeError as exc:
            raise self.fail_usage(f"--data is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise self.fail_usage("--data must be a JSON object")
        event_id = options["event_id"] or str(uuid.uuid4())
        if OutboxMessage.objects.filter(event_id=event_id).exists():
            raise self.fail_usage(f"Event {event_id} was already published")
        with transaction.atomic():
            row = outbox.publish_event(partner=partner, event_name=options["event_name"], data=data,
                                         entity_id=options["entity_id"], event_id=event_id)
        # A worker may be publishing the same row right now (publish_event also triggers the outbox task), in
        # which case ours skips the locked row: wait a little for whoever publishes it.
        deadline = time.monotonic() + options["wait"]
        while True:
            outbox.outbox_publish_pending()
            row.refresh_from_db()
            if row.published_at is not None or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        published = row.published_at is not None
        self.finish(
            {"eventId": event_id, "published": published, "topic": row.topic, "lastError": row.last_error},
            human=(f"Published {options['event_name']} {event_id} to {row.topic}." if published else
                   f"Queued {event_id} in the outbox; Kafka did not acknowledge yet ({row.last_error}). "
                   "The publish-outbox beat task will retry."),
            exit_code=EXIT_OK if published else EXIT_PARTIAL,
        )
