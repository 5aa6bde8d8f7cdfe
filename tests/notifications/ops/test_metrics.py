"""/metrics: every family present with the right values for seeded rows."""

import datetime
import io

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from notifications.models import DeliveryStatus
from notifications.ops import heartbeats
from tests.factories import (
    CustomerMessageFactory,
    DeadLetterFactory,
    DeliveryAttemptFactory,
    EventFactory,
    PartnerFactory,
    WebhookDeliveryFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _debug_for_open_metrics(settings, request):
    """Most tests here read the figures as `make run` (DEBUG on) serves them; the token tests set their own."""
    if "no_debug" not in request.keywords:
        settings.DEBUG = True


def scrape(client, **headers) -> dict[str, dict[tuple, float]]:
    """{sample name: {sorted label items: value}}"""
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


@pytest.fixture
def seeded(db):
    now = timezone.now()
    acme, globex = PartnerFactory(tenant_id="acme"), PartnerFactory(tenant_id="globex")
    for _ in range(3):
        EventFactory(partner=acme, event_name="TRANSACTION_NOTIFICATION")
    EventFactory(partner=acme, event_name="CARD_ISSUED")

    ok = [WebhookDeliveryFactory(partner=acme, status=DeliveryStatus.SUCCEEDED) for _ in range(3)]
    failed = WebhookDeliveryFactory(partner=acme, status=DeliveryStatus.FAILED)
    WebhookDeliveryFactory(partner=globex, status=DeliveryStatus.SUCCEEDED)
    WebhookDeliveryFactory(partner=globex, status=DeliveryStatus.PENDING, next_attempt_at=now)  # due now: not overdue
    WebhookDeliveryFactory(
        partner=globex, status=DeliveryStatus.PENDING, next_attempt_at=now - datetime.timedelta(minutes=10)
    )
    WebhookDeliveryFactory(
        partner=globex,
        status=DeliveryStatus.SENDING,
        next_attempt_at=now - datetime.timedelta(minutes=20),
        lease_expires_at=now - datetime.timedelta(minutes=5),
    )

    DeliveryAttemptFactory(delivery=ok[0], duration_ms=20, status_code=200, succeeded=True)
    DeliveryAttemptFactory(delivery=ok[1], duration_ms=300, status_code=204, succeeded=True)
    DeliveryAttemptFactory(delivery=ok[2], duration_ms=3000, status_code=200, succeeded=True)
    DeliveryAttemptFactory(delivery=failed, duration_ms=80, status_code=503, succeeded=False)
    DeliveryAttemptFactory(delivery=failed, duration_ms=15000, status_code=None, error_class="ReadTimeout",
                           succeeded=False)
    DeliveryAttemptFactory(delivery=failed, duration_ms=5, status_code=None, error_class="ConnectionRefusedError",
                           succeeded=False)

    DeadLetterFactory(reason_code="invalid_json")
    DeadLetterFactory(reason_code="invalid_json", status="REDRIVEN")
    DeadLetterFactory(reason_code="unknown_tenant")

    CustomerMessageFactory(partner=acme, channel="SMS", status="SENT")
    CustomerMessageFactory(partner=acme, channel="SMS", status="SENT")
    CustomerMessageFactory(partner=acme, channel="EMAIL", status="FAILED")
    CustomerMessageFactory(partner=acme, channel="PUSH", status="PENDING",
                           next_attempt_at=now - datetime.timedelta(minutes=5))

    heartbeats.heartbeat_record(
        name="bridge:host-1",
        details={"lag": {"pp_initiate_notification:0": 5, "pp_initiate_notification:1": 7}, "total_lag": 12},
    )
    heartbeats.heartbeat_record(
        name="bridge:dead", details={"lag": {"pp_initiate_notification:2": 999}, "total_lag": 999},
        at=now - datetime.timedelta(hours=1),
    )
    heartbeats.heartbeat_record(name="worker:celery@w1")


def test_every_family_with_its_values(client, seeded):
    m = scrape(client)

    assert m["notif_database_up"][()] == 1
    # Counters: events (4 seeded, plus one per delivery and per message the factories made), attempts, dead letters.
    events = m["notif_events_ingested_total"]
    assert events[(("event_name", "CARD_ISSUED"),)] == 1
    assert events[(("event_name", "TRANSACTION_NOTIFICATION"),)] == 3 + 8 + 4
    attempts = m["notif_delivery_attempts_total"]
    assert attempts == {
        (("outcome", "success"),): 3,
        (("outcome", "http_5xx"),): 1,
        (("outcome", "timeout"),): 1,
        (("outcome", "error"),): 1,
    }
    assert m["notif_dead_letters_total"] == {
        (("reason_code", "invalid_json"),): 2,
        (("reason_code", "unknown_tenant"),): 1,
    }

    # Histogram: cumulative buckets in seconds.
    buckets = {dict(k)["le"]: v for k, v in m["notif_delivery_attempt_duration_seconds_bucket"].items()}
    assert buckets["0.025"] == 2  # 20 ms and 5 ms
    assert buckets["0.1"] == 3
    assert buckets["0.5"] == 4
    assert buckets["5.0"] == 5
    assert buckets["10.0"] == 5
    assert buckets["30.0"] == 6
    assert buckets["+Inf"] == 6
    assert m["notif_delivery_attempt_duration_seconds_count"][()] == 6
    assert m["notif_delivery_attempt_duration_seconds_sum"][()] == pytest.approx(18.405)

    # Open work and overdue work.
    assert m["notif_webhook_deliveries_open"] == {(("status", "PENDING"),): 2, (("status", "SENDING"),): 1}
    assert m["notif_webhook_deliveries_overdue"][()] == 2
    # The PENDING one due 10 min ago is older than the SENDING one whose lease ran out 5 min ago.
    assert 9 * 60 < m["notif_webhook_oldest_overdue_seconds"][()] < 11 * 60
    recent = m["notif_webhook_deliveries_recent"]
    assert recent[(("status", "SUCCEEDED"),)] == 4
    assert recent[(("status", "FAILED"),)] == 1

    # Per-partner success rate: acme 3 of 4, globex 1 of 1 (open ones do not count).
    assert m["notif_partner_delivery_success_ratio"] == {(("tenant", "acme"),): 0.75, (("tenant", "globex"),): 1.0}
    finished = m["notif_partner_deliveries_finished_recent"]
    assert finished[(("outcome", "FAILED"), ("tenant", "acme"))] == 1

    assert m["notif_dead_letters_current"] == {
        (("reason_code", "invalid_json"), ("status", "OPEN")): 1,
        (("reason_code", "invalid_json"), ("status", "REDRIVEN")): 1,
        (("reason_code", "unknown_tenant"), ("status", "OPEN")): 1,
    }
    messages = m["notif_customer_messages_recent"]
    assert messages[(("channel", "SMS"), ("status", "SENT"))] == 2
    assert messages[(("channel", "EMAIL"), ("status", "FAILED"))] == 1
    assert m["notif_customer_messages_overdue"][()] == 1

    # Lag from the live bridge only; the stale one no longer owns its partitions.
    assert m["notif_kafka_consumer_lag"] == {
        (("bridge", "host-1"), ("partition", "pp_initiate_notification:0")): 5,
        (("bridge", "host-1"), ("partition", "pp_initiate_notification:1")): 7,
    }
    assert m["notif_kafka_consumer_lag_total"][()] == 12
    ages = m["notif_heartbeat_age_seconds"]
    assert ages[(("service", "worker:celery@w1"),)] < 60
    assert ages[(("service", "bridge:dead"),)] > 3500
    assert "notif_outbox_unpublished" in m
    assert "notif_subscriptions_disabled" in m


def test_counters_only_grow_and_survive_pruning(client, seeded):
    from django.core.management import call_command

    first = scrape(client)
    EventFactory(event_name="CARD_ISSUED")
    second = scrape(client)
    assert second["notif_events_ingested_total"][(("event_name", "CARD_ISSUED"),)] == 2
    # Nothing counted twice on a scrape without new rows.
    assert scrape(client)["notif_delivery_attempts_total"] == first["notif_delivery_attempts_total"]

    # Pruning history deletes rows, not what the counters already counted.
    from notifications.models import DeliveryAttempt, Event

    DeliveryAttempt.objects.update(started_at=timezone.now() - datetime.timedelta(days=90))
    Event.objects.update(received_at=timezone.now() - datetime.timedelta(days=90))
    call_command("prune_history", "--older-than", "30d", "--json", stdout=io.StringIO())
    assert DeliveryAttempt.objects.filter(delivery__status="SUCCEEDED").count() == 0
    after = scrape(client)
    assert after["notif_delivery_attempts_total"] == first["notif_delivery_attempts_total"]
    assert after["notif_events_ingested_total"][(("event_name", "CARD_ISSUED"),)] == 2


def test_rows_inside_the_settle_window_wait_for_the_next_scrape(client, seeded, settings):
    settings.METRICS_SETTLE_SECONDS = 30
    # Everything seeded is younger than 30 s: not counted yet.
    assert scrape(client).get("notif_events_ingested_total", {}) == {}
    EventFactory(event_name="CARD_ISSUED", received_at=timezone.now() - datetime.timedelta(minutes=1))
    # The settled row has the highest id, so everything below it is counted now.
    assert scrape(client)["notif_events_ingested_total"][(("event_name", "CARD_ISSUED"),)] == 2


def test_empty_database_still_exposes_the_families(client):
    m = scrape(client)

    assert m["notif_database_up"][()] == 1
    assert m["notif_webhook_deliveries_overdue"][()] == 0
    assert m["notif_delivery_attempt_duration_seconds_count"][()] == 0
    assert "notif_kafka_consumer_lag_total" not in m  # unknown, not zero, while no bridge reports


@pytest.mark.no_debug
def test_without_debug_metrics_are_closed_until_a_token_is_configured(client, settings):
    settings.DEBUG, settings.METRICS_BEARER_TOKEN = False, ""
    response = client.get("/metrics")
    assert response.status_code == 403
    assert b"METRICS_BEARER_TOKEN" in response.content
    assert b"tenant" not in response.content


@pytest.mark.no_debug
def test_bearer_token_protects_metrics_when_configured(client, settings):
    settings.METRICS_BEARER_TOKEN = "s3cret-scrape-token"

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert scrape(client, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")["notif_database_up"][()] == 1
