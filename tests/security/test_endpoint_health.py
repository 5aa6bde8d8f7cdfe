"""Endpoint health: Retry-After, the 4xx policy, 410 Gone, disabling after a failing period, and re-enabling.

Deliveries are sent for real (notifications.webhooks.delivery.deliver_batch → aiohttp → a local HTTP receiver)."""

import json
from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.models import DeliveryStatus, OutboxMessage, WebhookDelivery
from notifications.webhooks import delivery
from subscriptions.models import AuditChannel, AuditEntry, EventSubscription
from tests.factories import EventSubscriptionFactory
from tests.notifications.helpers import deliver_as_task, kafka_message

pytestmark = pytest.mark.django_db

SUBSCRIPTIONS_URL = "/prepaid/auth/v1/event-subscriptions/"


@pytest.fixture
def subscription(acme, webhook_receiver):
    # Base interval 60 s, so the schedule's first retry is 54-66 s (±10 % jitter) and easy to tell from Retry-After.
    return EventSubscriptionFactory(partner=acme, destination=webhook_receiver.url(), max_retries=5,
                                    retry_interval_seconds=60)


def new_deliveries(count: int = 1) -> list[WebhookDelivery]:
    messages = [kafka_message() for _ in range(count)]
    ingest_batch([RawMessage(value=json.dumps(m).encode()) for m in messages])
    return [WebhookDelivery.objects.get(event__event_id=m["eventId"]) for m in messages]


