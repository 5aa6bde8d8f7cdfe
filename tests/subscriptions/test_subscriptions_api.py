"""Event Subscriptions API (seed 001): happy paths, the seed's requests verbatim, and every validation rule."""

import json

import pytest
from django.db import connection

from notifications import queue
from notifications.models import DeliveryStatus
from subscriptions.catalog import ALL_EVENTS
from subscriptions.models import AuditChannel, AuditEntry, EventSubscription
from tests.factories import EventSubscriptionFactory, WebhookDeliveryFactory
from tests.subscriptions.conftest import SUBSCRIPTIONS_URL, detail_url

SEED_POST = """{
"eventName": "TRANSACTION_NOTIFICATION",
"isEnabled": true,
"destination": "https://your-app.com/webhooks/transactions",
"retryConfig": {
"maxRetries": 3,
"retryIntervalSeconds": 60
}
}"""
SEED_PUT = """{
"eventName": "TRANSACTION_NOTIFICATION",
"isEnabled": true,
"destination": "https://your-app.com/v2/webhooks/transactions"
}"""
SEED_ADVANCE = """{
"eventName": "KIT_EXPIRY_ADVANCE_NOTIFICATION",
"isEnabled": true,
"destination": "https://your-app.com/webhooks/card-expiry-warning",
"advanceNotificationPeriods": [30, 15, 7]
}"""


def post_raw(client, body: str, url: str = SUBSCRIPTIONS_URL):
    return client.post(url, data=body, content_type="application/json")


def put_raw(client, body: str):
    return client.put(SUBSCRIPTIONS_URL, data=body, content_type="application/json")


def create(client, **fields):
    body = {"eventName": "TRANSACTION_NOTIFICATION", "destination": "https://hooks.example.com/tx", **fields}
    return client.post(SUBSCRIPTIONS_URL, body, format="json")


def field_errors(response) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"]["code"] == "validation_error"
    return body["error"]["fields"]


# --- seed 001 verbatim -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_post_creates_subscription(api_client, partner):
    response = post_raw(api_client, SEED_POST)

    assert response.status_code == 201
    body = response.json()
    assert body["eventName"] == "TRANSACTION_NOTIFICATION"
    assert body["isEnabled"] is True
    assert body["destination"] == "https://your-app.com/webhooks/transactions"
    assert body["retryConfig"] == {"maxRetries": 3, "retryIntervalSeconds": 60}
    assert body["createdAt"].endswith("Z")
    assert body["secret"].startswith("whsec_")
    assert "advanceNotificationPeriods" not in body  # INSTANT event
    sub = EventSubscription.objects.get(partner=partner, event_name="TRANSACTION_NOTIFICATION")
    assert (sub.max_retries, sub.retry_interval_seconds) == (3, 60)
    assert sub.secret == body["secret"]


@pytest.mark.django_db
def test_seed_advance_example_creates_schedule(api_client):
    response = post_raw(api_client, SEED_ADVANCE)

    assert response.status_code == 201
    assert response.json()["advanceNotificationPeriods"] == [30, 15, 7]
    assert response.json()["eventType"] == "ADVANCE"


@pytest.mark.django_db
def test_seed_get_one(api_client):
    post_raw(api_client, SEED_POST)

    response = api_client.get(detail_url("TRANSACTION_NOTIFICATION"))

    assert response.status_code == 200
    body = response.json()
    assert body["eventName"] == "TRANSACTION_NOTIFICATION"
    assert body["destination"] == "https://your-app.com/webhooks/transactions"
    assert "secret" not in body


@pytest.mark.django_db
def test_seed_put_changes_destination_and_keeps_other_fields(api_client):
    post_raw(api_client, SEED_POST)

    response = put_raw(api_client, SEED_PUT)

    assert response.status_code == 200
    body = response.json()
    assert body["destination"] == "https://your-app.com/v2/webhooks/transactions"
    assert body["retryConfig"] == {"maxRetries": 3, "retryIntervalSeconds": 60}
    assert body["isEnabled"] is True


