"""Recover since T: `POST …/event-subscriptions/{eventName}/recover` and `GET …/recover-jobs/{id}`. The job runs in a
real worker and re-sends exactly the failed deliveries of the window; a repeat is the same job; other tenants get
404; bad windows are 400; a different window while a job runs is 409."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import DeliveryStatus, RecoverJob, WebhookDelivery
from subscriptions.models import AuditEntry
from tests.factories import EventFactory, EventSubscriptionFactory, PartnerFactory
from tests.fixtures.processes import wait_until

BASE = "/prepaid/auth/v1/event-subscriptions/TRANSACTION_NOTIFICATION"


def delivery(subscription, status: str, days_ago: float) -> WebhookDelivery:
    event = EventFactory(partner=subscription.partner, body='{"eventName": "TRANSACTION_NOTIFICATION"}')
    created = timezone.now() - timedelta(days=days_ago)
    return WebhookDelivery.objects.create(event=event, subscription=subscription, partner=subscription.partner,
                                          status=status, attempt_count=3, created_at=created, completed_at=created)


def iso(days_ago: float) -> str:
    return (timezone.now() - timedelta(days=days_ago)).isoformat()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_recover_resends_exactly_the_failed_deliveries_in_the_window(make_client, webhook_receiver, start_worker):
    acme = PartnerFactory(tenant_id="acme")
    subscription = EventSubscriptionFactory(partner=acme, destination=webhook_receiver.url())
    in_window = [delivery(subscription, DeliveryStatus.FAILED, 2), delivery(subscription, DeliveryStatus.FAILED, 1)]
    delivery(subscription, DeliveryStatus.FAILED, 5)  # before the window
    delivery(subscription, DeliveryStatus.SUCCEEDED, 1)  # not failed
    other = EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", destination=webhook_receiver.url("/x"))
    delivery(other, DeliveryStatus.FAILED, 1)  # another subscription
    client = make_client(acme)
    start_worker(concurrency=2)

    response = client.post(f"{BASE}/recover", {"since": iso(3)}, format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    url = f"{BASE}/recover-jobs/{job_id}"
    wait_until(lambda: client.get(url).json()["state"] == "SUCCEEDED", 30, message="the recover job")
    wait_until(lambda: len(webhook_receiver.requests) >= 2, 30, message="the re-sent deliveries")
    time.sleep(0.5)  # nothing else may arrive
    assert sorted(webhook_receiver.ids()) == sorted(d.event.event_id for d in in_window)
    body = client.get(url).json()
    assert (body["matched"], body["processed"], body["replayed"]) == (2, 2, 2)
    assert AuditEntry.objects.filter(action="subscription.recover_requested").count() == 1


@pytest.mark.django_db
def test_a_repeat_is_the_same_job_and_a_different_window_conflicts(make_client):
    acme = PartnerFactory(tenant_id="acme")
    EventSubscriptionFactory(partner=acme)
    client = make_client(acme)
    since = iso(3)
    first = client.post(f"{BASE}/recover", {"since": since}, format="json")
    again = client.post(f"{BASE}/recover", {"since": since}, format="json")
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"] and RecoverJob.objects.count() == 1
    other = client.post(f"{BASE}/recover", {"since": iso(2)}, format="json")
    assert other.status_code == 409 and other.json()["error"]["recoverJobId"] == first.json()["id"]
    # Once it finished, a new request is a new job.
    RecoverJob.objects.update(state=RecoverJob.State.SUCCEEDED)
    assert client.post(f"{BASE}/recover", {"since": iso(2)}, format="json").status_code == 202


@pytest.mark.django_db
def test_other_tenants_get_404(make_client):
    acme, globex = PartnerFactory(tenant_id="acme"), PartnerFactory(tenant_id="globex")
    EventSubscriptionFactory(partner=acme)
    job = make_client(acme).post(f"{BASE}/recover", {"since": iso(1)}, format="json").json()
    intruder = make_client(globex)
    assert intruder.post(f"{BASE}/recover", {"since": iso(1)}, format="json").status_code == 404
    assert intruder.get(f"{BASE}/recover-jobs/{job['id']}").status_code == 404
    EventSubscriptionFactory(partner=globex)  # even with a subscription of the same eventName
    assert intruder.get(f"{BASE}/recover-jobs/{job['id']}").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field"), [
    ({}, "since"),
    ({"since": "yesterday"}, "since"),
    ({"since": "2999-01-01T00:00:00Z"}, "since"),
    ({"since": "__15__"}, "until"),
    ({"since": "__2__", "until": "__3__"}, "until"),
    ({"since": "__2__", "status": "PENDING"}, "status"),
    ({"since": "__2__", "extra": 1}, "extra"),
])
def test_bad_windows_are_400(make_client, body, field):
    acme = PartnerFactory(tenant_id="acme")
    EventSubscriptionFactory(partner=acme)
    body = {k: (iso(float(v.strip("_"))) if isinstance(v, str) and v.startswith("__") else v)
            for k, v in body.items()}
    response = make_client(acme).post(f"{BASE}/recover", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not RecoverJob.objects.exists()


@pytest.mark.django_db
def test_recover_needs_a_standard_token(make_client):
    acme = PartnerFactory(tenant_id="acme")
    EventSubscriptionFactory(partner=acme)
    assert make_client(acme, level=1).post(f"{BASE}/recover", {"since": iso(1)}, format="json").status_code == 403
