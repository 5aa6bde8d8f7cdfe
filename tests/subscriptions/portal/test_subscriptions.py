"""Subscriptions in the portal go through the partner API's own serializers and services: the same options, the
same rules and messages, the same audit trail (channel PORTAL). Test events, secrets and "recover since T"."""

import datetime

import pytest
from django.http import QueryDict
from django.test import override_settings
from django.utils import timezone
from rest_framework import serializers

from notifications.models import DeliveryStatus, RecoverJob, WebhookDelivery
from notifications.services import recover_job_run
from subscriptions.apis.subscriptions import SubscriptionCreateApi
from subscriptions.models import AuditEntry, EventSubscription
from subscriptions.portal.models import PortalRole
from subscriptions.portal.serializer_forms import form_fields, form_payload
from tests.factories import EventFactory, EventSubscriptionFactory, WebhookDeliveryFactory
from tests.subscriptions.portal.conftest import PASSWORD, PORTAL

NEW = PORTAL + "subscriptions/new/"


def test_the_create_form_offers_every_option_of_the_api(signed_in, partner):
    body = signed_in(partner).get(NEW).content.decode()
    for name in SubscriptionCreateApi.InputSerializer().fields:
        assert f'name="{name}' in body, name
    assert 'name="retryConfig.maxRetries"' in body and 'name="retryConfig.retryIntervalSeconds"' in body
    assert "ALL_EVENTS — every event" in body


def test_create_through_the_form(signed_in, partner):
    client = signed_in(partner)
    response = client.post(NEW, {"eventName": "KIT_EXPIRY_ADVANCE_NOTIFICATION", "isEnabled": ["false", "true"],
                                 "destination": "https://acme.example.com/expiry", "retryConfig.maxRetries": "2",
                                 "retryConfig.retryIntervalSeconds": "", "advanceNotificationPeriods": "7, 30,15"})
    assert response.status_code == 302
    assert response["Location"] == "/portal/subscriptions/KIT_EXPIRY_ADVANCE_NOTIFICATION/?created=1"
    subscription = EventSubscription.objects.get(partner=partner)
    assert subscription.is_enabled and subscription.max_retries == 2
    assert subscription.retry_interval_seconds == 60  # empty: the API's default
    assert subscription.advance_notification_periods == [30, 15, 7]
    entry = AuditEntry.objects.get(action="subscription.created")
    assert entry.channel == "PORTAL" and entry.actor == "acme/user:acme-developer"


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"eventName": "CARD_ISSUED", "destination": "ftp://acme.example.com/x"}, "destination", "https"),
    ({"eventName": "NOPE", "destination": "https://acme.example.com/x"}, "eventName", "NOPE"),
    ({"eventName": "CARD_ISSUED", "destination": "https://acme.example.com/x", "retryConfig.maxRetries": "99"},
     "retryConfig.maxRetries", "20"),
    ({"eventName": "CARD_ISSUED", "destination": "https://acme.example.com/x", "retryConfig.maxRetries": "two"},
     "retryConfig.maxRetries", "whole number"),
    ({"eventName": "CARD_ISSUED", "destination": "https://acme.example.com/x", "advanceNotificationPeriods": "7"},
     "advanceNotificationPeriods", "ADVANCE"),
    ({"eventName": "CARD_ISSUED", "destination": "https://acme.example.com/x", "advanceNotificationPeriods": "a"},
     "advanceNotificationPeriods", "whole numbers"),
])
@override_settings(WEBHOOK_DESTINATION_ALLOWLIST=[])
def test_bad_input_shows_the_apis_message_next_to_the_field(signed_in, partner, data, field, message):
    response = signed_in(partner).post(NEW, data)
    assert response.status_code == 400
    body = response.content.decode()
    assert f'data-field="{field}"' in body and message in body
    assert not EventSubscription.objects.exists()


def test_a_second_subscription_for_the_same_event_is_a_conflict(signed_in, partner):
    EventSubscriptionFactory(partner=partner, event_name="CARD_ISSUED")
    response = signed_in(partner).post(NEW, {"eventName": "CARD_ISSUED", "destination": "https://a.example.com/x"})
    assert response.status_code == 409
    assert "already exists" in response.content.decode()


@pytest.fixture
def subscription(partner):
    return EventSubscriptionFactory(partner=partner, event_name="TRANSACTION_NOTIFICATION",
                                    destination="https://acme.example.com/hooks")


def test_edit_through_the_form(signed_in, partner, subscription):
    client = signed_in(partner)
    page = client.get(PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/").content.decode()
    assert 'value="https://acme.example.com/hooks"' in page
    response = client.post(PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/", {
        "eventName": "CARD_ISSUED",  # ignored: the URL names the subscription
        "isEnabled": "false", "destination": "https://acme.example.com/v2", "retryConfig.maxRetries": "4",
        "retryConfig.retryIntervalSeconds": "30", "advanceNotificationPeriods": ""})
    assert response.status_code == 200 and 'id="saved"' in response.content.decode()
    subscription.refresh_from_db()
    assert (subscription.destination, subscription.max_retries, subscription.retry_interval_seconds) == (
        "https://acme.example.com/v2", 4, 30)
    assert not subscription.is_enabled and subscription.disabled_reason == "Disabled by the partner"
    entry = AuditEntry.objects.get(action="subscription.updated")
    assert entry.before["destination"] == "https://acme.example.com/hooks" and entry.channel == "PORTAL"