@pytest.mark.django_db
def test_seed_delete(api_client, partner):
    post_raw(api_client, SEED_POST)

    response = api_client.delete(detail_url("TRANSACTION_NOTIFICATION"))

    assert response.status_code == 204
    assert not EventSubscription.objects.filter(partner=partner).exists()
    assert api_client.get(detail_url("TRANSACTION_NOTIFICATION")).status_code == 404


@pytest.mark.django_db
def test_seed_list_returns_all_of_the_tenants_subscriptions(api_client):
    post_raw(api_client, SEED_POST)
    post_raw(api_client, SEED_ADVANCE)

    response = api_client.get(SUBSCRIPTIONS_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [s["eventName"] for s in body["results"]] == [
        "KIT_EXPIRY_ADVANCE_NOTIFICATION",
        "TRANSACTION_NOTIFICATION",
    ]
    assert all("secret" not in s for s in body["results"])


@pytest.mark.django_db
def test_paths_work_with_and_without_trailing_slash(api_client):
    assert api_client.post(SUBSCRIPTIONS_URL.rstrip("/"), json.loads(SEED_POST), format="json").status_code == 201
    assert api_client.get(detail_url("TRANSACTION_NOTIFICATION") + "/").status_code == 200
    assert api_client.get(SUBSCRIPTIONS_URL.rstrip("/")).status_code == 200


@pytest.mark.django_db
def test_list_query_count_is_constant(api_client, partner, django_assert_max_num_queries):
    for name in ("TRANSACTION_NOTIFICATION", "KIT_STATUS_UPDATE", "CARD_RENEWAL", "CARD_ISSUED"):
        EventSubscriptionFactory(partner=partner, event_name=name)
    # token lookup + last-used update + the list itself
    with django_assert_max_num_queries(3):
        response = api_client.get(SUBSCRIPTIONS_URL)
    assert response.json()["count"] == 4


# --- defaults and fields ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_retry_config_defaults(api_client, settings):
    response = create(api_client)

    assert response.status_code == 201
    assert response.json()["retryConfig"] == {
        "maxRetries": settings.WEBHOOK_DEFAULT_MAX_RETRIES,
        "retryIntervalSeconds": settings.WEBHOOK_DEFAULT_RETRY_INTERVAL_SECONDS,
    }
    assert response.json()["retryConfig"] == {"maxRetries": 5, "retryIntervalSeconds": 60}


@pytest.mark.django_db
def test_retry_config_defaults_follow_settings(api_client, settings):
    settings.WEBHOOK_DEFAULT_MAX_RETRIES = 7
    settings.WEBHOOK_DEFAULT_RETRY_INTERVAL_SECONDS = 30

    response = create(api_client, retryConfig={"maxRetries": 2})

    assert response.json()["retryConfig"] == {"maxRetries": 2, "retryIntervalSeconds": 30}


@pytest.mark.django_db
def test_is_enabled_defaults_to_true_and_false_is_recorded(api_client):
    assert create(api_client).json()["isEnabled"] is True
    response = create(api_client, eventName="CARD_RENEWAL", isEnabled=False)

    body = response.json()
    assert body["isEnabled"] is False
    assert body["disabledReason"] == "Disabled by the partner"
    assert body["disabledAt"] is not None


@pytest.mark.django_db
def test_all_events_subscription(api_client):
    response = create(api_client, eventName=ALL_EVENTS, advanceNotificationPeriods=[7, 30])

    assert response.status_code == 201
    body = response.json()
    assert body["eventName"] == ALL_EVENTS
    assert body["eventType"] is None
    assert body["advanceNotificationPeriods"] == [30, 7]


@pytest.mark.django_db
def test_advance_event_without_periods_uses_platform_schedule(api_client):
    response = create(api_client, eventName="KIT_INACTIVATION_ADVANCE_NOTIFICATION")

    assert response.status_code == 201
    assert response.json()["advanceNotificationPeriods"] == []


@pytest.mark.django_db
def test_periods_are_deduplicated_and_sorted_descending(api_client):
    response = create(api_client, eventName="KIT_EXPIRY_ADVANCE_NOTIFICATION",
                      advanceNotificationPeriods=[7, 30, 7, 15, 1, 30])

    assert response.json()["advanceNotificationPeriods"] == [30, 15, 7, 1]


@pytest.mark.django_db
def test_ten_periods_and_the_bounds_are_accepted(api_client):
    response = create(api_client, eventName="KIT_EXPIRY_ADVANCE_NOTIFICATION",
                      advanceNotificationPeriods=[1, 2, 3, 4, 5, 6, 7, 8, 9, 3650])

    assert response.status_code == 201
    assert response.json()["advanceNotificationPeriods"][0] == 3650


@pytest.mark.django_db
def test_retry_bounds_are_inclusive(api_client):
    low = create(api_client, retryConfig={"maxRetries": 0, "retryIntervalSeconds": 1})
    high = create(api_client, eventName="CARD_RENEWAL", retryConfig={"maxRetries": 20, "retryIntervalSeconds": 86400})

    assert low.json()["retryConfig"] == {"maxRetries": 0, "retryIntervalSeconds": 1}
    assert high.json()["retryConfig"] == {"maxRetries": 20, "retryIntervalSeconds": 86400}


@pytest.mark.django_db
def test_allowlisted_loopback_http_destination_is_accepted(api_client, settings):
    settings.WEBHOOK_DESTINATION_ALLOWLIST = ["127.0.0.1/32"]

    response = create(api_client, destination="http://127.0.0.1:8000/webhooks")

    assert response.status_code == 201
    assert response.json()["destination"] == "http://127.0.0.1:8000/webhooks"


# --- validation ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_duplicate_post_is_409(api_client):
    assert post_raw(api_client, SEED_POST).status_code == 201

    response = post_raw(api_client, SEED_POST)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert response.json()["error"]["eventName"] == "TRANSACTION_NOTIFICATION"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["NOT_AN_EVENT", "transaction_notification", "", "X" * 5000])
