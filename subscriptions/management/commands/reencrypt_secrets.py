"""`manage.py reencrypt_secrets [--json]`

Encryption-key rotation: put the new Fernet key FIRST in SECRETS_ENCRYPTION_KEYS (keep the old one after it), run
this command, then remove the old key. Every stored signing secret is re-encrypted under the first key; the secrets
themselves do not change. Exit codes: 0 all re-encrypted; 1 some secrets could not be decrypted with any configured
key (listed; they are left as they were)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from subscriptions.management.commands._helpers import command_actor, write_json
from subscriptions.models import AuditChannel
from subscriptions.services.secrets import subscription_secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored webhook signing secret under the first key of SECRETS_ENCRYPTION_KEYS (run after "
        "adding a new key in front; then drop the old key). Exit 1 if some secret matches no configured key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", dest="as_json", action="store_true", help="Print a JSON summary.")

    def handle(self, *args, as_json: bool, **options) -> None:
        report = subscription_secrets_reencrypt(
            channel=AuditChannel.COMMAND, actor=command_actor("reencrypt_secrets")
        )
        if as_json:
            write_json(self, report.as_dict())
        else:
            self.stdout.write(f"Re-encrypted {report.reencrypted} subscription secret(s).")
            for row in report.failed:
                self.stderr.write(f"Could not decrypt: subscription {row['id']} ({row['tenantId']} "
                                  f"{row['eventName']})")
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} secret(s) could not be decrypted with any configured key.", returncode=1
            )
