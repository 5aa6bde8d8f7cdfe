"""`manage.py status`: one-screen health overview for the on-call engineer.

Exit code: 0 healthy, 1 degraded (everything answers, but there is work to look at), 2 down (a readiness check
fails: the same rule as /readyz answering 503)."""

import re

from django.conf import settings
from django.utils import timezone

from notifications.management.cli import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, OpsCommand, format_table
from notifications.ops import health, heartbeats
from notifications.ops import selectors as ops_selectors

HEALTHY, DEGRADED, DOWN = "healthy", "degraded", "down"
EXIT_CODES = {HEALTHY: EXIT_OK, DEGRADED: EXIT_PARTIAL, DOWN: EXIT_USAGE}


def _warnings(backlog: ops_selectors.Backlog, lag: int | None) -> list[str]:
    """What makes a ready system 'degraded', each with the command or page that deals with it."""
    found = []
    if backlog.overdue:
        found.append(
            f"{backlog.overdue} overdue deliveries (oldest {backlog.oldest_overdue_seconds:.0f}s): are workers "
            "running and keeping up? see docs/operations.md#overdue-deliveries"
        )
    if backlog.open_dead_letters:
        found.append(
            f"{backlog.open_dead_letters} open dead letters: inspect in the admin, then "
            "`manage.py redrive_dead_letters`"
        )
    if backlog.failed_24h:
        found.append(
            f"{backlog.failed_24h} deliveries FAILED in the last 24 h: once the endpoint is fixed, "
            "`manage.py replay_deliveries --status FAILED --since 24h`"
        )
    if backlog.messages_overdue:
        found.append(f"{backlog.messages_overdue} overdue customer messages")
    if backlog.outbox_unpublished and backlog.outbox_unpublished >= 100:
        found.append(f"{backlog.outbox_unpublished} outbox events not yet published to Kafka")
    if backlog.disabled_subscriptions:
        found.append(f"{backlog.disabled_subscriptions} subscriptions disabled by endpoint health")
    if lag is not None and lag > settings.OPS_LAG_WARNING_THRESHOLD:
        found.append(f"consumer lag {lag} > {settings.OPS_LAG_WARNING_THRESHOLD}: add bridges (up to the partitions)")
    if lag is None:
        found.append("no Kafka bridge has reported in the last minute: is `manage.py kafka_bridge` running?")
    return found


class Command(OpsCommand):
    help = (
        "Show the service's health on one screen: dependency checks (as /readyz), open and overdue work, dead "
        "letters and consumer lag. Exit code 0 healthy, 1 degraded, 2 down."
    )

    def handle(self, *args, **options) -> None:
        checks = health.readiness_report()
        backlog = None
        lag = None
        if checks["postgres"].ok:
            backlog = ops_selectors.backlog_get()
            lag = heartbeats.consumer_lag_total()
        warnings = _warnings(backlog, lag) if backlog else []
        if not health.is_ready(checks):
            state = DOWN
        elif warnings:
            state = DEGRADED
        else:
            state = HEALTHY
        payload = {
            "status": state,
            "checkedAt": timezone.now().isoformat(),
            "checks": {name: result.as_json() for name, result in checks.items()},
            "backlog": backlog.as_json() if backlog else None,
            "consumerLag": lag,
            "bridges": [
                {"name": b.name, "totalLag": b.total_lag, "lastSeenAt": b.last_seen_at.isoformat(), "fresh": b.fresh}
                for b in (heartbeats.bridge_lags(include_stale=True) if backlog else [])
            ],
            "warnings": warnings,
        }
        self.finish(payload, human=lambda: self._human(payload), exit_code=EXIT_CODES[state])

    def _human(self, payload: dict) -> str:
        style = {HEALTHY: self.style.SUCCESS, DEGRADED: self.style.WARNING, DOWN: self.style.ERROR}[payload["status"]]
        lines = [style(f"Status: {payload['status'].upper()}"), ""]
        lines.append(
            format_table(
                ["check", "state", "latency", "detail"],
                [
                    [name, check["state"].upper(), f"{check['latencyMs']:.0f} ms", check["detail"]]
                    for name, check in payload["checks"].items()
                ],
            )
        )
        backlog = payload["backlog"]
        if backlog:
            rows = [[_words(key), value] for key, value in backlog.items() if value is not None]
            lines += ["", format_table(["work", "count"], rows)]
        lag = payload["consumerLag"]
        lines += ["", f"Kafka consumer lag: {lag if lag is not None else 'unknown (no live bridge)'}"]
        for bridge in payload["bridges"]:
            lines.append(f"  {bridge['name']}: {bridge['totalLag']}{'' if bridge['fresh'] else ' (stale)'}")
        if payload["warnings"]:
            lines += ["", "Needs attention:"] + [f"  - {warning}" for warning in payload["warnings"]]
        return "\n".join(lines)


def _words(camel: str) -> str:
    """'failedDeliveries24h' -> 'failed deliveries 24h'"""
    return re.sub(r"(?<=[a-z])(?=[A-Z0-9])", " ", camel).lower()