def test_unknown_event_name_is_400_listing_valid_names(api_client, name):
    errors = field_errors(create(api_client, eventName=name))

    message = " ".join(errors["eventName"])
    assert "TRANSACTION_NOTIFICATION" in message or "characters" in message or "blank" in message


@pytest.mark.django_db
def test_unknown_event_name_message_lists_catalog_and_all_events(api_client):
    message = field_errors(create(api_client, eventName="NOPE"))["eventName"][0]

    assert "ALL_EVENTS" in message
    assert "KIT_EXPIRY_ADVANCE_NOTIFICATION" in message


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"destination": "https://hooks.example.com/x"}, "eventName"),
        ({"eventName": "TRANSACTION_NOTIFICATION"}, "destination"),
        ({"eventName": 12, "destination": "https://hooks.example.com/x"}, "eventName"),
        ({"eventName": None, "destination": "https://hooks.example.com/x"}, "eventName"),
        ({"eventName": "TRANSACTION_NOTIFICATION", "destination": 42}, "destination"),
        ({"eventName": "TRANSACTION_NOTIFICATION", "destination": ["https://a.example.com"]}, "destination"),
        ({"eventName": "TRANSACTION_NOTIFICATION", "destination": "https://h.example.com", "isEnabled": "true"},
         "isEnabled"),
        ({"eventName": "TRANSACTION_NOTIFICATION", "destination": "https://h.example.com", "isEnabled": 1},
         "isEnabled"),
        ({"eventName": "TRANSACTION_NOTIFICATION", "destination": "https://h.example.com", "isEnabled": None},
         "isEnabled"),
        ({"eventName": "TRANSACTION_NOTIFICATION", "destination": "https://h.example.com", "retryConfig": 3},
         "retryConfig"),
        ({"eventName": "TRANSACTION_NOTIFICATION", "destination": "https://h.example.com", "retryConfig": None},
         "retryConfig"),
        ({"eventName": "TRANSACTION_NOTIFICATION", "destination": "https://h.example.com",
          "advanceNotificationPeriods": 30}, "advanceNotificationPeriods"),
        ({"eventName": "TRANSACTION_NOTIFICATION", "destination": "https://h.example.com",
          "advanceNotificationPeriods": "30,15"}, "advanceNotificationPeriods"),
    ],
)
def test_missing_and_mistyped_fields_are_400(api_client, body, field):
    errors = field_errors(api_client.post(SUBSCRIPTIONS_URL, body, format="json"))

    assert field in errors


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("retry_config", "field"),
    [
        ({"maxRetries": -1}, "maxRetries"),
        ({"maxRetries": 21}, "maxRetries"),
        ({"maxRetries": "3"}, "maxRetries"),
        ({"maxRetries": 3.5}, "maxRetries"),
        ({"maxRetries": 3.0}, "maxRetries"),
        ({"maxRetries": True}, "maxRetries"),
        ({"retryIntervalSeconds": 0}, "retryIntervalSeconds"),
        ({"retryIntervalSeconds": 86401}, "retryIntervalSeconds"),
        ({"retryIntervalSeconds": None}, "retryIntervalSeconds"),
        ({"maxRetry": 3}, "maxRetry"),
    ],
)
def test_retry_config_rules(api_client, retry_config, field):
    errors = field_errors(create(api_client, retryConfig=retry_config))

    assert field in errors["retryConfig"]


