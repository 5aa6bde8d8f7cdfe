"""An endpoint answering in 10 s must not hold back deliveries to healthy endpoints."""

import time

import pytest

from notifications.models import DeliveryStatus, WebhookDelivery
from tests.factories import EventSubscriptionFactory, PartnerFactory
from tests.fixtures.processes import wait_until
from tests.notifications.helpers import kafka_message

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_slow_endpoint_does_not_starve_healthy_ones(kafka_topic, tansu_broker, webhook_receiver, start_worker,
                                                    start_bridge):
    slow, healthy = PartnerFactory(tenant_id="slow"), PartnerFactory(tenant_id="healthy")
    EventSubscriptionFactory(partner=slow, event_name="ALL_EVENTS", destination=webhook_receiver.url("/slow"))
    healthy_sub = EventSubscriptionFactory(partner=healthy, event_name="ALL_EVENTS",
                                           destination=webhook_receiver.url("/healthy"))
    webhook_receiver.respond = lambda r: (204, {}, 10.0) if r.path == "/slow" else 204
    env = {"WEBHOOK_READ_TIMEOUT_SECONDS": "15"}
    start_worker(concurrency=4, **env)
    start_bridge(**env)
    # Warm up (consumer group joined, worker connected) so the timing below measures only the isolation.
    tansu_broker.produce(kafka_topic, [kafka_message(tenant_id="healthy")])
    healthy_done = WebhookDelivery.objects.filter(subscription=healthy_sub, status=DeliveryStatus.SUCCEEDED)
    wait_until(lambda: healthy_done.count() == 1, 30, message="the warm-up delivery")
    # The slow partner's events go first, so they are queued ahead of the healthy ones.
    tansu_broker.produce(kafka_topic, [kafka_message(tenant_id="slow") for _ in range(150)])
    time.sleep(1)
    started = time.monotonic()
    tansu_broker.produce(kafka_topic, [kafka_message(tenant_id="healthy") for _ in range(150)])

    wait_until(lambda: healthy_done.count() == 151, 30, message="every healthy delivery")
    elapsed = time.monotonic() - started
    slow_done = WebhookDelivery.objects.filter(partner=slow, status=DeliveryStatus.SUCCEEDED).count()
    # Every healthy delivery landed before the slow endpoint answered even once (it takes 10 s per request).
    assert slow_done == 0
    assert elapsed < 9
