"""`manage.py revoke_token PREFIX`

Revokes one API token, named by the prefix shown in the admin and by issue_token (`ppn_Ab12Cd34`), or by the whole
token. Exit codes: 0 revoked (or already revoked); 1 no token or more than one token matches."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from subscriptions import selectors
from subscriptions.management.commands._helpers import command_actor
from subscriptions.models import AuditChannel, hash_token
from subscriptions.services.tokens import token_revoke

MIN_PREFIX_LENGTH = 6
MAX_PREFIX_LENGTH = 16  # ApiToken.prefix max_length


class Command(BaseCommand):
    help = (
        "Revoke an API token by its prefix (as listed in the admin, e.g. ppn_Ab12Cd34) or by the full token. "
        "It stops authenticating at once. Exit 1 if no token or several tokens match."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", metavar="PREFIX", help="Token prefix (at least 6 characters) or full token.")

    def handle(self, *args, prefix: str, **options) -> None:
        if len(prefix) < MIN_PREFIX_LENGTH:
            raise CommandError(f"Give at least {MIN_PREFIX_LENGTH} characters of the token.", returncode=1)
        if len(prefix) > MAX_PREFIX_LENGTH:
            # Longer than any stored prefix: the whole token, found by its hash.
            tokens = list(selectors.api_token_list_by_hash(token_hash=hash_token(prefix)))
        else:
            tokens = list(selectors.api_token_list_by_prefix(prefix=prefix)[:2])
        if not tokens:
            raise CommandError(f"No token matches {prefix[:MAX_PREFIX_LENGTH]!r}.", returncode=1)
        if len(tokens) > 1:
            raise CommandError(f"Several tokens start with {prefix!r}; give more characters.", returncode=1)
        token = tokens[0]
        if token.revoked_at is not None:
            self.stdout.write(f"Token {token.prefix}… of {token.partner.tenant_id} was already revoked.")
            return
        token_revoke(token=token, channel=AuditChannel.COMMAND, actor=command_actor("revoke_token"))
        self.stdout.write(self.style.SUCCESS(f"Revoked token {token.prefix}… of {token.partner.tenant_id}."))