@pytest.mark.django_db
def test_periods_rejected_on_instant_events(api_client):
    errors = field_errors(create(api_client, advanceNotificationPeriods=[30]))

    assert "ADVANCE" in errors["advanceNotificationPeriods"][0]


@pytest.mark.django_db
@pytest.mark.parametrize("periods", [[0], [-7], [3651], ["7"], [7.5], [True], [None], [[7]]])
def test_invalid_period_values(api_client, periods):
    errors = field_errors(
        create(api_client, eventName="KIT_EXPIRY_ADVANCE_NOTIFICATION", advanceNotificationPeriods=periods)
    )

    assert "advanceNotificationPeriods" in errors


@pytest.mark.django_db
def test_too_many_distinct_periods(api_client):
    errors = field_errors(
        create(api_client, eventName="KIT_EXPIRY_ADVANCE_NOTIFICATION", advanceNotificationPeriods=list(range(1, 12)))
    )

    assert "At most 10" in errors["advanceNotificationPeriods"][0]


@pytest.mark.django_db
@pytest.mark.usefixtures("no_allowlist")
@pytest.mark.parametrize(
    "destination",
    [
        "http://your-app.com/webhooks",
        "https://127.0.0.1/hook",
        "https://2130706433/hook",
        "https://0177.0.0.1/hook",
        "https://0x7f.0.0.1/hook",
        "https://127.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:7f00:1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/hook",
        "https://localhost/hook",
        "https://api.localhost/hook",
        "https://localhost./hook",
        "https://admin:secret@your-app.com/hook",
        "not a url",
        "https://your-app.com/" + "a" * 3000,
    ],
)
def test_unsafe_destinations_are_400(api_client, destination):
    errors = field_errors(create(api_client, destination=destination))

    assert errors["destination"]
    assert not EventSubscription.objects.exists()


@pytest.mark.django_db
def test_unknown_fields_are_rejected(api_client):
    errors = field_errors(create(api_client, callbackUrl="https://x.example.com", secret="mine"))

    assert "Unknown field" in errors["callbackUrl"][0]
    assert "secret" in errors


