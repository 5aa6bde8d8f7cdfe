"""While other tenants have work, one tenant's batches hold at most WORKER_TENANT_MAX_THREADS threads of a worker
process, running or waiting: beyond that its batches (messages and webhooks alike) are deferred at once — nothing is
lost, they come back with a countdown — and other tenants' batches run as usual. A tenant alone uses every thread."""

import time

import pytest

from notifications.messaging import sending
from notifications.messaging.routing import plan_customer_messages
from notifications.models import CustomerMessage, MessageStatus, WebhookDelivery
from notifications.slots import TenantThreads
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
def threads(monkeypatch) -> TenantThreads:
    """A fresh count of the process's threads by tenant (no tenant seen yet), used by both kinds of batch."""
    fresh = TenantThreads()
    monkeypatch.setattr(sending, "TENANT_THREADS", fresh)
    monkeypatch.setattr(delivery, "TENANT_THREADS", fresh)
    return fresh


@pytest.fixture
def alone_at_its_share(partner, settings, threads):
    """The partner holds its whole share of this process's threads, and no other tenant has had work here."""
    settings.WORKER_TENANT_MAX_THREADS = 2
    for _ in range(2):
        assert threads.enter(partner.pk, limit=2)
    return partner.pk


@pytest.fixture
def busy_tenant(alone_at_its_share, threads):
    """The partner holds its whole share while another tenant has just had a batch here."""
    other = alone_at_its_share + 20_000
    assert threads.enter(other, limit=2)
    threads.leave(other)
    return alone_at_its_share


def test_a_tenant_at_its_share_has_its_message_batch_deferred_at_once(partner, card, console_channels, busy_tenant):
    ids = _pending_ids(partner, card)
    started = time.monotonic()
    outcome = sending.message_send_tenant_batch(message_ids=ids, partner_id=busy_tenant)
    assert time.monotonic() - started < 0.5  # not waited for
    assert outcome.deferred and outcome.defer_seconds >= 1.0
    assert set(CustomerMessage.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"PENDING"}


def test_another_tenants_batch_is_not_held_back_by_the_busy_one(partner, card, console_channels, busy_tenant,
                                                                threads):
    ids = _pending_ids(partner, card)
    other_tenant = busy_tenant + 10_000  # the rows are the busy tenant's; only the share being counted matters here
    outcome = sending.message_send_tenant_batch(message_ids=ids, partner_id=other_tenant)
    assert not outcome.deferred
    assert set(CustomerMessage.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"SENT"}
    assert threads.held(other_tenant) == 0  # given back


def test_a_tenant_at_its_share_has_its_webhook_batch_deferred_too(partner, busy_tenant, webhook_receiver):
    EventSubscriptionFactory(partner=partner, destination=webhook_receiver.url(), event_name="ALL_EVENTS")
    d = new_delivery(tenant_id=partner.tenant_id)
    outcome = delivery.deliver_batch([d.pk], subscription_id=d.subscription_id, claim_token=d.claim_token,
                                     partner_id=busy_tenant)
    assert outcome.deferred == [d.pk]
    assert webhook_receiver.requests == []
    assert WebhookDelivery.objects.get(pk=d.pk).claim_token == d.claim_token  # still leased to its task


def test_a_tenant_within_its_share_sends_and_gives_the_thread_back(partner, card, console_channels, threads):
    ids = _pending_ids(partner, card)
    outcome = sending.message_send_tenant_batch(message_ids=ids, partner_id=partner.pk)
    assert (outcome.deferred, outcome.follow_ups) == (False, {})
    assert threads.held(partner.pk) == 0


def test_a_tenant_alone_may_use_every_thread(partner, card, console_channels, alone_at_its_share, threads,
                                             webhook_receiver):
    """Nobody to make room for: deferring would only cost a round trip through the broker."""
    ids = _pending_ids(partner, card)
    assert not sending.message_send_tenant_batch(message_ids=ids, partner_id=alone_at_its_share).deferred
    assert set(CustomerMessage.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"SENT"}
    EventSubscriptionFactory(partner=partner, destination=webhook_receiver.url(), event_name="ALL_EVENTS")
    d = new_delivery(tenant_id=partner.tenant_id)
    outcome = delivery.deliver_batch([d.pk], subscription_id=d.subscription_id, claim_token=d.claim_token,
                                     partner_id=alone_at_its_share)
    assert not outcome.deferred and outcome.succeeded
    assert threads.held(partner.pk) == 2  # the fixture's two; each batch gave its thread back


def test_another_tenant_counts_as_waiting_until_it_has_been_quiet_a_while(monkeypatch):
    threads, now = TenantThreads(), [1000.0]
    monkeypatch.setattr("notifications.slots.time.monotonic", lambda: now[0])
    assert threads.enter("a", limit=1)
    assert threads.enter("b", limit=1)
    threads.leave("b")
    assert not threads.enter("a", limit=1)  # b had a batch just now
    now[0] += TenantThreads.OTHERS_ACTIVE_SECONDS + 1
    assert threads.enter("a", limit=1)  # b has been quiet since: a may take the thread
    assert threads.held("a") == 2
