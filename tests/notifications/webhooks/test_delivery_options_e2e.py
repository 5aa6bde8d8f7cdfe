"""Delivery options through real worker processes: the rate limit held across two workers (and an unlimited
endpoint beside it not slowed), and mTLS against an HTTPS receiver that requires a client certificate from a local
CA."""

import json
import time

import pytest
from django.db import transaction

from notifications import queue
from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.models import DeliveryAttempt, DeliveryStatus, WebhookDelivery
from subscriptions.models import AuditChannel
from subscriptions.services.subscriptions import DeliveryOptions, subscription_create
from tests.factories import PartnerFactory
from tests.fixtures.processes import wait_until
from tests.fixtures.receiver import WebhookReceiver
from tests.notifications.helpers import kafka_message
from tests.security.netdoubles import LocalCA

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SYSTEM = {"channel": AuditChannel.SYSTEM, "actor": "test"}


def subscribe(tenant: str, url: str, **options):
    return subscription_create(partner=PartnerFactory(tenant_id=tenant), event_name="ALL_EVENTS", destination=url,
                               max_retries=3, retry_interval_seconds=1, options=DeliveryOptions(**options), **SYSTEM)


def ingest_and_enqueue(messages: list[dict]) -> None:
    """What the bridge does: one transaction for the batch, then its tasks."""
    with transaction.atomic():
        result = ingest_batch([RawMessage(value=json.dumps(m).encode()) for m in messages])
    queue.enqueue_delivery_batches(result.delivery_batches)


def test_rate_limit_holds_across_two_workers_and_does_not_slow_others(webhook_receiver, start_worker):
    limited = subscribe("limited", webhook_receiver.url("/limited"), rate_limit_per_second=5)
    subscribe("free", webhook_receiver.url("/free"))
    start_worker(concurrency=4)
    start_worker(concurrency=4)
    started = time.time()
    # Interleaved, in batches as the bridge writes them: both endpoints' work arrives together.
    for _ in range(5):
        ingest_and_enqueue([kafka_message(tenant_id=t) for _ in range(10) for t in ("limited", "free")])

    def arrivals(path: str) -> list[float]:
        with webhook_receiver.lock:
            return sorted(r.received_at for r in webhook_receiver.requests if r.path == path)

    wait_until(lambda: len(arrivals("/free")) == 50, 30, message="the unlimited endpoint's 50 deliveries")
    free_done = arrivals("/free")[-1] - started
    wait_until(lambda: len(arrivals("/limited")) == 50, 60, message="the limited endpoint's 50 deliveries")
    times = arrivals("/limited")
    # Never more than 5 within any one second: the 6th arrival after any arrival is at least a second later.
    gaps = [times[i + 5] - times[i] for i in range(len(times) - 5)]
    assert min(gaps) >= 1.0, f"6 requests within {min(gaps):.3f} s"
    assert times[-1] - times[0] >= 9.0
    # The unlimited endpoint was done while the limited one had most of its backlog still waiting.
    assert free_done < 5.0, free_done
    assert sum(1 for t in times if t - started <= free_done) <= 5 * (int(free_done) + 2)
    # Nothing failed or was dropped for the limit: one attempt each, all delivered once.
    done = WebhookDelivery.objects.filter(subscription=limited)
    assert done.filter(status=DeliveryStatus.SUCCEEDED).count() == 50
    assert DeliveryAttempt.objects.filter(delivery__subscription=limited).count() == 50
    assert len({r.headers["webhook-id"] for r in webhook_receiver.requests if r.path == "/limited"}) == 50


@pytest.fixture
def mtls_server(tmp_path):
    ca = LocalCA(tmp_path)
    certfile, keyfile = ca.issue_server("127.0.0.1")
    server = WebhookReceiver(certfile=certfile, keyfile=keyfile, client_ca=ca.ca_file).start()
    yield ca, server
    server.stop()


def test_mtls_presents_the_client_certificate_and_a_subscription_without_it_is_refused(mtls_server, start_worker):
    ca, server = mtls_server
    cert, key = ca.issue_client("acme-webhooks")
    with_cert = subscribe("acme", server.url(path="/with"), auth={"type": "mtls", "certificate": cert,
                                                                  "privateKey": key})
    without = subscribe("globex", server.url(path="/without"))
    # The worker trusts the local CA for the server's certificate, as it would a public CA in production.
    start_worker(concurrency=2, SSL_CERT_FILE=ca.ca_file)
    ingest_and_enqueue([kafka_message(tenant_id="acme"), kafka_message(tenant_id="globex")])

    wait_until(lambda: WebhookDelivery.objects.filter(subscription=with_cert, status="SUCCEEDED").exists(), 30,
               message="the mTLS delivery")
    wait_until(lambda: DeliveryAttempt.objects.filter(delivery__subscription=without).exists(), 30,
               message="the attempt without a certificate")
    [request] = server.requests
    assert request.path == "/with"
    assert dict(item[0] for item in request.client_certificate["subject"])["commonName"] == "acme-webhooks"
    refused = DeliveryAttempt.objects.get(delivery__subscription=without)
    assert not refused.succeeded and refused.status_code is None and refused.error_class
    assert server.tls_errors  # the receiver refused the handshake