@pytest.mark.django_db
def test_unknown_fields_are_reported_with_other_errors(api_client):
    errors = field_errors(api_client.post(SUBSCRIPTIONS_URL, {"eventName": "NOPE", "colour": "red"}, format="json"))

    assert set(errors) >= {"eventName", "destination", "colour"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw",
    ["{not json", '{"eventName": "TRANSACTION_NOTIFICATION",}', "", "\xff\xfe", '{"a": NaN'],
)
def test_garbage_json_is_400(api_client, raw):
    response = post_raw(api_client, raw)

    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"parse_error", "validation_error"}


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["[]", '"TRANSACTION_NOTIFICATION"', "null", "42"])
def test_json_that_is_not_an_object_is_400(api_client, raw):
    response = post_raw(api_client, raw)

    assert response.status_code == 400
    assert response.json()["error"]["fields"]


@pytest.mark.django_db
def test_form_encoded_body_is_415(api_client):
    response = api_client.post(SUBSCRIPTIONS_URL, "eventName=X", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415


@pytest.mark.django_db
def test_huge_body_is_rejected_cleanly(api_client):
    response = create(api_client, destination="https://your-app.com/" + "a" * 1_000_000)

    assert response.status_code == 400
    assert "destination" in response.json()["error"]["fields"]


# --- PUT -------------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_put_partial_retry_config_keeps_the_other_value(api_client, subscription):
    response = api_client.put(
        SUBSCRIPTIONS_URL, {"eventName": "TRANSACTION_NOTIFICATION", "retryConfig": {"maxRetries": 9}}, format="json"
    )

    assert response.json()["retryConfig"] == {"maxRetries": 9, "retryIntervalSeconds": 1}
    assert response.json()["destination"] == "https://partner.example.com/hooks"


@pytest.mark.django_db
def test_put_accepts_a_get_response_round_trip(api_client, subscription):
    body = api_client.get(detail_url("TRANSACTION_NOTIFICATION")).json()
    body["destination"] = "https://partner.example.com/v2"

    response = api_client.put(SUBSCRIPTIONS_URL, body, format="json")

    assert response.status_code == 200
    assert response.json()["destination"] == "https://partner.example.com/v2"


@pytest.mark.django_db
def test_put_unknown_subscription_is_404(api_client):
    response = put_raw(api_client, SEED_PUT)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_put_unknown_event_name_is_400(api_client):
    errors = field_errors(api_client.put(SUBSCRIPTIONS_URL, {"eventName": "NOPE"}, format="json"))

    assert "eventName" in errors


@pytest.mark.django_db
def test_put_validates_fields(api_client, subscription, no_allowlist):
    response = api_client.put(
        SUBSCRIPTIONS_URL,
        {"eventName": "TRANSACTION_NOTIFICATION", "destination": "https://10.0.0.1/x",
         "advanceNotificationPeriods": [7]},
        format="json",
    )

    errors = field_errors(response)
    assert set(errors) == {"destination"} or set(errors) == {"destination", "advanceNotificationPeriods"}
    subscription.refresh_from_db()
    assert subscription.destination == "https://partner.example.com/hooks"


@pytest.mark.django_db
def test_put_periods_on_instant_event_is_400(api_client, subscription):
    errors = field_errors(api_client.put(
        SUBSCRIPTIONS_URL, {"eventName": "TRANSACTION_NOTIFICATION", "advanceNotificationPeriods": [7]}, format="json"
    ))

    assert "advanceNotificationPeriods" in errors


@pytest.mark.django_db
def test_put_updates_advance_periods(api_client, partner):
    EventSubscriptionFactory(partner=partner, event_name="KIT_EXPIRY_ADVANCE_NOTIFICATION",
                             advance_notification_periods=[30])

    response = api_client.put(
        SUBSCRIPTIONS_URL,
        {"eventName": "KIT_EXPIRY_ADVANCE_NOTIFICATION", "advanceNotificationPeriods": [1, 60, 1]},
        format="json",
    )

    assert response.json()["advanceNotificationPeriods"] == [60, 1]


@pytest.mark.django_db
def test_put_disable_then_enable(api_client, subscription, django_capture_on_commit_callbacks, monkeypatch):
    enqueued = []
    monkeypatch.setattr(queue, "_send", lambda name, args, countdown=None: enqueued.append(name))
    pending = WebhookDeliveryFactory(subscription=subscription, status=DeliveryStatus.PENDING)
    done = WebhookDeliveryFactory(subscription=subscription, status=DeliveryStatus.SUCCEEDED)

    disabled = api_client.put(SUBSCRIPTIONS_URL, {"eventName": "TRANSACTION_NOTIFICATION", "isEnabled": False},
                              format="json").json()
    assert disabled["isEnabled"] is False
    assert disabled["disabledReason"] == "Disabled by the partner"
    assert disabled["disabledAt"] is not None

    EventSubscription.objects.filter(pk=subscription.pk).update(failing_since=subscription.created_at)
    before = pending.next_attempt_at
    with django_capture_on_commit_callbacks(execute=True):
        enabled = api_client.put(SUBSCRIPTIONS_URL, {"eventName": "TRANSACTION_NOTIFICATION", "isEnabled": True},
                                 format="json").json()

    assert enabled["isEnabled"] is True
    assert enabled["disabledReason"] is None
    assert enabled["disabledAt"] is None
    subscription.refresh_from_db()
    assert subscription.failing_since is None
    pending.refresh_from_db()
    done.refresh_from_db()
    assert pending.next_attempt_at > before
    assert done.next_attempt_at < pending.next_attempt_at
    # The re-enqueue sweep, and the publish of the ENDPOINT_ENABLED event.
    assert enqueued == ["notifications.tasks.requeue_due_work", "notifications.tasks.publish_outbox"]


# --- 404 and tenant isolation ----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("delete", ""), ("get", "/secret"), ("post", "/secret/rotate")],
)
def test_unknown_subscription_is_404(make_client, partner, method, suffix):
    client = make_client(partner, level=3)

    response = getattr(client, method)(detail_url("TRANSACTION_NOTIFICATION") + suffix)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_another_tenants_subscription_is_invisible(make_client, partner, other_partner):
    theirs = EventSubscriptionFactory(partner=other_partner, event_name="KIT_STATUS_UPDATE",
                                      destination="https://globex.example.com/hook")
    client = make_client(partner, level=3)

    assert client.get(SUBSCRIPTIONS_URL).json() == {"count": 0, "results": []}
    for method, suffix in [("get", ""), ("delete", ""), ("get", "/secret"), ("post", "/secret/rotate")]:
        assert getattr(client, method)(detail_url("KIT_STATUS_UPDATE") + suffix).status_code == 404
    put = client.put(SUBSCRIPTIONS_URL, {"eventName": "KIT_STATUS_UPDATE", "isEnabled": False}, format="json")
    assert put.status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_enabled is True
    assert theirs.previous_secret_encrypted == ""


