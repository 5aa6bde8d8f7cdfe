"""`manage.py issue_token TENANT_ID [--level 1|2|3] [--name NAME]`

Issues a partner API token and prints it as the LAST line of the output (scripts: `| tail -n1`). Only its hash is
stored, so it cannot be shown again. Exit codes: 0 issued; 1 unknown or inactive tenant."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from subscriptions import selectors
from subscriptions.management.commands._helpers import command_actor
from subscriptions.models import AuditChannel, TokenLevel
from subscriptions.services.tokens import token_issue


class Command(BaseCommand):
    help = (
        "Issue an API token for a tenant and print it as the last output line (shown once; only its hash is "
        "stored). Levels: 1 read-only, 2 standard (default), 3 admin. Exit 1 for an unknown or inactive tenant."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant_id", metavar="TENANT_ID")
        parser.add_argument(
            "--level", type=int, choices=TokenLevel.values, default=TokenLevel.STANDARD,
            help="Access level: 1 read-only, 2 standard (default), 3 admin.",
        )
        parser.add_argument("--name", default="", help="A label to recognise the token by, e.g. 'ci'.")

    def handle(self, *args, tenant_id: str, level: int, name: str, **options) -> None:
        partner = selectors.partner_get(tenant_id=tenant_id)
        if partner is None:
            raise CommandError(f"Unknown tenant {tenant_id!r}; create it with create_tenant first.", returncode=1)
        if not partner.is_active:
            raise CommandError(f"Tenant {tenant_id!r} is inactive; its tokens would not work.", returncode=1)
        token, raw = token_issue(
            partner=partner,
            level=level,
            name=name,
            channel=AuditChannel.COMMAND,
            actor=command_actor("issue_token"),
        )
        self.stdout.write(
            f"Issued token {token.prefix}… for {partner.tenant_id} (level {token.level} "
            f"{TokenLevel(token.level).label}). It is shown once, below; store it now."
        )
        self.stdout.write(raw)
