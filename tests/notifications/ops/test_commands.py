"""Ops commands: --json outputs, exit codes, and prune_history never deleting open work."""

import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from notifications.management import cli
from notifications.models import (
    CustomerMessage,
    DeadLetter,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    OutboxMessage,
    WebhookDelivery,
)
from notifications.ops import heartbeats
from subscriptions.models import ApiToken, EventSubscription, Partner, hash_token
from tests.factories import (
    CustomerMessageFactory,
    DeadLetterFactory,
    DeliveryAttemptFactory,
    EventFactory,
    WebhookDeliveryFactory,
)

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[int, str]:
    """(exit code, stdout) of a command."""
    out = io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=io.StringIO())
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


# --- status ------------------------------------------------------------------------------------------------------


@pytest.fixture
def all_up(db, settings, tansu_broker):
    settings.KAFKA_BOOTSTRAP_SERVERS = tansu_broker.bootstrap
    heartbeats.heartbeat_record(name="worker:celery@w1")
    heartbeats.heartbeat_record(name="beat")
    heartbeats.heartbeat_record(name="bridge:b1", details={"lag": {"t:0": 3}, "total_lag": 3})


def test_status_healthy_exits_0(all_up):
    code, out = run("status", "--json")

    assert code == 0
    report = json.loads(out)
    assert report["status"] == "healthy"
    assert {name for name, c in report["checks"].items() if c["state"] == "ok"} == {
        "postgres", "redis", "kafka", "worker", "beat"
    }
    assert report["consumerLag"] == 3
    assert report["backlog"]["overdueDeliveries"] == 0
    assert report["warnings"] == []


def test_status_degraded_exits_1_and_says_what_to_do(all_up):
    WebhookDeliveryFactory(status=DeliveryStatus.PENDING, next_attempt_at=timezone.now() - datetime.timedelta(hours=1))
    DeadLetterFactory()

    code, out = run("status", "--json")

    assert code == 1
    report = json.loads(out)
    assert report["status"] == "degraded"
    assert report["backlog"]["overdueDeliveries"] == 1
    assert report["backlog"]["openDeadLetters"] == 1
    assert any("redrive_dead_letters" in warning for warning in report["warnings"])
    assert any("overdue" in warning for warning in report["warnings"])