@pytest.mark.django_db
def test_both_tenants_can_subscribe_to_the_same_event(make_client, partner, other_partner):
    ours = create(make_client(partner))
    theirs = create(make_client(other_partner), destination="https://globex.example.com/hook")

    assert ours.status_code == theirs.status_code == 201
    assert make_client(partner).get(SUBSCRIPTIONS_URL).json()["results"][0]["destination"] == (
        "https://hooks.example.com/tx"
    )


# --- secrets ---------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_secret_is_encrypted_at_rest_and_absent_from_reads(api_client):
    secret = post_raw(api_client, SEED_POST).json()["secret"]

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM subscriptions_eventsubscription")
        stored = repr(cursor.fetchall())
    assert secret not in stored
    assert secret.removeprefix("whsec_") not in stored
    assert secret not in api_client.get(SUBSCRIPTIONS_URL).content.decode()
    assert secret not in api_client.get(detail_url("TRANSACTION_NOTIFICATION")).content.decode()
    assert not any(secret in json.dumps([a.before, a.after]) for a in AuditEntry.objects.all())


@pytest.mark.django_db
def test_get_secret_returns_current_secret_and_is_audited(api_client):
    secret = post_raw(api_client, SEED_POST).json()["secret"]

    response = api_client.get(detail_url("TRANSACTION_NOTIFICATION") + "/secret")

    assert response.status_code == 200
    assert response.json() == {"eventName": "TRANSACTION_NOTIFICATION", "secret": secret,
                               "previousSecretExpiresAt": None, "signatureScheme": "hmac-sha256", "publicKey": None}
    assert AuditEntry.objects.filter(action="subscription.secret_viewed").count() == 1


