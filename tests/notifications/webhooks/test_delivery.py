"""Delivery semantics, calling the delivery service directly against a real local HTTP receiver."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from standardwebhooks import Webhook

from notifications import services
from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.models import DeliveryAttempt, DeliveryStatus, Event, OutboxMessage, WebhookDelivery
from notifications.webhooks import delivery, recording, sql
from notifications.webhooks.sender import OutgoingRequest, WebhookSender
from subscriptions.models import AuditEntry, EventSubscription, generate_signing_secret
from tests.factories import EventSubscriptionFactory, PartnerFactory
from tests.notifications.helpers import deliver_as_task, expire_lease, kafka_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    return PartnerFactory(tenant_id="acme")


@pytest.fixture
def subscription(acme, webhook_receiver):
    return EventSubscriptionFactory(partner=acme, destination=webhook_receiver.url(), max_retries=2,
                                    retry_interval_seconds=1)


def new_delivery(**message_overrides) -> WebhookDelivery:
    message = kafka_message(**message_overrides)
    result = ingest_batch([RawMessage(value=json.dumps(message).encode())])
    assert result.delivery_count == 1
    return WebhookDelivery.objects.get(event__event_id=message["eventId"])


def make_due(d: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_success_is_recorded_and_signature_verifies(subscription, webhook_receiver):
    d = new_delivery()
    outcome = deliver_as_task([d.pk])
    assert outcome.succeeded == 1
    d.refresh_from_db()
    assert d.status == DeliveryStatus.SUCCEEDED and d.completed_at and d.last_status_code == 204
    (request,) = webhook_receiver.requests
    assert Webhook(subscription.secret).verify(request.body, request.headers)["eventId"] == d.event.event_id
    attempt = d.attempts.get()
    assert attempt.succeeded and attempt.status_code == 204 and attempt.duration_ms >= 0


def test_requests_carry_our_user_agent_not_aiohttps(subscription, webhook_receiver):
    # The session's default User-Agent replaces aiohttp's without skip_auto_headers (issue 20: that option cost a
    # header copy per request).
    assert deliver_as_task([new_delivery().pk]).succeeded == 1
    (request,) = webhook_receiver.requests
    assert request.headers["user-agent"] == "prepaid-notifications/1.0 (+webhooks)"
    assert request.headers["content-type"] == "application/json"


def test_failure_then_success_is_retried_with_every_attempt_recorded(subscription, webhook_receiver):
    answers = iter([500, 200])
    webhook_receiver.respond = lambda r: next(answers)
    d = new_delivery()
    first = deliver_as_task([d.pk])
    d.refresh_from_db()
    assert d.status == DeliveryStatus.PENDING and first.retrying and d.last_status_code == 500
    assert 0.9 <= first.retrying[d.pk] <= 1.1  # base interval 1 s, first retry, ±10 % jitter
    assert deliver_as_task([d.pk]).claimed == 0  # not due yet: nothing sent
    make_due(d)
    deliver_as_task([d.pk])
    d.refresh_from_db()
    assert d.status == DeliveryStatus.SUCCEEDED
    attempts = list(d.attempts.values_list("attempt_number", "status_code", "succeeded", "response_body"))
    assert attempts[0][:3] == (1, 500, False) and "receiver says no" in attempts[0][3]
    assert attempts[1][:3] == (2, 200, True)
    ids = webhook_receiver.ids()
    assert ids == [d.event.event_id, d.event.event_id]  # same webhook-id on every retry


def test_exhausted_retries_fail_then_a_replay_delivers(subscription, webhook_receiver):
    webhook_receiver.respond = lambda r: 503
    d = new_delivery()
    for _ in range(3):  # 1 attempt + maxRetries 2
        make_due(d)
        deliver_as_task([d.pk])
    d.refresh_from_db()
    assert d.status == DeliveryStatus.FAILED and d.attempt_count == 3
    make_due(d)
    assert deliver_as_task([d.pk]).claimed == 0  # FAILED is final until replayed

    webhook_receiver.respond = lambda r: 200
    summary = services.deliveries_replay(status=DeliveryStatus.FAILED, tenant_id="acme")
    assert summary.replayed == 1
    deliver_as_task([d.pk])
    d.refresh_from_db()
    assert d.status == DeliveryStatus.SUCCEEDED and d.attempt_count == 4


def test_redirects_are_not_followed(subscription, webhook_receiver):
    webhook_receiver.respond = lambda r: (302, {"Location": "http://127.0.0.1:1/elsewhere"}, 0)
    d = new_delivery()
    deliver_as_task([d.pk])
    d.refresh_from_db()
    assert d.status == DeliveryStatus.PENDING and d.last_status_code == 302
    assert len(webhook_receiver.requests) == 1


def test_timeout_is_a_failed_attempt(subscription, webhook_receiver, settings):
    settings.WEBHOOK_READ_TIMEOUT_SECONDS = 0.3
    webhook_receiver.respond = lambda r: (200, {}, 1.0)
    d = new_delivery()
    deliver_as_task([d.pk])
    attempt = DeliveryAttempt.objects.get(delivery=d)
    assert attempt.error_class == "Timeout" and attempt.status_code is None and not attempt.succeeded


def test_connection_closed_mid_request_is_a_failed_attempt(subscription, webhook_receiver):
    webhook_receiver.respond = lambda r: "close"
    d = new_delivery()
    deliver_as_task([d.pk])
    attempt = DeliveryAttempt.objects.get(delivery=d)
    assert attempt.error_class and not attempt.succeeded
    d.refresh_from_db()
    assert d.status == DeliveryStatus.PENDING


def test_gone_disables_the_subscription_and_tells_the_partner(subscription, webhook_receiver):
    webhook_receiver.respond = lambda r: 410
    d = new_delivery()
    deliver_as_task([d.pk])
    d.refresh_from_db()
    subscription.refresh_from_db()
    assert d.status == DeliveryStatus.FAILED
    assert not subscription.is_enabled and "410" in subscription.disabled_reason
    outbox = OutboxMessage.objects.get(payload__eventName="SUBSCRIPTION_DISABLED")
    assert outbox.payload["data"]["subscriptionEventName"] == subscription.event_name
    # And the operational events: the endpoint is disabled, and this delivery failed for good.
    assert sorted(OutboxMessage.objects.values_list("payload__eventName", flat=True)) == [
        "DELIVERY_ATTEMPT_EXHAUSTED", "ENDPOINT_DISABLED", "SUBSCRIPTION_DISABLED"]
    assert AuditEntry.objects.filter(action="subscription.disabled").exists()


def test_continuous_failure_for_the_configured_period_disables(subscription, webhook_receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER_FAILING_SECONDS = 3600
    webhook_receiver.respond = lambda r: 500
    d = new_delivery()
    deliver_as_task([d.pk])
    subscription.refresh_from_db()
    assert subscription.is_enabled and subscription.failing_since is not None
    EventSubscription.objects.filter(pk=subscription.pk).update(failing_since=timezone.now() - timedelta(hours=2))
    make_due(d)
    deliver_as_task([d.pk])
    subscription.refresh_from_db()
    assert not subscription.is_enabled and subscription.disabled_at


def test_a_success_clears_the_failing_streak(subscription, webhook_receiver):
    EventSubscription.objects.filter(pk=subscription.pk).update(failing_since=timezone.now() - timedelta(days=1))
    deliver_as_task([new_delivery().pk])
    subscription.refresh_from_db()
    assert subscription.failing_since is None


def test_retry_after_is_honoured(subscription, webhook_receiver):
    webhook_receiver.respond = lambda r: (429, {"Retry-After": "120"}, 0)
    d = new_delivery()
    before = timezone.now()
    outcome = deliver_as_task([d.pk])
    d.refresh_from_db()
    assert outcome.retrying[d.pk] == 120
    assert timedelta(seconds=115) < d.next_attempt_at - before < timedelta(seconds=125)


def test_disabled_subscription_is_not_sent_and_resumes_when_enabled(subscription, webhook_receiver):
    d = new_delivery()
    EventSubscription.objects.filter(pk=subscription.pk).update(is_enabled=False)
    assert deliver_as_task([d.pk]).claimed == 0
    assert not webhook_receiver.requests
    EventSubscription.objects.filter(pk=subscription.pk).update(is_enabled=True)
    assert deliver_as_task([d.pk]).succeeded == 1


def test_a_claimed_delivery_cannot_be_claimed_again_until_its_lease_expires(subscription):
    import uuid

    d = new_delivery()
    expire_lease(d)
    first = sql.claim_deliveries([d.pk], uuid.uuid4())
    assert [c.delivery_id for c in first] == [d.pk]
    assert sql.claim_deliveries([d.pk], uuid.uuid4()) == []
    WebhookDelivery.objects.filter(pk=d.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    again = sql.claim_deliveries([d.pk], uuid.uuid4())
    assert [c.attempt_number for c in again] == [2]


def test_a_stale_worker_cannot_overwrite_the_outcome(subscription, webhook_receiver):
    """Worker A's lease expired and worker B re-claimed the row: A's late result must not mark it."""
    import uuid

    d = new_delivery()
    expire_lease(d)
    token_a = uuid.uuid4()
    claimed_a = sql.claim_deliveries([d.pk], token_a)
    WebhookDelivery.objects.filter(pk=d.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    deliver_as_task([d.pk])  # worker B sends and marks SUCCEEDED
    from notifications.webhooks.sender import SendResult

    failure = SendResult(started_at=timezone.now(), duration_ms=1, status_code=500)
    recording.record_batch(token_a, claimed_a, {d.pk: failure}, {subscription.pk: subscription}, {})
    d.refresh_from_db()
    assert d.status == DeliveryStatus.SUCCEEDED


def test_body_with_a_card_number_is_refused_not_sent(subscription, webhook_receiver):
    d = new_delivery(data={"kitNo": "K1", "note": "card 4111 1111 1111 1111"})
    assert d.event.holds_card_number is True  # the verdict is taken once, at ingest
    deliver_as_task([d.pk])
    d.refresh_from_db()
    assert d.status == DeliveryStatus.FAILED and d.last_error == "content_contains_card_number"
    assert not webhook_receiver.requests


def test_the_guard_checks_at_send_time_a_body_ingest_did_not_check(subscription, webhook_receiver):
    clean, unchecked = new_delivery(), new_delivery()
    assert clean.event.holds_card_number is False
    body = json.loads(unchecked.event.body)
    body["data"]["note"] = "card 4111-1111-1111-1111"
    Event.objects.filter(pk=unchecked.event_id).update(body=json.dumps(body), holds_card_number=None)
    expire_lease(clean, unchecked)
    deliver_as_task([clean.pk, unchecked.pk])
    statuses = dict(WebhookDelivery.objects.filter(pk__in=[clean.pk, unchecked.pk]).values_list("pk", "status"))
    assert statuses == {clean.pk: DeliveryStatus.SUCCEEDED, unchecked.pk: DeliveryStatus.FAILED}
    assert [r.headers["webhook-id"] for r in webhook_receiver.requests] == [clean.event.event_id]


def test_during_rotation_both_secrets_sign(subscription, webhook_receiver):
    old = subscription.secret
    subscription.previous_secret_encrypted = subscription.secret_encrypted
    subscription.previous_secret_expires_at = timezone.now() + timedelta(hours=24)
    subscription.set_secret(generate_signing_secret())
    subscription.save()
    deliver_as_task([new_delivery().pk])
    (request,) = webhook_receiver.requests
    assert len(request.headers["webhook-signature"].split()) == 2
    Webhook(old).verify(request.body, request.headers)
    Webhook(subscription.secret).verify(request.body, request.headers)


def test_private_destination_is_blocked_at_send_time(subscription, webhook_receiver, settings):
    settings.WEBHOOK_DESTINATION_ALLOWLIST = []
    d = new_delivery()
    deliver_as_task([d.pk])
    attempt = DeliveryAttempt.objects.get(delivery=d)
    assert attempt.error_class == "EgressBlocked" and "127.0.0.1" in attempt.error_message
    assert not webhook_receiver.requests


def test_manual_retry_refuses_cancelled_and_in_flight(subscription):

    d = new_delivery()  # leased to its task at ingest: in flight
    with pytest.raises(services.DeliveryNotRetryable):
        services.delivery_retry(delivery=d, actor="t", channel="ADMIN")
    WebhookDelivery.objects.filter(pk=d.pk).update(status=DeliveryStatus.CANCELLED)
    d.refresh_from_db()
    with pytest.raises(services.DeliveryNotRetryable):
        services.delivery_retry(delivery=d, actor="t", channel="ADMIN")


# --- the first attempt is leased at ingest (no claim) -------------------------------------------------------------


def _claims(queries) -> list[str]:
    return [q["sql"] for q in queries if "SET status = 'SENDING'" in q["sql"]]


def test_ingest_leases_each_task_sized_batch_to_its_own_token(subscription, settings):
    settings.WEBHOOK_DELIVERY_BATCH_SIZE = 2
    before = timezone.now()
    result = ingest_batch([RawMessage(value=json.dumps(kafka_message()).encode()) for _ in range(3)])
    assert [len(b.delivery_ids) for b in result.delivery_batches] == [2, 1]
    assert len({b.claim_token for b in result.delivery_batches}) == 2
    lease = timedelta(seconds=settings.REQUEUE_GRACE_SECONDS + settings.DELIVERY_LEASE_SECONDS)
    for batch in result.delivery_batches:
        rows = WebhookDelivery.objects.filter(pk__in=batch.delivery_ids)
        assert {(r.status, r.claim_token, r.attempt_count) for r in rows} == {
            (DeliveryStatus.SENDING, batch.claim_token, 0)
        }
        assert all(before + lease <= r.lease_expires_at <= timezone.now() + lease for r in rows)


def test_the_first_attempt_is_sent_without_a_claim(subscription, webhook_receiver):
    d = new_delivery()
    with CaptureQueriesContext(connection) as queries:
        assert deliver_as_task([d.pk]).succeeded == 1
    assert _claims(queries.captured_queries) == []
    d.refresh_from_db()
    assert (d.status, d.attempt_count, d.claim_token, d.lease_expires_at) == (DeliveryStatus.SUCCEEDED, 1, None, None)
    assert list(DeliveryAttempt.objects.filter(delivery=d).values_list("attempt_number", flat=True)) == [1]


def test_a_task_too_late_for_a_full_lease_renews_it_with_a_claim(subscription, webhook_receiver, settings):
    d = new_delivery()
    WebhookDelivery.objects.filter(pk=d.pk).update(lease_expires_at=timezone.now() + timedelta(seconds=5))
    with CaptureQueriesContext(connection) as queries:
        assert deliver_as_task([d.pk]).succeeded == 1
    assert len(_claims(queries.captured_queries)) == 1
    assert DeliveryAttempt.objects.get(delivery=d).attempt_number == 1


def test_rows_leased_to_a_task_are_not_taken_by_another_until_the_lease_expires(subscription, webhook_receiver):
    import uuid

    d = new_delivery()
    assert delivery.deliver_batch([d.pk]).claimed == 0  # a re-enqueued copy, without the token
    assert delivery.deliver_batch([d.pk], claim_token=uuid.uuid4()).claimed == 0  # another task's token
    assert not webhook_receiver.requests
    expire_lease(d)
    assert delivery.deliver_batch([d.pk]).succeeded == 1
    assert len(webhook_receiver.requests) == 1


def test_the_sweep_finds_a_lost_tasks_rows_once_their_lease_expires(subscription):
    d = new_delivery()
    assert delivery.due_delivery_ids(grace_seconds=0) == {}
    expire_lease(d)
    assert delivery.due_delivery_ids(grace_seconds=0) == {subscription.pk: [d.pk]}


def test_leased_rows_of_a_disabled_subscription_are_released_to_pending(subscription, webhook_receiver):
    d = new_delivery()
    EventSubscription.objects.filter(pk=subscription.pk).update(is_enabled=False)
    assert deliver_as_task([d.pk]).claimed == 0
    d.refresh_from_db()
    assert (d.status, d.claim_token, d.lease_expires_at) == (DeliveryStatus.PENDING, None, None)
    assert not webhook_receiver.requests


@pytest.mark.parametrize(
    ("slowness", "queued", "expected"),
    [(5.0, 0, 5.0), (5.0, 96, 15.0), (0.2, 0, 1.0), (20.0, 320, 30.0)],
)
def test_a_slow_endpoints_batch_comes_back_when_its_backlog_should_have_drained(
    subscription, settings, monkeypatch, slowness, queued, expected
):
    """Deferred: its slowness x the rounds of in-flight requests queued ahead of it, 1-30 s."""
    settings.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT = 32

    class SaturatedSlowEndpoint:
        def acquire_batch_slot(self, *_args, **_kwargs):
            return False

        def endpoint_slowness(self, _key):
            return slowness

        def endpoint_load(self, _key):
            return queued

    monkeypatch.setattr(delivery, "get_sender", SaturatedSlowEndpoint)
    d = new_delivery()
    outcome = delivery.deliver_batch([d.pk], subscription_id=subscription.pk, claim_token=d.claim_token)
    assert outcome.deferred == [d.pk] and outcome.defer_seconds == pytest.approx(expected)
    d.refresh_from_db()
    assert (d.status, d.attempt_count) == (DeliveryStatus.SENDING, 0)  # still leased to its task, nothing sent


class CountingSlots:
    """The real sender, recording which batch slots were taken and given back."""

    def __init__(self):
        self.sender = WebhookSender()
        self.taken: list[str] = []
        self.released: list[str] = []

    def acquire_batch_slot(self, key, slots, **kwargs):
        self.taken.append(key)
        return self.sender.acquire_batch_slot(key, slots, **kwargs)

    def release_batch_slot(self, key):
        self.released.append(key)
        self.sender.release_batch_slot(key)

    def __getattr__(self, name):
        return getattr(self.sender, name)


def test_a_batch_holds_one_slot_of_its_endpoint_while_it_sends_and_gives_it_back(subscription, monkeypatch):
    slots = CountingSlots()
    monkeypatch.setattr(delivery, "get_sender", lambda: slots)
    key = subscription.pk
    for size in (1, 7, 100):  # a short batch takes a slot like a full one
        batch = [new_delivery() for _ in range(size)]
        expire_lease(*batch)  # claimable by a task without their ingest lease token
        assert delivery.deliver_batch([d.pk for d in batch], subscription_id=key).succeeded == size
    assert slots.taken == slots.released == [key] * 3
    assert slots.sender.acquire_batch_slot(key, 1, wait=0, slow_after=1) is True  # nothing left held


def test_a_batch_gives_its_slot_back_when_sending_fails(subscription, monkeypatch):
    slots = CountingSlots()
    monkeypatch.setattr(delivery, "get_sender", lambda: slots)

    def broken_send(_requests, timeout=None):
        raise RuntimeError("event loop gone")

    monkeypatch.setattr(slots.sender, "send_many", broken_send)
    d = new_delivery()
    with pytest.raises(RuntimeError):
        delivery.deliver_batch([d.pk], subscription_id=subscription.pk, claim_token=d.claim_token)
    assert slots.released == [subscription.pk]


def test_an_endpoints_batches_take_at_most_its_slots():
    sender = WebhookSender()
    assert [sender.acquire_batch_slot(1, 2, wait=0, slow_after=1) for _ in range(3)] == [True, True, False]
    assert sender.acquire_batch_slot(2, 2, wait=0, slow_after=1) is True  # another endpoint has its own
    sender.release_batch_slot(1)
    assert sender.acquire_batch_slot(1, 2, wait=0, slow_after=1) is True


def test_a_batch_waits_for_a_fast_endpoints_slot():
    sender = WebhookSender()
    assert sender.acquire_batch_slot(1, 1, wait=0, slow_after=1)
    threading.Timer(0.2, sender.release_batch_slot, [1]).start()
    assert sender.acquire_batch_slot(1, 1, wait=10, slow_after=1) is True


def test_a_batch_stops_waiting_once_the_endpoint_turns_out_slow(webhook_receiver):
    """Its requests pending with none answered for `slow_after`: the waiting batch gives up long before `wait`, so
    a newly slow endpoint holds no more threads than its slots (the rest are deferred)."""
    webhook_receiver.respond = lambda _r: (204, {}, 3.0)
    sender = WebhookSender()
    request = OutgoingRequest(subscription_id=3, url=webhook_receiver.url(), headers={}, body=b"{}")
    assert sender.acquire_batch_slot(3, 1, wait=0, slow_after=0.25)
    holder = threading.Thread(target=sender.send_many, args=([request],))
    holder.start()
    started = time.monotonic()
    assert sender.acquire_batch_slot(3, 1, wait=30, slow_after=0.25) is False
    assert time.monotonic() - started < 3.0  # gave up before the endpoint answered, not after the 30 s wait
    holder.join()


def test_subscriptions_for_a_batch_load_like_the_orm(subscription):
    """The plain-SQL read returns the same instances, every field loaded (none deferred)."""
    subscription.previous_secret_encrypted = subscription.secret_encrypted
    subscription.previous_secret_expires_at = timezone.now() + timedelta(hours=1)
    subscription.advance_notification_periods = [7, 30]
    subscription.save()
    other = EventSubscriptionFactory(partner=subscription.partner, event_name="CARD_EXPIRY")
    loaded = sql.subscriptions_by_id({subscription.pk, other.pk, 999_999})
    expected = EventSubscription.objects.in_bulk([subscription.pk, other.pk])
    assert loaded.keys() == expected.keys()
    for pk, sub in loaded.items():
        assert not sub.get_deferred_fields()
        for field in EventSubscription._meta.concrete_fields:
            assert getattr(sub, field.attname) == getattr(expected[pk], field.attname), field.name
        assert sub.signing_secrets() == expected[pk].signing_secrets()
    assert loaded[subscription.pk].partner.tenant_id == "acme"