def test_status_down_exits_2(all_up, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    code, out = run("status", "--json")

    assert code == 2
    report = json.loads(out)
    assert report["status"] == "down"
    assert report["checks"]["redis"]["state"] == "fail"


def test_status_human_output_is_one_screen(all_up):
    code, out = run("status")

    assert code == 0
    assert out.startswith("Status: HEALTHY")
    assert "postgres" in out and "kafka" in out and "Kafka consumer lag: 3" in out
    assert len(out.splitlines()) < 40


# --- prune_history -----------------------------------------------------------------------------------------------


def _age(rows, days: int) -> None:
    """Make history rows `days` old."""
    past = timezone.now() - datetime.timedelta(days=days)
    for row in rows:
        model = type(row)
        if model is WebhookDelivery:
            model.objects.filter(pk=row.pk).update(
                created_at=past, completed_at=past if row.completed_at else None
            )
            Event.objects.filter(pk=row.event_id).update(received_at=past)
        elif model is DeliveryAttempt:
            model.objects.filter(pk=row.pk).update(started_at=past)
        elif model is CustomerMessage:
            model.objects.filter(pk=row.pk).update(created_at=past, sent_at=past)
            Event.objects.filter(pk=row.event_id).update(received_at=past)
        elif model is Event:
            model.objects.filter(pk=row.pk).update(received_at=past)
        elif model is DeadLetter:
            model.objects.filter(pk=row.pk).update(created_at=past)


@pytest.fixture
def history(db):
    old_ok = WebhookDeliveryFactory(status=DeliveryStatus.SUCCEEDED)
    old_failed = WebhookDeliveryFactory(status=DeliveryStatus.FAILED)
    old_pending = WebhookDeliveryFactory(status=DeliveryStatus.PENDING, attempt_count=3)
    old_sending = WebhookDeliveryFactory(status=DeliveryStatus.SENDING)
    recent_ok = WebhookDeliveryFactory(status=DeliveryStatus.SUCCEEDED)
    attempts = [
        DeliveryAttemptFactory(delivery=old_ok),
        DeliveryAttemptFactory(delivery=old_failed),
        DeliveryAttemptFactory(delivery=old_pending),  # an open delivery's attempts stay with it
        DeliveryAttemptFactory(delivery=recent_ok),
    ]
    sent = CustomerMessageFactory(status="SENT")
    held = CustomerMessageFactory(status="HELD")
    bare_event = EventFactory()
    open_letter = DeadLetterFactory(status="OPEN")
    done_letter = DeadLetterFactory(status="REDRIVEN")
    _age([old_ok, old_failed, old_pending, old_sending, *attempts[:3], sent, held, bare_event, open_letter,
          done_letter], days=60)
    return {
        "old_ok": old_ok, "old_failed": old_failed, "old_pending": old_pending, "old_sending": old_sending,
        "recent_ok": recent_ok, "attempts": attempts, "sent": sent, "held": held, "bare_event": bare_event,
        "open_letter": open_letter, "done_letter": done_letter,
    }


def test_prune_keeps_open_work_and_recent_history(history):
    code, out = run("prune_history", "--older-than", "30d", "--batch-size", "2", "--json")

    assert code == 0
    report = json.loads(out)
    assert report["dryRun"] is False
    assert report["deleted"] == {
        "deliveryAttempts": 2,
        "webhookDeliveries": 2,
        "customerMessages": 1,
        "events": 4,  # those of the 2 finished deliveries, of the sent message, and the bare event
        "deadLetters": 1,
        "outboxMessages": 0,
    }
    assert report["total"] == 10
    remaining = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert remaining == {history["old_pending"].pk, history["old_sending"].pk, history["recent_ok"].pk}
    assert set(DeliveryAttempt.objects.values_list("pk", flat=True)) == {
        history["attempts"][2].pk, history["attempts"][3].pk
    }
    assert list(CustomerMessage.objects.values_list("pk", flat=True)) == [history["held"].pk]
    # The events of open work stay, even though they are old.
    assert Event.objects.filter(pk=history["old_pending"].event_id).exists()
    assert Event.objects.filter(pk=history["held"].event_id).exists()
    assert list(DeadLetter.objects.values_list("pk", flat=True)) == [history["open_letter"].pk]


def test_prune_dry_run_counts_and_deletes_nothing(history):
    code, out = run("prune_history", "--older-than", "30d", "--dry-run", "--json")

    assert code == 0
    report = json.loads(out)
    assert report["dryRun"] is True
    assert report["wouldDelete"]["webhookDeliveries"] == 2
    assert report["wouldDelete"]["events"] == 4
    assert WebhookDelivery.objects.count() == 5
    assert Event.objects.count() == 8


def test_prune_human_summary(history):
    code, out = run("prune_history", "--older-than", "8w")

    assert code == 0
    assert out.startswith("Deleted 10 rows older than")
    assert "webhookDeliveries  2" in out


def test_prune_deletes_published_outbox_rows_only():
    past = timezone.now() - datetime.timedelta(days=40)
    published = OutboxMessage.objects.create(event_id="e1", topic="t", payload={}, published_at=past)
    unpublished = OutboxMessage.objects.create(event_id="e2", topic="t", payload={})
    OutboxMessage.objects.filter(pk=unpublished.pk).update(created_at=past)

    run("prune_history", "--older-than", "30d")

    assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [unpublished.pk]
    assert not OutboxMessage.objects.filter(pk=published.pk).exists()


@pytest.mark.parametrize("value", ["30", "thirty days", "0d", "-5d", "3y"])
def test_prune_rejects_bad_durations(value):
    with pytest.raises(CommandError, match="--older-than") as excinfo:
        call_command("prune_history", f"--older-than={value}")
    assert excinfo.value.returncode == 2


def test_prune_rejects_bad_batch_size():
    with pytest.raises(CommandError, match="--batch-size") as excinfo:
        call_command("prune_history", "--older-than", "30d", "--batch-size", "0")
    assert excinfo.value.returncode == 2


# --- setup_demo --------------------------------------------------------------------------------------------------


def test_setup_demo_is_idempotent_and_prints_a_working_token(client):
    code, out = run("setup_demo", "--json", "--base-url", "http://127.0.0.1:8123")
    assert code == 0
    first = json.loads(out)
    assert first["tenantId"] == "demo"
    assert first["admin"] == {"username": "admin", "created": True}
    assert first["subscription"] == {"eventName": "ALL_EVENTS", "destination": "http://127.0.0.1:8123/demo/webhooks/"}
    assert first["urls"]["dashboard"] == "http://127.0.0.1:8123/ops/dashboard/"
    demo = Partner.objects.get(tenant_id="demo")
    assert demo.cardholders.count() == 3 and demo.wallets.count() == 3 and demo.cards.count() == 3
    assert OutboxMessage.objects.filter(payload__tenantId="demo", payload__eventName="CARD_ISSUED").count() == 3

    code, out = run("setup_demo", "--json", "--base-url", "http://127.0.0.1:8123")
    second = json.loads(out)
    assert second["created"] == []
    assert second["admin"]["created"] is False
    assert second["token"] != first["token"]
    assert demo.cards.count() == 3
    assert EventSubscription.objects.filter(partner=demo).count() == 1
    # The previous run's token was revoked; the new one authenticates.
    assert ApiToken.objects.get(token_hash=hash_token(first["token"])).revoked_at is not None
    response = client.get(
        "/prepaid/auth/v1/event-subscriptions/",
        HTTP_AUTHORIZATION=f"Bearer {second['token']}",
        HTTP_X_TENANT_ID="demo",
    )
    assert response.status_code == 200


def test_setup_demo_human_output_ends_with_the_token():
    code, out = run("setup_demo")

    assert code == 0
    lines = out.strip().splitlines()
    assert lines[-1].startswith("ppn_")
    assert "admin / admin" in out
    assert "local use only" in out
    assert "http://127.0.0.1:8000/demo/" in out


def test_setup_demo_repoints_the_subscription_to_a_new_base_url():
    run("setup_demo", "--json", "--base-url", "http://127.0.0.1:8000")
    code, out = run("setup_demo", "--json", "--base-url", "http://127.0.0.1:9001")

    assert code == 0
    assert json.loads(out)["subscription"]["destination"] == "http://127.0.0.1:9001/demo/webhooks/"


# --- cli helpers -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("12h", 43200), ("30d", 2592000), ("2w", 1209600), (" 7D ", 604800)],
)
def test_parse_duration(text, seconds):
    assert cli.parse_duration(text).total_seconds() == seconds


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_only():
    tty = FakeTty()
    with cli.ProgressBar(10, "pruning", stream=tty) as bar:
        bar.advance(5)
        assert "50%" in bar.render() and "5/10" in bar.render()
        bar.advance(5, label="events")
    assert "100%" in tty.getvalue() and "events" in tty.getvalue()
    assert tty.getvalue().endswith("\n")

    pipe = io.StringIO()
    with cli.ProgressBar(10, stream=pipe) as bar:
        bar.advance(10)
    assert pipe.getvalue() == ""


def test_format_table_aligns_columns():
    table = cli.format_table(["name", "n"], [["a", 1], ["longer", 22]])

    assert table.splitlines() == ["name    n", "------  --", "a       1", "longer  22"]
