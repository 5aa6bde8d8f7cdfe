"""`manage.py create_portal_user TENANT_ID USERNAME [--role viewer|developer|admin] [--email E] [--password P]`

Creates a partner-portal user of the tenant. Without --password a random one is generated and printed as the LAST
line of the output (it is stored hashed). Exit codes: 0 created; 1 unknown tenant or taken username."""

import secrets

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from subscriptions import selectors
from subscriptions.management.commands._helpers import command_actor
from subscriptions.models import AuditChannel
from subscriptions.portal.models import PortalRole
from subscriptions.portal.services import partner_user_create

ROLES = {"viewer": PortalRole.VIEWER, "developer": PortalRole.DEVELOPER, "admin": PortalRole.ADMIN}


class Command(BaseCommand):
    help = ("Create a partner-portal user of a tenant with a role (viewer, developer, admin). Without --password "
            "a random password is printed as the last output line.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant_id", metavar="TENANT_ID")
        parser.add_argument("username", metavar="USERNAME")
        parser.add_argument("--role", choices=list(ROLES), default="developer",
                            help="viewer (read), developer (change subscriptions, test, resend; default), admin "
                            "(also rotate secrets and manage API tokens).")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", default="", help="Omit to have a random one generated and printed.")

    def handle(self, *args, tenant_id: str, username: str, role: str, email: str, password: str, **options) -> None:
        partner = selectors.partner_get(tenant_id=tenant_id)
        if partner is None:
            raise CommandError(f"Unknown tenant {tenant_id!r}; create it with create_tenant first.", returncode=1)
        generated = not password
        password = password or secrets.token_urlsafe(12)
        try:
            partner_user_create(partner=partner, username=username, password=password, role=ROLES[role],
                                email=email, channel=AuditChannel.COMMAND, actor=command_actor("create_portal_user"))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages), returncode=1) from None
        self.stdout.write(f"Created portal user {username!r} of {tenant_id} with role {role}. Sign in at /portal/.")
        if generated:
            self.stdout.write("Password (shown once):")
            self.stdout.write(password)
