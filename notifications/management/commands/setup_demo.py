"""`manage.py setup_demo`: the demo data of `make run` (idempotent), then the URLs, the admin and partner-portal
logins and a fresh demo API token. For a local machine only: it creates an admin/admin superuser and a
demo/demo-portal portal user."""

from django.conf import settings

from notifications.management.cli import OpsCommand
from notifications.ops import demo_data


class Command(OpsCommand):
    help = (
        "Create the local demo (idempotent): partner 'demo', a product, cardholders, wallets and cards, an "
        "ALL_EVENTS subscription delivering to the built-in demo receiver, an admin/admin superuser and a "
        "demo/demo-portal partner-portal user (LOCAL USE ONLY) and a fresh API token, printed last."
    )

    def add_command_arguments(self, parser) -> None:
        parser.add_argument(
            "--base-url",
            default=settings.DEMO_BASE_URL,
            help="Where this server is reachable; the demo subscription delivers to <base-url>/demo/webhooks/ "
            f"(default DEMO_BASE_URL, {settings.DEMO_BASE_URL}).",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["as_json"]:
            self.stderr.write(self.style.WARNING("DEBUG is off: is this really a local machine? Continuing."))
        base = options["base_url"].rstrip("/")
        result = demo_data.demo_setup(base_url=base)
        payload = {
            "tenantId": result.partner.tenant_id,
            "created": result.created,
            "urls": {
                "api": f"{base}/prepaid/auth/v1/",
                "apiDocs": f"{base}/api/docs/",
                "admin": f"{base}/{settings.ADMIN_URL}",
                "dashboard": f"{base}/ops/dashboard/",
                "portal": f"{base}/portal/",
                "demoReceiver": f"{base}/demo/",
                "readyz": f"{base}/readyz",
                "metrics": f"{base}/metrics",
            },
            "subscription": {
                "eventName": result.subscription.event_name,
                "destination": result.subscription.destination,
            },
            "admin": {"username": demo_data.ADMIN_USERNAME, "created": result.admin_created},
            "portal": {"username": demo_data.PORTAL_USERNAME, "created": result.portal_user_created},
            "token": result.token,
        }
        self.finish(payload, human=lambda: self._human(payload, base))

    def _human(self, payload: dict, base: str) -> str:
        urls = payload["urls"]
        admin_note = (
            f"{demo_data.ADMIN_USERNAME} / {demo_data.ADMIN_PASSWORD}"
            if payload["admin"]["created"]
            else f"{demo_data.ADMIN_USERNAME} (existing user; password {demo_data.ADMIN_PASSWORD!r} unless changed)"
        )
        portal_note = (
            f"{demo_data.PORTAL_USERNAME} / {demo_data.PORTAL_PASSWORD}"
            if payload["portal"]["created"]
            else f"{demo_data.PORTAL_USERNAME} (existing user; password {demo_data.PORTAL_PASSWORD!r} unless changed)"
        )
        lines = [
            self.style.SUCCESS("Demo ready" + (f": created {', '.join(payload['created'])}" if payload["created"] else
                                               " (nothing new to create)")),
            "",
            f"  Partner API      {urls['api']}   (docs: {urls['apiDocs']})",
            f"  Admin            {urls['admin']}   login {admin_note}",
            f"  Ops dashboard    {urls['dashboard']}",
            f"  Partner portal   {urls['portal']}   login {portal_note}   (partner demo, role admin)",
            f"  Demo receiver    {urls['demoReceiver']}   (subscription ALL_EVENTS -> "
            f"{payload['subscription']['destination']})",
            f"  Health, metrics  {urls['readyz']}   {urls['metrics']}",
            "",
            self.style.WARNING(
                f"  The admin login {demo_data.ADMIN_USERNAME}/{demo_data.ADMIN_PASSWORD} and the portal login "
                f"{demo_data.PORTAL_USERNAME}/{demo_data.PORTAL_PASSWORD} are for local use only: "
                "never run setup_demo on a shared or production database."
            ),
            "",
            "  Try it:",
            f"    curl -s {urls['api']}event-subscriptions/ -H \"Authorization: Bearer $TOKEN\" -H 'X-TENANT-ID: demo'",
            "    .venv/bin/python manage.py publish_event --tenant demo --event-name TRANSACTION_NOTIFICATION \\",
            "        --data '{\"kitNo\": \"DEMO0001\", \"amount\": \"125.50\", \"currency\": \"INR\"}'",
            "",
            "  Demo API token (tenant demo, level 3; a new one on every run), on the last line:",
            payload["token"],
        ]
        return "\n".join(lines)
