"""`manage.py rotate_secrets [--tenant T] [--event-name E] [--json]`

Rotates webhook signing secrets (e.g. after a suspected leak). Each old secret keeps signing beside the new one for
WEBHOOK_SECRET_ROTATION_OVERLAP_HOURS; partners read the new one with GET /event-subscriptions/{eventName}/secret.
Secrets are never printed. Exit codes: 0 done (also when nothing matched); 2 unknown tenant or eventName."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from subscriptions import selectors
from subscriptions.catalog import SUBSCRIBABLE_EVENT_NAMES
from subscriptions.management.commands._helpers import command_actor, write_json
from subscriptions.models import AuditChannel
from subscriptions.services.secrets import subscription_secret_rotate


class Command(BaseCommand):
    help = (
        "Rotate the signing secrets of all subscriptions, or of one tenant and/or eventName. The old secrets keep "
        "signing during the overlap period. Secrets are not printed. Exit 2 for an unknown tenant or eventName."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Only this tenant's subscriptions.")
        parser.add_argument("--event-name", help="Only subscriptions to this eventName (e.g. ALL_EVENTS).")
        parser.add_argument("--json", dest="as_json", action="store_true", help="Print a JSON summary.")

    def handle(self, *args, tenant: str | None, event_name: str | None, as_json: bool, **options) -> None:
        partner = None
        if tenant is not None:
            partner = selectors.partner_get(tenant_id=tenant)
            if partner is None:
                raise CommandError(f"Unknown tenant {tenant!r}.", returncode=2)
        if event_name is not None and event_name not in SUBSCRIBABLE_EVENT_NAMES:
            raise CommandError(f"Unknown eventName {event_name!r}.", returncode=2)
        actor = command_actor("rotate_secrets")
        rotated = []
        for subscription in selectors.subscription_list_for_ops(partner=partner, event_name=event_name):
            subscription = subscription_secret_rotate(
                subscription=subscription, channel=AuditChannel.COMMAND, actor=actor
            )
            rotated.append(
                {
                    "tenantId": subscription.partner.tenant_id,
                    "eventName": subscription.event_name,
                    "previousSecretExpiresAt": subscription.previous_secret_expires_at.isoformat(),
                }
            )
        if as_json:
            write_json(self, {"rotated": len(rotated), "subscriptions": rotated})
            return
        for row in rotated:
            self.stdout.write(f"{row['tenantId']:<24} {row['eventName']:<40} old secret signs until "
                              f"{row['previousSecretExpiresAt']}")
        self.stdout.write(self.style.SUCCESS(f"Rotated {len(rotated)} signing secret(s)."))
