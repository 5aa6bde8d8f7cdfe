"""Delivery options on the wire, calling the delivery service against real local HTTP servers: custom headers,
HTTP Basic, OAuth2 client credentials (a local token server), Ed25519 `v1a` signatures verified with an independent
implementation (PyNaCl), the rate limit's hand-back to the database, and the operational events."""

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.utils import timezone
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from standardwebhooks import Webhook

from notifications import services
from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.models import DeliveryAttempt, DeliveryStatus, OutboxMessage, WebhookDelivery
from notifications.webhooks.planning import SubscriptionTarget, subscription_wants
from subscriptions.models import AuditChannel, EventSubscription
from subscriptions.services.subscriptions import DeliveryOptions, subscription_create, subscription_update
from tests.factories import PartnerFactory
from tests.fixtures.processes import free_port
from tests.notifications.helpers import deliver_as_task, kafka_message

pytestmark = pytest.mark.django_db
SYSTEM = {"channel": AuditChannel.SYSTEM, "actor": "test"}


@pytest.fixture
def acme():
    return PartnerFactory(tenant_id="acme")


def make_subscription(partner, url, event_name="TRANSACTION_NOTIFICATION", **options) -> EventSubscription:
    return subscription_create(partner=partner, event_name=event_name, destination=url, max_retries=2,
                               retry_interval_seconds=1, options=DeliveryOptions(**options), **SYSTEM)


def new_delivery(tenant_id="acme", **overrides) -> WebhookDelivery:
    message = kafka_message(tenant_id=tenant_id, **overrides)
    ingest_batch([RawMessage(value=json.dumps(message).encode())])
    return WebhookDelivery.objects.filter(event__event_id=message["eventId"]).order_by("id").first()


def new_deliveries(count: int) -> list[WebhookDelivery]:
    """`count` deliveries ingested in one batch: leased to one task, as the bridge would."""
    messages = [kafka_message(tenant_id="acme") for _ in range(count)]
    ingest_batch([RawMessage(value=json.dumps(m).encode()) for m in messages])
    return list(WebhookDelivery.objects.filter(event__event_id__in=[m["eventId"] for m in messages]))


