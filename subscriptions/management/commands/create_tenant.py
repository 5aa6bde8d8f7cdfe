"""`manage.py create_tenant TENANT_ID --name NAME [--exists-ok]`

Creates a partner (tenant). Exit codes: 0 created (or already there with --exists-ok); 1 the tenant id is invalid or
already taken (ids are compared case-insensitively)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from subscriptions import selectors
from subscriptions.management.commands._helpers import command_actor
from subscriptions.models import AuditChannel
from subscriptions.services.partners import PartnerExists, partner_create


class Command(BaseCommand):
    help = (
        "Create a partner (tenant). TENANT_ID is what partners send in X-TENANT-ID: letters, digits, '-' and '_', "
        "at most 64 characters. Exit 1 if it is invalid or already exists (unless --exists-ok)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant_id", metavar="TENANT_ID", help="The tenant id, e.g. acme.")
        parser.add_argument("--name", required=True, help="The partner's display name, e.g. 'Acme Fintech'.")
        parser.add_argument(
            "--exists-ok", action="store_true", help="Exit 0 without changes if the tenant already exists."
        )

    def handle(self, *args, tenant_id: str, name: str, exists_ok: bool, **options) -> None:
        if exists_ok and (existing := selectors.partner_get(tenant_id=tenant_id)) is not None:
            self.stdout.write(f"Partner {existing.tenant_id} already exists; nothing changed.")
            return
        try:
            partner = partner_create(
                tenant_id=tenant_id,
                name=name,
                channel=AuditChannel.COMMAND,
                actor=command_actor("create_tenant"),
            )
        except ValidationError as exc:
            raise CommandError(f"Invalid tenant: {' '.join(exc.messages)}", returncode=1) from None
        except PartnerExists as exc:
            raise CommandError(str(exc), returncode=1) from None
        self.stdout.write(self.style.SUCCESS(f"Created partner {partner.tenant_id} ({partner.name})."))