@pytest.mark.django_db
def test_rotate_secret_keeps_old_one_signing_for_the_overlap(make_client, partner, settings):
    from datetime import timedelta

    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    client = make_client(partner, level=3)
    old = post_raw(client, SEED_POST).json()["secret"]

    response = client.post(detail_url("TRANSACTION_NOTIFICATION") + "/secret/rotate")

    assert response.status_code == 200
    body = response.json()
    new = body["secret"]
    assert new.startswith("whsec_") and new != old
    expires = parse_datetime(body["previousSecretExpiresAt"])
    expected = timezone.now() + timedelta(hours=settings.WEBHOOK_SECRET_ROTATION_OVERLAP_HOURS)
    assert abs((expires - expected).total_seconds()) < 60
    sub = EventSubscription.objects.get(partner=partner)
    assert sub.signing_secrets() == [new, old]
    assert sub.signing_secrets(now=expires + timedelta(seconds=1)) == [new]
    assert client.get(detail_url("TRANSACTION_NOTIFICATION") + "/secret").json()["secret"] == new
    entry = AuditEntry.objects.get(action="subscription.secret_rotated")
    assert entry.channel == AuditChannel.PARTNER_API
    assert old not in json.dumps(entry.after) and new not in json.dumps(entry.after)


@pytest.mark.django_db
def test_rotate_twice_drops_the_oldest_secret(make_client, partner):
    client = make_client(partner, level=3)
    first = post_raw(client, SEED_POST).json()["secret"]
    second = client.post(detail_url("TRANSACTION_NOTIFICATION") + "/secret/rotate").json()["secret"]
    third = client.post(detail_url("TRANSACTION_NOTIFICATION") + "/secret/rotate").json()["secret"]

    assert EventSubscription.objects.get(partner=partner).signing_secrets() == [third, second]
    assert first not in EventSubscription.objects.get(partner=partner).signing_secrets()


# --- audit -----------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_changes_are_audited_with_the_token(api_client, partner):
    post_raw(api_client, SEED_POST)
    put_raw(api_client, SEED_PUT)
    api_client.delete(detail_url("TRANSACTION_NOTIFICATION"))

    entries = list(AuditEntry.objects.filter(partner=partner, object_type="EventSubscription").order_by("id"))
    assert [e.action for e in entries] == ["subscription.created", "subscription.updated", "subscription.deleted"]
    assert {e.channel for e in entries} == {AuditChannel.PARTNER_API}
    assert all(api_client.token.prefix in e.actor for e in entries)
    assert entries[1].before["destination"] == "https://your-app.com/webhooks/transactions"
    assert entries[1].after["destination"] == "https://your-app.com/v2/webhooks/transactions"


@pytest.mark.django_db
def test_put_without_changes_writes_no_audit(api_client, subscription):
    api_client.put(SUBSCRIPTIONS_URL, {"eventName": "TRANSACTION_NOTIFICATION"}, format="json")

    assert not AuditEntry.objects.filter(action="subscription.updated").exists()
