"""The demo receiver of `make run`: verifies signatures against the subscription's secrets and shows the result."""

import json
import time
import uuid

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from notifications.webhooks.signing import webhook_headers
from tests.factories import EventSubscriptionFactory, PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscription(db):
    return EventSubscriptionFactory(
        partner=PartnerFactory(tenant_id="demo"),
        event_name="ALL_EVENTS",
        destination="http://127.0.0.1:8000/demo/webhooks/",
    )


def _webhook(event_name: str = "TRANSACTION_NOTIFICATION", tenant: str = "demo") -> tuple[str, bytes]:
    event_id = str(uuid.uuid4())
    body = json.dumps(
        {"eventId": event_id, "eventName": event_name, "eventType": "INSTANT", "tenantId": tenant,
         "occurredAt": timezone.now().isoformat(), "data": {"kitNo": "DEMO0001", "amount": "10.00"}}
    ).encode()
    return event_id, body


def _post(client, body: bytes, headers: dict[str, str], query: str = ""):
    extra = {
        f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items() if name != "Content-Type"
    }
    return client.post(f"/demo/webhooks/{query}", data=body, content_type="application/json", **extra)


def test_signed_webhook_is_shown_verified(client, subscription, demo_store):
    event_id, body = _webhook()
    headers = webhook_headers(subscription.signing_secrets(), event_id, body)

    response = _post(client, body, headers)

    assert response.status_code == 204
    [entry] = client.get("/demo/received.json").json()["received"]
    assert entry["verified"] is True
    assert entry["webhookId"] == event_id == entry["eventId"]
    assert entry["eventName"] == "TRANSACTION_NOTIFICATION"
    page = client.get("/demo/")
    assert page.status_code == 200
    assert "signature verified ✓" in page.content.decode()
    assert event_id in page.content.decode()


def test_signature_made_by_the_reference_library_verifies(client, subscription, demo_store):
    event_id, body = _webhook()
    timestamp = timezone.now()
    signature = Webhook(subscription.secret).sign(event_id, timestamp, body.decode())
    headers = {"webhook-id": event_id, "webhook-timestamp": str(int(timestamp.timestamp())),
               "webhook-signature": signature}

    _post(client, body, headers)

    assert client.get("/demo/received.json").json()["received"][0]["verified"] is True


def test_wrong_secret_is_shown_unverified(client, subscription, demo_store):
    event_id, body = _webhook()
    other_secret = EventSubscriptionFactory(event_name="CARD_ISSUED").secret
    headers = webhook_headers([other_secret], event_id, body)

    response = _post(client, body, headers)

    assert response.status_code == 204  # the receiver accepts; it only reports what it saw
    [entry] = client.get("/demo/received.json").json()["received"]
    assert entry["verified"] is False
    assert "no signature matches" in entry["explanation"]
    assert "signature verified ✗" in client.get("/demo/").content.decode()


def test_tampered_body_and_stale_timestamp_fail(client, subscription, demo_store):
    event_id, body = _webhook()
    headers = webhook_headers(subscription.signing_secrets(), event_id, body)
    _post(client, body.replace(b"10.00", b"99.00"), headers)
    stale = webhook_headers(subscription.signing_secrets(), event_id, body, timestamp=int(time.time()) - 3600)
    _post(client, body, stale)

    entries = client.get("/demo/received.json").json()["received"]
    assert [e["verified"] for e in entries] == [False, False]


def test_unknown_tenant_and_non_json(client, subscription, demo_store):
    event_id, body = _webhook(tenant="nobody")
    _post(client, body, webhook_headers(subscription.signing_secrets(), event_id, body))
    _post(client, b"not json", {"webhook-id": "x", "webhook-timestamp": "1", "webhook-signature": "v1,x"})

    newest, oldest = client.get("/demo/received.json").json()["received"]
    assert newest["explanation"] == "body is not JSON"
    assert "no subscription of tenant 'nobody'" in oldest["explanation"]


def test_requested_status_lets_the_demo_show_retries(client, subscription, demo_store):
    event_id, body = _webhook()
    headers = webhook_headers(subscription.signing_secrets(), event_id, body)

    assert _post(client, body, headers, "?status=503").status_code == 503
    assert _post(client, body, headers, "?status=banana").status_code == 204
    assert client.get("/demo/received.json").json()["received"][1]["answeredStatus"] == 503


def test_keeps_only_the_last_n(client, subscription, demo_store, settings):
    settings.DEMO_RECEIVER_KEEP = 3
    for _ in range(5):
        event_id, body = _webhook()
        _post(client, body, webhook_headers(subscription.signing_secrets(), event_id, body))

    assert len(client.get("/demo/received.json").json()["received"]) == 3
    assert demo_store.llen("notif:demo-receiver:received") == 3


def test_disabled_outside_development(client, settings):
    settings.DEMO_RECEIVER_ENABLED = False

    assert client.get("/demo/").status_code == 404
    assert client.post("/demo/webhooks/", data=b"{}", content_type="application/json").status_code == 404


def test_defaults_to_debug(client, settings):
    settings.DEMO_RECEIVER_ENABLED = None
    settings.DEBUG = False

    assert client.get("/demo/received.json").status_code == 404
