import os
import socket

from django.conf import settings
from django.core.management.base import BaseCommand

from config.runtime import freeze_startup_objects
from notifications.ingest.bridge import KafkaBridge


class Command(BaseCommand):
    help = (
        "Consume the notification topic and turn each event into deliveries and customer messages. "
        "Offsets are committed only after the database transaction of each batch. SIGTERM/SIGINT finish the "
        "current batch and exit 0; exits 1 after too many consecutive database errors (let the supervisor restart)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--topic", default=settings.KAFKA_NOTIFICATION_TOPIC)
        parser.add_argument("--group", default=settings.KAFKA_CONSUMER_GROUP, help="Kafka consumer group id")
        parser.add_argument("--batch-size", type=int, default=500, help="Messages per database transaction")
        parser.add_argument("--poll-timeout", type=float, default=0.5, help="Seconds to wait for a batch")
        parser.add_argument("--max-errors", type=int, default=30, help="Consecutive DB failures before exiting 1")
        parser.add_argument("--name", default=f"{socket.gethostname()}-{os.getpid()}", help="Name in heartbeats")

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            self.stderr.write("--batch-size must be at least 1")
            raise SystemExit(2)
        bridge = KafkaBridge(
            topic=options["topic"],
            group_id=options["group"],
            batch_size=options["batch_size"],
            poll_timeout=options["poll_timeout"],
            max_consecutive_errors=options["max_errors"],
            name=options["name"],
        )
        bridge.install_signal_handlers()
        freeze_startup_objects()
        raise SystemExit(bridge.run())
