"""One tenant's batches hold at most WORKER_TENANT_MAX_THREADS threads of a worker process, running or waiting:
beyond that its batches (messages and webhooks alike) are deferred at once — nothing is lost, they come back with a
countdown — and other tenants' batches run as usual."""

import time

import pytest

from notifications.messaging import sending
from notifications.messaging.routing import plan_customer_messages
from notifications.models import CustomerMessage, MessageStatus, WebhookDelivery
from notifications.slots import TENANT_THREADS
from notifications.webhooks import delivery
from tests.factories import EventSubscriptionFactory
from tests.notifications.webhooks.test_delivery import new_delivery
from tests.templates_app.factories import make_event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sample_templates", "no_default_quiet_hours")]
TXN = {"amount": "125.50", "currency": "INR", "merchantName": "Chai Point", "balance": "874.50"}


def _pending_ids(partner, card) -> list[int]:
    rows = plan_customer_messages([make_event(partner, kitNo=card.kit_no, **TXN)])
    CustomerMessage.objects.bulk_create(rows)
    return [r.pk for r in rows if r.status == MessageStatus.PENDING]


@pytest.fixture
def console_channels(settings):
    settings.SMS_PROVIDER = settings.PUSH_PROVIDER = settings.EMAIL_CHANNEL_BACKEND = "console"


@pytest.fixture
def busy_tenant(partner, settings):
    """The partner already holds its whole share of this process's threads."""
    settings.WORKER_TENANT_MAX_THREADS = 2
    for _ in range(2):
        assert TENANT_THREADS.enter(partner.pk, limit=2)
    yield partner.pk
    for _ in range(2):
        TENANT_THREADS.leave(partner.pk)


def test_a_tenant_at_its_share_has_its_message_batch_deferred_at_once(partner, card, console_channels, busy_tenant):
    ids = _pending_ids(partner, card)
    started = time.monotonic()
    outcome = sending.message_send_tenant_batch(message_ids=ids, partner_id=busy_tenant)
    assert time.monotonic() - started < 0.5  # not waited for
    assert outcome.deferred and outcome.defer_seconds >= 1.0
    assert set(CustomerMessage.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"PENDING"}


def test_another_tenants_batch_is_not_held_back_by_the_busy_one(partner, card, console_channels, busy_tenant):
    ids = _pending_ids(partner, card)
    other_tenant = busy_tenant + 10_000  # the rows are the busy tenant's; only the share being counted matters here
    outcome = sending.message_send_tenant_batch(message_ids=ids, partner_id=other_tenant)
    assert not outcome.deferred
    assert set(CustomerMessage.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"SENT"}
    assert TENANT_THREADS.held(other_tenant) == 0  # given back


def test_a_tenant_at_its_share_has_its_webhook_batch_deferred_too(partner, busy_tenant, webhook_receiver):
    EventSubscriptionFactory(partner=partner, destination=webhook_receiver.url(), event_name="ALL_EVENTS")
    d = new_delivery(tenant_id=partner.tenant_id)
    outcome = delivery.deliver_batch([d.pk], subscription_id=d.subscription_id, claim_token=d.claim_token,
                                     partner_id=busy_tenant)
    assert outcome.deferred == [d.pk]
    assert webhook_receiver.requests == []
    assert WebhookDelivery.objects.get(pk=d.pk).claim_token == d.claim_token  # still leased to its task


def test_a_tenant_within_its_share_sends_and_gives_the_thread_back(partner, card, console_channels):
    ids = _pending_ids(partner, card)
    outcome = sending.message_send_tenant_batch(message_ids=ids, partner_id=partner.pk)
    assert (outcome.deferred, outcome.follow_ups) == (False, {})
    assert TENANT_THREADS.held(partner.pk) == 0