def test_enable_disable_and_delete(signed_in, partner, subscription):
    client = signed_in(partner)
    client.post(PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/toggle/")
    subscription.refresh_from_db()
    assert not subscription.is_enabled
    client.post(PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/toggle/")
    subscription.refresh_from_db()
    assert subscription.is_enabled
    assert client.post(PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/delete/").status_code == 302
    assert not EventSubscription.objects.exists()
    assert AuditEntry.objects.filter(action="subscription.deleted", channel="PORTAL").exists()


def test_send_test_event(signed_in, partner, subscription):
    response = signed_in(partner).post(PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/test/",
                                       HTTP_HX_REQUEST="true")
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert delivery.event.event_name == "WEBHOOK_TEST"
    assert response.headers["HX-Redirect"] == f"/portal/events/{delivery.event.event_id}/"
    assert AuditEntry.objects.filter(action="subscription.test_sent", channel="PORTAL").exists()


def test_a_disabled_subscription_gets_no_test_event(signed_in, partner, subscription):
    subscription.is_enabled = False
    subscription.save()
    response = signed_in(partner).post(PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/test/")
    assert response.status_code == 409 and "enable it first" in response.content.decode()
    assert not WebhookDelivery.objects.exists()


def test_revealing_the_secret_asks_for_the_password_again(signed_in, partner, subscription, settings):
    settings.PORTAL_REAUTH_MINUTES = 0
    client = signed_in(partner)
    url = PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/secret/"
    asked = client.post(url)
    assert 'id="reauth-form"' in asked.content.decode() and "whsec_" not in asked.content.decode()
    wrong = client.post(url, {"password": "nope"})
    assert wrong.status_code == 403 and "whsec_" not in wrong.content.decode()
    right = client.post(url, {"password": PASSWORD})
    assert subscription.secret in right.content.decode()
    assert AuditEntry.objects.filter(action="subscription.secret_viewed", channel="PORTAL").count() == 1


def test_rotate_the_secret(signed_in, partner, subscription):
    old = subscription.secret
    client = signed_in(partner, PortalRole.ADMIN)
    response = client.post(PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/secret/rotate/")
    assert "Secret rotated" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.secret != old and old in subscription.signing_secrets()
    assert old not in response.content.decode() and subscription.secret not in response.content.decode()


def test_recover_resends_this_subscriptions_failed_deliveries_since_the_time(signed_in, partner, subscription):
    other = EventSubscriptionFactory(partner=partner, event_name="CARD_ISSUED")
    now = timezone.now()

    def failed(sub, hours_ago):
        delivery = WebhookDeliveryFactory(subscription=sub, status=DeliveryStatus.FAILED, attempt_count=3,
                                          event=EventFactory(partner=partner))
        WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=now - datetime.timedelta(hours=hours_ago))
        return delivery

    recent, old, elsewhere = failed(subscription, 1), failed(subscription, 30), failed(other, 1)
    since = (now - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    client = signed_in(partner)
    response = client.post(PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/recover/", {"since": since})
    job = RecoverJob.objects.get(subscription=subscription)  # the partner API's own recover job, not a second path
    assert f"Recovering: job {job.pk} started" in response.content.decode()
    recover_job_run(job_id=job.pk)  # what the queued task does in the worker
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses == {recent.pk: "PENDING", old.pk: "FAILED", elsewhere.pk: "FAILED"}
    entry = AuditEntry.objects.get(action="subscription.recover_requested")
    assert entry.after["recover_job"] == job.pk and entry.channel == "PORTAL"
    # Asked again while it runs (or a double click): the same job.
    RecoverJob.objects.filter(pk=job.pk).update(state=RecoverJob.State.RUNNING)
    again = client.post(PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/recover/", {"since": since})
    assert f"Recovering: job {job.pk} is already running" in again.content.decode()


@pytest.mark.parametrize(("data", "message"), [
    ({"since": ""}, "Enter the start time"), ({"since": "yesterday"}, "YYYY-MM-DD"),
    ({"since": "2026-01-02T00:00", "until": "2026-01-01T00:00"}, "must be later"),
    ({"since": "2020-01-01T00:00"}, "at most 14 days"),
])
def test_recover_with_bad_times_is_a_400(signed_in, partner, subscription, data, message):
    response = signed_in(partner).post(PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/recover/", data)
    assert response.status_code == 400 and message in response.content.decode()


def test_a_field_added_to_the_api_serializer_appears_in_the_form():
    """What happens when the API grows (payloadFormat, headers, rate limit, auth…): no portal change needed."""

    class Grown(SubscriptionCreateApi.InputSerializer):
        payloadFormat = serializers.ChoiceField(choices=["standard", "issuer", "p2c"], required=False,
                                                help_text="Body shape.")
        headers = serializers.DictField(child=serializers.CharField(), required=False)
        rateLimitPerSecond = serializers.IntegerField(min_value=1, required=False)
        auth = serializers.JSONField(required=False)

    fields = {f.name: f for f in form_fields(Grown())}
    assert fields["payloadFormat"].widget == "select" and fields["payloadFormat"].help_text == "Body shape."
    assert fields["headers"].widget == "lines" and fields["rateLimitPerSecond"].min_value == 1
    post = QueryDict(mutable=True)
    post.update({"eventName": "CARD_ISSUED", "destination": "https://a.example.com/", "payloadFormat": "p2c",
                 "headers": "X-Team: cards\nX-Env: prod", "rateLimitPerSecond": "5", "auth": '{"type": "basic"}'})
    payload, problems = form_payload(Grown(), post)
    assert problems == {}
    assert payload == {"eventName": "CARD_ISSUED", "destination": "https://a.example.com/", "payloadFormat": "p2c",
                       "headers": {"X-Team": "cards", "X-Env": "prod"}, "rateLimitPerSecond": 5,
                       "auth": {"type": "basic"}}
    post["headers"] = "no colon here"
    assert "headers" in form_payload(Grown(), post)[1]
