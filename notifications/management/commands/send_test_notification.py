"""manage.py send_test_notification --kit K --event E --channel C [--locale L] [--tenant T]

Renders one customer message for a card with sample event data and sends it synchronously through the configured
channel adapter, then prints what was sent (or why not). Nothing is stored."""

from django.core.management.base import BaseCommand, CommandError

from notifications.messaging.trial import TestSendError, message_send_test


class Command(BaseCommand):
    help = "Render and send one customer notification for a card, synchronously, and print the result."

    def add_arguments(self, parser):
        parser.add_argument("--kit", required=True, help="Card kit number")
        parser.add_argument("--event", required=True, help="Catalog event name, e.g. TRANSACTION_NOTIFICATION")
        parser.add_argument("--channel", required=True, help="SMS, EMAIL, PUSH or IN_APP")
        parser.add_argument("--locale", help="Render in this locale instead of the cardholder's")
        parser.add_argument("--tenant", help="Tenant id, when the kit number exists for several tenants")

    def handle(self, *args, **options):
        try:
            outcome = message_send_test(
                kit_no=options["kit"], event_name=options["event"], channel=options["channel"],
                locale=options["locale"], tenant_id=options["tenant"],
            )
        except TestSendError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"channel:   {outcome.channel}")
        self.stdout.write(f"recipient: {outcome.recipient or '-'}")
        self.stdout.write(f"locale:    {outcome.locale or '-'}")
        if outcome.subject:
            self.stdout.write(f"subject:   {outcome.subject}")
        if outcome.body:
            self.stdout.write("body:\n" + "\n".join(f"  {line}" for line in outcome.body.splitlines()))
        if outcome.held_until:
            self.stdout.write(f"note:      in quiet hours until {outcome.held_until:%Y-%m-%d %H:%M} UTC; sent anyway")
        if outcome.sent:
            self.stdout.write(self.style.SUCCESS(f"SENT (provider id {outcome.provider_message_id or '-'})"))
            return
        kind = "permanent" if outcome.permanent else "transient"
        raise CommandError(f"NOT SENT ({kind}): {outcome.error}")