def make_due(d: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


# --- a local OAuth2 token server -------------------------------------------------------------------------------


@dataclass
class TokenServer:
    port: int
    expires_in: int = 3600
    status: int = 200
    issued: list[str] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/oauth/token"


@pytest.fixture
def token_server():
    server_state = TokenServer(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
            server_state.requests.append({"authorization": self.headers.get("Authorization", ""),
                                          **{k: v[0] for k, v in form.items()}})
            if server_state.status != 200:
                body = json.dumps({"error": "server_error"}).encode()
            else:
                token = f"token-{len(server_state.issued) + 1}"
                server_state.issued.append(token)
                body = json.dumps({"access_token": token, "token_type": "Bearer",
                                   "expires_in": server_state.expires_in}).encode()
            self.send_response(server_state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", server_state.port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server_state
    server.shutdown()
    server.server_close()


# --- headers and Basic -----------------------------------------------------------------------------------------


def test_custom_headers_arrive_beside_a_valid_signature(acme, webhook_receiver):
    subscription = make_subscription(acme, webhook_receiver.url(), headers={"X-Api-Key": "k-1", "X-Team": "pay"})
    d = new_delivery()
    assert deliver_as_task([d.pk]).succeeded == 1
    (request,) = webhook_receiver.requests
    assert request.headers["x-api-key"] == "k-1" and request.headers["x-team"] == "pay"
    assert Webhook(subscription.secret).verify(request.body, request.headers)


def test_headers_and_auth_are_kept_on_retries_replays_and_test_events(acme, webhook_receiver):
    make_subscription(acme, webhook_receiver.url(), headers={"X-Api-Key": "k-1"},
                      auth={"type": "basic", "username": "hooks", "password": "pw"})
    answers = iter([500, 204, 204, 204])
    webhook_receiver.respond = lambda r: next(answers)
    d = new_delivery()
    deliver_as_task([d.pk])  # first attempt, fails
    make_due(d)
    deliver_as_task([d.pk])  # the retry
    services.deliveries_replay(status=DeliveryStatus.SUCCEEDED, tenant_id="acme")
    deliver_as_task([d.pk])  # a replay
    test = services.subscription_send_test(subscription=EventSubscription.objects.get(), channel="PARTNER_API",
                                           actor="acme")
    deliver_as_task([test.pk])  # a test event
    expected = "Basic " + base64.b64encode(b"hooks:pw").decode()
    assert len(webhook_receiver.requests) == 4
    for request in webhook_receiver.requests:
        assert request.headers["x-api-key"] == "k-1" and request.headers["authorization"] == expected


# --- OAuth2 client credentials ---------------------------------------------------------------------------------


def test_oauth_token_is_fetched_once_reused_and_refreshed_after_a_401(acme, webhook_receiver, token_server):
    make_subscription(acme, webhook_receiver.url(), auth={
        "type": "oauth2", "tokenUrl": token_server.url(), "clientId": "hooks", "clientSecret": "cs", "scope": "wh"})
    accepted = {"Bearer token-1"}
    webhook_receiver.respond = lambda r: 204 if r.headers.get("authorization") in accepted else 401
    first = new_deliveries(3)
    assert deliver_as_task([d.pk for d in first]).succeeded == 3
    assert token_server.issued == ["token-1"]  # three requests, one token
    request = token_server.requests[0]
    assert request["grant_type"] == "client_credentials" and request["scope"] == "wh"
    assert request["authorization"] == "Basic " + base64.b64encode(b"hooks:cs").decode()
    assert deliver_as_task([new_delivery().pk]).succeeded == 1
    assert token_server.issued == ["token-1"]  # reused

    accepted = {"Bearer token-2"}  # the endpoint revoked token-1
    d = new_delivery()
    assert deliver_as_task([d.pk]).succeeded == 1  # refused once, fresh token, sent again: one attempt
    assert token_server.issued == ["token-1", "token-2"]
    assert DeliveryAttempt.objects.get(delivery=d).status_code == 204


def test_oauth_token_is_refreshed_shortly_before_it_expires(acme, webhook_receiver, token_server, settings):
    settings.WEBHOOK_OAUTH_TOKEN_LEEWAY_SECONDS = 1
    token_server.expires_in = 2  # usable for one second
    make_subscription(acme, webhook_receiver.url(), auth={
        "type": "oauth2", "tokenUrl": token_server.url(), "clientId": "hooks", "clientSecret": "cs"})
    deliver_as_task([new_delivery().pk])
    deliver_as_task([new_delivery().pk])
    assert token_server.issued == ["token-1"]
    time.sleep(1.2)
    deliver_as_task([new_delivery().pk])
    assert token_server.issued == ["token-1", "token-2"]
    assert [r.headers["authorization"] for r in webhook_receiver.requests] == [
        "Bearer token-1", "Bearer token-1", "Bearer token-2"]


def test_a_failing_token_endpoint_is_a_failed_attempt_retried_on_schedule(acme, webhook_receiver, token_server):
    token_server.status = 500
    make_subscription(acme, webhook_receiver.url(), auth={
        "type": "oauth2", "tokenUrl": token_server.url(), "clientId": "hooks", "clientSecret": "cs"})
    d = new_delivery()
    outcome = deliver_as_task([d.pk])
    assert d.pk in outcome.retrying
    attempt = DeliveryAttempt.objects.get(delivery=d)
    assert attempt.error_class == "OAuthTokenError" and not attempt.succeeded
    assert token_server.url() in attempt.error_message and "500" in attempt.error_message
    assert "cs" not in attempt.error_message.split()
    assert webhook_receiver.requests == []  # nothing sent without a token
    d.refresh_from_db()
    assert d.status == DeliveryStatus.PENDING


def test_a_token_url_on_a_private_address_is_blocked_at_send_time(acme, webhook_receiver, settings):
    subscription = make_subscription(acme, webhook_receiver.url(), auth={
        "type": "oauth2", "tokenUrl": "https://partner.example.com/token", "clientId": "c", "clientSecret": "s"})
    # Stored before the rules changed (or a name that now resolves privately): the send-time check still applies.
    EventSubscription.objects.filter(pk=subscription.pk).update(
        auth_config={**subscription.auth_config, "tokenUrl": "http://10.0.0.5/token"})
    d = new_delivery()
    deliver_as_task([d.pk])
    attempt = DeliveryAttempt.objects.get(delivery=d)
    assert attempt.error_class == "OAuthTokenError" and "non-public" in attempt.error_message


# --- Ed25519 ---------------------------------------------------------------------------------------------------


def _verify_v1a(public_key: str, request) -> bool:
    """The Standard Webhooks `v1a` check written from the spec with PyNaCl (libsodium), not with our code."""
    key = VerifyKey(base64.b64decode(public_key.removeprefix("whpk_")))
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode() + request.body
    for candidate in request.headers["webhook-signature"].split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1a":
            try:
                key.verify(signed, base64.b64decode(signature))
                return True
            except BadSignatureError:
                continue
    return False


def test_ed25519_signatures_verify_independently(acme, webhook_receiver):
    subscription = make_subscription(acme, webhook_receiver.url(), signature_scheme="ed25519")
    deliver_as_task([new_delivery().pk])
    (request,) = webhook_receiver.requests
    assert request.headers["webhook-signature"].startswith("v1a,")
    assert _verify_v1a(subscription.public_key, request)
    tampered = type(request)(request.path, request.headers, request.body + b" ", request.received_at)
    assert not _verify_v1a(subscription.public_key, tampered)


def test_switching_to_ed25519_signs_with_both_keys_during_the_overlap(acme, webhook_receiver):
    subscription = make_subscription(acme, webhook_receiver.url())
    old_secret = subscription.secret
    subscription = subscription_update(subscription=subscription, options=DeliveryOptions(
        signature_scheme="ed25519"), **SYSTEM)
    deliver_as_task([new_delivery().pk])
    (request,) = webhook_receiver.requests
    versions = [s.split(",")[0] for s in request.headers["webhook-signature"].split(" ")]
    assert versions == ["v1a", "v1"]
    assert _verify_v1a(subscription.public_key, request)
    assert Webhook(old_secret).verify(request.body, request.headers)  # receivers not yet switched still verify


# --- rate limit ------------------------------------------------------------------------------------------------


def test_deliveries_over_the_rate_limit_wait_in_the_database(acme, webhook_receiver):
    make_subscription(acme, webhook_receiver.url(), rate_limit_per_second=3)
    deliveries = new_deliveries(8)
    outcome = deliver_as_task([d.pk for d in deliveries])
    assert outcome.succeeded == 3 and len(webhook_receiver.requests) == 3
    assert set(outcome.postponed) == {d.pk for d in deliveries} - {
        d.pk for d in WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED)}
    waiting = WebhookDelivery.objects.filter(pk__in=outcome.postponed)
    now = timezone.now()
    for d in waiting:
        # Not failed, not leased, no attempt counted or recorded: due when its turn comes (waves of 3 a second).
        assert d.status == DeliveryStatus.PENDING and d.claim_token is None and d.attempt_count == 0
        assert d.next_attempt_at > now and not d.attempts.exists()
    assert max(outcome.postponed.values()) > 1.0
    # Within the same second nothing more goes out, however the deliveries are asked for.
    WebhookDelivery.objects.filter(pk__in=outcome.postponed).update(next_attempt_at=now - timedelta(seconds=1))
    assert deliver_as_task(list(outcome.postponed)).succeeded == 0
    assert len(webhook_receiver.requests) == 3


# --- operational events ----------------------------------------------------------------------------------------


def outbox(event_name: str) -> list[dict]:
    return [m.payload for m in OutboxMessage.objects.filter(payload__eventName=event_name)]


def test_endpoint_recovered_fires_once_after_failures(acme, webhook_receiver):
    make_subscription(acme, webhook_receiver.url())
    answers = iter([500, 204, 204])
    webhook_receiver.respond = lambda r: next(answers)
    d = new_delivery()
    deliver_as_task([d.pk])
    make_due(d)
    deliver_as_task([d.pk])
    deliver_as_task([new_delivery().pk])
    (event,) = outbox("ENDPOINT_RECOVERED")
    assert event["data"]["subscriptionEventName"] == "TRANSACTION_NOTIFICATION" and event["data"]["failingSince"]


def test_delivery_attempt_exhausted_fires_once_with_the_event_and_error(acme, webhook_receiver):
    make_subscription(acme, webhook_receiver.url())
    webhook_receiver.respond = lambda r: 503
    d = new_delivery()
    for _ in range(3):  # 1 attempt + maxRetries 2
        make_due(d)
        deliver_as_task([d.pk])
    make_due(d)
    deliver_as_task([d.pk])  # FAILED: nothing more happens
    (event,) = outbox("DELIVERY_ATTEMPT_EXHAUSTED")
    assert event["data"]["eventId"] == d.event.event_id and event["data"]["lastStatusCode"] == 503
    assert event["data"]["attempts"] == 3 and event["data"]["lastError"] == "HTTP 503"


def test_endpoint_disabled_and_enabled_fire_on_each_change(acme, webhook_receiver):
    subscription = make_subscription(acme, webhook_receiver.url())
    subscription_update(subscription=subscription, is_enabled=False, **SYSTEM)
    subscription_update(subscription=subscription, is_enabled=False, **SYSTEM)  # no change, no event
    subscription_update(subscription=subscription, is_enabled=True, **SYSTEM)
    assert len(outbox("ENDPOINT_DISABLED")) == 1
    (enabled,) = outbox("ENDPOINT_ENABLED")
    assert enabled["data"]["enabledBy"] == "PLATFORM"


def test_an_operational_event_never_goes_to_the_subscription_it_is_about(acme, webhook_receiver):
    failing = make_subscription(acme, webhook_receiver.url("/failing"), event_name="ALL_EVENTS")
    watcher = make_subscription(acme, webhook_receiver.url("/watcher"), event_name="ENDPOINT_DISABLED")
    data = {"subscriptionEventName": "ALL_EVENTS", "destination": failing.destination, "reason": "x"}
    new_delivery(event_name="ENDPOINT_DISABLED", data=data)
    assert list(WebhookDelivery.objects.values_list("subscription_id", flat=True)) == [watcher.pk]
    # The rule itself, for every operational event.
    target = SubscriptionTarget(failing.pk, "ALL_EVENTS", [])
    for name in ("ENDPOINT_DISABLED", "ENDPOINT_ENABLED", "ENDPOINT_RECOVERED", "DELIVERY_ATTEMPT_EXHAUSTED"):
        assert not subscription_wants(target, event_name=name, event_type="INSTANT", data=data)
        assert subscription_wants(target, event_name=name, event_type="INSTANT",
                                  data={**data, "subscriptionEventName": "TRANSACTION_NOTIFICATION"})


def test_an_exhausted_operational_event_starts_no_chain(acme, webhook_receiver):
    make_subscription(acme, webhook_receiver.url(), event_name="ALL_EVENTS")
    webhook_receiver.respond = lambda r: 503
    d = new_delivery(event_name="ENDPOINT_RECOVERED", data={"subscriptionEventName": "TRANSACTION_NOTIFICATION"})
    for _ in range(3):
        make_due(d)
        deliver_as_task([d.pk])
    d.refresh_from_db()
    assert d.status == DeliveryStatus.FAILED and outbox("DELIVERY_ATTEMPT_EXHAUSTED") == []