def make_due(*deliveries: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def http_date(seconds_from_now: float) -> str:
    return format_datetime(timezone.now() + timedelta(seconds=seconds_from_now), usegmt=True)


# --- Retry-After --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_is_honoured_on_429_and_503(subscription, webhook_receiver, status, form):
    header = "300" if form == "seconds" else http_date(300)
    webhook_receiver.respond = lambda r: (status, {"Retry-After": header}, 0)
    (d,) = new_deliveries()
    before = timezone.now()
    outcome = deliver_as_task([d.pk])
    d.refresh_from_db()
    assert d.status == DeliveryStatus.PENDING and d.last_status_code == status
    assert 297 <= outcome.retrying[d.pk] <= 300.5  # an HTTP-date loses up to a second to rounding and transit
    assert timedelta(seconds=295) <= d.next_attempt_at - before <= timedelta(seconds=302)


@pytest.mark.parametrize("header", ["86400", "http-date"])
def test_retry_after_is_bounded_by_the_maximum_retry_delay(subscription, webhook_receiver, settings, header):
    settings.WEBHOOK_MAX_RETRY_DELAY_SECONDS = 600
    value = http_date(86400) if header == "http-date" else header
    webhook_receiver.respond = lambda r: (503, {"Retry-After": value}, 0)
    (d,) = new_deliveries()
    outcome = deliver_as_task([d.pk])
    assert outcome.retrying[d.pk] == 600


@pytest.mark.parametrize("header", ["1", "0", "soon", "-5", "http-date-in-the-past"])
def test_a_short_past_or_unreadable_retry_after_never_shortens_the_schedule(subscription, webhook_receiver, header):
    """A receiver cannot make us hammer it (or another tenant's endpoint) faster than the schedule."""
    value = http_date(-3600) if header == "http-date-in-the-past" else header
    webhook_receiver.respond = lambda r: (429, {"Retry-After": value}, 0)
    (d,) = new_deliveries()
    assert 54 <= deliver_as_task([d.pk]).retrying[d.pk] <= 66


def test_retry_after_is_ignored_on_other_statuses(subscription, webhook_receiver):
    webhook_receiver.respond = lambda r: (500, {"Retry-After": "3000"}, 0)
    (d,) = new_deliveries()
    assert 54 <= deliver_as_task([d.pk]).retrying[d.pk] <= 66


# --- the 4xx policy (docs/security.md "Endpoint health") ------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 408, 409, 413, 422, 425, 429, 451, 500, 502, 504])
def test_every_non_2xx_other_than_410_is_retried_on_the_schedule(subscription, webhook_receiver, status):
    webhook_receiver.respond = lambda r: status
    (d,) = new_deliveries()
    outcome = deliver_as_task([d.pk])
    d.refresh_from_db()
    subscription.refresh_from_db()
    assert d.status == DeliveryStatus.PENDING and d.pk in outcome.retrying
    assert subscription.is_enabled and subscription.failing_since is not None


def test_retries_stop_after_max_retries_and_the_delivery_fails(subscription, webhook_receiver):
    EventSubscription.objects.filter(pk=subscription.pk).update(max_retries=1)
    webhook_receiver.respond = lambda r: 404
    (d,) = new_deliveries()
    deliver_as_task([d.pk])
    make_due(d)
    deliver_as_task([d.pk])
    d.refresh_from_db()
    assert d.status == DeliveryStatus.FAILED and d.attempt_count == 2 and d.last_status_code == 404


# --- disabling ----------------------------------------------------------------------------------------------------


def assert_disabled_everywhere(subscription, reason_part: str, last_error_part: str, api_client, admin_client):
    """Disabled, told to the partner (event), audited with the last error, and visible in the API and the admin."""
    subscription.refresh_from_db()
    assert not subscription.is_enabled and subscription.disabled_at is not None
    assert reason_part in subscription.disabled_reason

    (event,) = OutboxMessage.objects.filter(payload__eventName="SUBSCRIPTION_DISABLED")
    assert event.payload["tenantId"] == "acme"
    assert event.payload["data"]["subscriptionEventName"] == subscription.event_name
    assert reason_part in event.payload["data"]["reason"] and last_error_part in event.payload["data"]["lastError"]

    (entry,) = AuditEntry.objects.filter(action="subscription.disabled", object_id=str(subscription.pk))
    assert entry.channel == AuditChannel.SYSTEM and entry.actor == "system"
    assert entry.before == {"isEnabled": True}
    assert entry.after["isEnabled"] is False and last_error_part in entry.after["lastError"]

    body = api_client.get(f"{SUBSCRIPTIONS_URL}{subscription.event_name}").json()
    assert body["isEnabled"] is False and reason_part in body["disabledReason"] and body["disabledAt"]

    changelist = reverse("admin:subscriptions_eventsubscription_changelist")
    listing = admin_client.get(changelist, {"health": "disabled"}).content.decode()
    assert subscription.destination in listing and reason_part in listing
    change = admin_client.get(reverse("admin:subscriptions_eventsubscription_change", args=[subscription.pk]))
    assert reason_part in change.content.decode()


@pytest.fixture
def partner_client(acme, make_client):
    return make_client(acme)


def test_410_gone_disables_at_once(subscription, webhook_receiver, partner_client, admin_client):
    webhook_receiver.respond = lambda r: 410
    (d,) = new_deliveries()
    deliver_as_task([d.pk])
    d.refresh_from_db()
    assert d.status == DeliveryStatus.FAILED  # not retried: the partner said the endpoint is gone
    assert_disabled_everywhere(subscription, "410 Gone", "HTTP 410", partner_client, admin_client)


def test_a_410_in_a_mixed_batch_still_disables(subscription, webhook_receiver):
    deliveries = new_deliveries(3)
    gone = deliveries[0].event.event_id
    webhook_receiver.respond = lambda r: 410 if r.headers["webhook-id"] == gone else 500
    deliver_as_task([d.pk for d in deliveries])
    subscription.refresh_from_db()
    assert not subscription.is_enabled and "410" in subscription.disabled_reason


def test_failing_for_the_configured_period_disables(subscription, webhook_receiver, settings, partner_client,
                                                     admin_client):
    settings.WEBHOOK_DISABLE_AFTER_FAILING_SECONDS = 3600
    webhook_receiver.respond = lambda r: 503
    (d,) = new_deliveries()
    deliver_as_task([d.pk])
    subscription.refresh_from_db()
    assert subscription.is_enabled and subscription.failing_since is not None
    # 59 minutes of failures later: still enabled.
    EventSubscription.objects.filter(pk=subscription.pk).update(failing_since=timezone.now() - timedelta(minutes=59))
    make_due(d)
    deliver_as_task([d.pk])
    subscription.refresh_from_db()
    assert subscription.is_enabled
    # Past the hour: disabled by the next failure.
    EventSubscription.objects.filter(pk=subscription.pk).update(failing_since=timezone.now() - timedelta(minutes=61))
    make_due(d)
    deliver_as_task([d.pk])
    assert_disabled_everywhere(subscription, "Every attempt failed for 1 hour", "HTTP 503", partner_client,
                               admin_client)
    d.refresh_from_db()
    assert d.status == DeliveryStatus.PENDING  # kept for when the partner re-enables


def test_the_period_is_measured_in_real_time_and_a_success_restarts_it(subscription, webhook_receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER_FAILING_SECONDS = 1
    answers = iter([500, 204, 500, 500])
    webhook_receiver.respond = lambda r: next(answers)
    first, second, third, fourth = new_deliveries(4)
    deliver_as_task([first.pk])  # failing since now
    deliver_as_task([second.pk])  # a success clears the streak
    subscription.refresh_from_db()
    assert subscription.failing_since is None
    deliver_as_task([third.pk])  # a new streak starts
    subscription.refresh_from_db()
    streak_start = subscription.failing_since
    assert streak_start is not None and subscription.is_enabled
    import time

    time.sleep(1.1)
    deliver_as_task([fourth.pk])
    subscription.refresh_from_db()
    assert not subscription.is_enabled and "1 second" in subscription.disabled_reason


# --- re-enabling --------------------------------------------------------------------------------------------------


def disabled_with_pending_work(subscription, webhook_receiver) -> tuple[WebhookDelivery, list[WebhookDelivery]]:
    """One delivery answered 410 (FAILED, subscription disabled); two others failed earlier and wait for a retry
    far in the future."""
    gone, *pending = new_deliveries(3)
    gone_id = gone.event.event_id  # read here: the receiver thread has no access to the test's transaction
    webhook_receiver.respond = lambda r: 410 if r.headers["webhook-id"] == gone_id else 500
    deliver_as_task([gone.pk, *(d.pk for d in pending)])
    subscription.refresh_from_db()
    assert not subscription.is_enabled
    for d in pending:
        d.refresh_from_db()
        assert d.status == DeliveryStatus.PENDING and d.next_attempt_at > timezone.now() + timedelta(seconds=30)
    return gone, pending


def test_re_enabling_through_the_api_resumes_pending_deliveries(subscription, webhook_receiver, partner_client):
    gone, pending = disabled_with_pending_work(subscription, webhook_receiver)
    assert delivery.due_delivery_ids(grace_seconds=0) == {}  # a disabled endpoint has no due work

    response = partner_client.put(SUBSCRIPTIONS_URL, {"eventName": subscription.event_name, "isEnabled": True},
                                  format="json")
    assert response.status_code == 200, response.content
    assert response.json()["isEnabled"] is True and response.json()["disabledReason"] is None

    # Due now: the re-enqueue sweep (or the task the service enqueues after commit) finds them at once.
    due = delivery.due_delivery_ids(grace_seconds=0)
    assert sorted(due[subscription.pk]) == sorted(d.pk for d in pending)
    webhook_receiver.respond = lambda r: 204
    assert deliver_as_task(due[subscription.pk]).succeeded == 2
    gone.refresh_from_db()
    assert gone.status == DeliveryStatus.FAILED  # the 410'd one waits for an explicit replay

    entry = AuditEntry.objects.filter(action="subscription.updated", object_id=str(subscription.pk)).get()
    assert entry.channel == AuditChannel.PARTNER_API and entry.actor.startswith("acme/token:")
    assert entry.before["is_enabled"] is False and entry.after["is_enabled"] is True


def test_re_enabling_from_the_admin_resumes_pending_deliveries(subscription, webhook_receiver, admin_client):
    _, pending = disabled_with_pending_work(subscription, webhook_receiver)
    response = admin_client.post(
        reverse("admin:subscriptions_eventsubscription_changelist"),
        {"action": "enable_subscriptions", "_selected_action": [subscription.pk]},
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.is_enabled and subscription.disabled_reason == "" and subscription.failing_since is None
    due = delivery.due_delivery_ids(grace_seconds=0)
    assert sorted(due[subscription.pk]) == sorted(d.pk for d in pending)
    entry = AuditEntry.objects.get(action="subscription.updated", object_id=str(subscription.pk))
    assert entry.channel == AuditChannel.ADMIN and entry.actor == "admin"
