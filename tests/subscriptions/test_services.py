"""Subscription, partner and token services: the rules every entry point (API, admin, commands) shares."""

import logging

import pytest
from django.core.exceptions import ValidationError

from notifications import queue
from notifications.models import DeliveryStatus, WebhookDelivery
from subscriptions.models import ApiToken, AuditChannel, AuditEntry, EventSubscription, Partner, hash_token
from subscriptions.services.partners import PartnerExists, partner_create
from subscriptions.services.secrets import subscription_secret_rotate, subscription_secrets_reencrypt
from subscriptions.services.subscriptions import (
    SubscriptionExists,
    subscription_create,
    subscription_delete,
    subscription_snapshot,
    subscription_update,
)
from subscriptions.services.tokens import token_issue, token_revoke
from tests.factories import EventSubscriptionFactory, WebhookDeliveryFactory

SYSTEM = {"channel": AuditChannel.SYSTEM, "actor": "tests"}


@pytest.mark.django_db
def test_delete_cancels_undelivered_deliveries_in_the_same_transaction(subscription):
    pending = WebhookDeliveryFactory(subscription=subscription, status=DeliveryStatus.PENDING)
    sending = WebhookDeliveryFactory(subscription=subscription, status=DeliveryStatus.SENDING)
    succeeded = WebhookDeliveryFactory(subscription=subscription, status=DeliveryStatus.SUCCEEDED)
    failed = WebhookDeliveryFactory(subscription=subscription, status=DeliveryStatus.FAILED)

    cancelled = subscription_delete(subscription=subscription, **SYSTEM)

    assert cancelled == 2
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses == {
        pending.pk: DeliveryStatus.CANCELLED,
        sending.pk: DeliveryStatus.CANCELLED,
        succeeded.pk: DeliveryStatus.SUCCEEDED,
        failed.pk: DeliveryStatus.FAILED,
    }
    assert WebhookDelivery.objects.get(pk=pending.pk).completed_at is not None
    assert not EventSubscription.objects.filter(pk=subscription.pk).exists()
    entry = AuditEntry.objects.get(action="subscription.deleted")
    assert entry.after == {"cancelled_deliveries": 2}


@pytest.mark.django_db
def test_reenable_survives_redis_being_down(subscription, django_capture_on_commit_callbacks, monkeypatch, caplog):
    attempted = []

    def broker_down(name, args, countdown=None):
        attempted.append(name)
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(queue, "_send", broker_down)
    subscription_update(subscription=subscription, is_enabled=False, **SYSTEM)

    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        updated = subscription_update(subscription=subscription, is_enabled=True, **SYSTEM)

    assert updated.is_enabled is True
    # The re-enqueue sweep, then the publish of the ENDPOINT_ENABLED event (its outbox row waits for the beat task).
    assert attempted == ["notifications.tasks.requeue_due_work", "notifications.tasks.publish_outbox"]
    assert "Could not enqueue the re-enqueue sweep" in caplog.text


@pytest.mark.django_db
def test_disabling_records_reason_by_channel(subscription):
    subscription_update(
        subscription=subscription, is_enabled=False, channel=AuditChannel.ADMIN, actor="support"
    )

    subscription.refresh_from_db()
    assert subscription.disabled_reason == "Disabled by support staff"
    assert subscription.disabled_at is not None


@pytest.mark.django_db
def test_services_validate_like_the_api(partner, no_allowlist):
    with pytest.raises(ValidationError) as exc_info:
        subscription_create(
            partner=partner, event_name="NOPE", destination="https://10.0.0.1/", max_retries=99, **SYSTEM
        )

    assert set(exc_info.value.message_dict) == {"eventName", "destination", "retryConfig.maxRetries"}
    assert not EventSubscription.objects.exists()


@pytest.mark.django_db
def test_duplicate_create_raises_subscription_exists(subscription):
    with pytest.raises(SubscriptionExists):
        subscription_create(
            partner=subscription.partner, event_name=subscription.event_name,
            destination="https://other.example.com/", **SYSTEM,
        )


@pytest.mark.django_db
def test_update_none_keeps_values(subscription):
    before = subscription_snapshot(subscription)

    subscription_update(subscription=subscription, **SYSTEM)

    subscription.refresh_from_db()
    assert subscription_snapshot(subscription) == before


@pytest.mark.django_db
def test_secret_rotation_keeps_previous_secret_for_overlap(subscription, settings):
    settings.WEBHOOK_SECRET_ROTATION_OVERLAP_HOURS = 2
    old = subscription.secret

    rotated = subscription_secret_rotate(subscription=subscription, **SYSTEM)

    assert rotated.secret != old
    assert rotated.signing_secrets() == [rotated.secret, old]
    hours = (rotated.previous_secret_expires_at - rotated.updated_at).total_seconds() / 3600
    assert 1.99 < hours <= 2.01


@pytest.mark.django_db
def test_partner_create_and_its_rules():
    partner = partner_create(tenant_id="acme-2", name=" Acme Two ", **SYSTEM)

    assert partner.name == "Acme Two"
    assert AuditEntry.objects.filter(action="partner.created", object_id="acme-2").exists()
    with pytest.raises(PartnerExists):
        partner_create(tenant_id="ACME-2", name="Shouting", **SYSTEM)
    for bad in ["", "has space", "x" * 65, "semi;colon", "ünï"]:
        with pytest.raises(ValidationError):
            partner_create(tenant_id=bad, name="Bad", **SYSTEM)
    with pytest.raises(ValidationError):
        partner_create(tenant_id="noname", name="  ", **SYSTEM)
    assert Partner.objects.count() == 1


@pytest.mark.django_db
def test_token_issue_and_revoke(partner):
    token, raw = token_issue(partner=partner, level=3, name="ops", **SYSTEM)

    assert raw.startswith("ppn_") and len(raw) > 40
    assert token.token_hash == hash_token(raw)
    assert raw.startswith(token.prefix) and len(token.prefix) == 12
    assert ApiToken.objects.get(pk=token.pk).level == 3

    token_revoke(token=token, **SYSTEM)
    first_revocation = ApiToken.objects.get(pk=token.pk).revoked_at
    token_revoke(token=ApiToken.objects.get(pk=token.pk), **SYSTEM)

    assert first_revocation is not None
    assert ApiToken.objects.get(pk=token.pk).revoked_at == first_revocation
    assert AuditEntry.objects.filter(action="token.revoked").count() == 1


@pytest.mark.django_db
def test_token_issue_rejects_unknown_level(partner):
    with pytest.raises(ValidationError):
        token_issue(partner=partner, level=7, **SYSTEM)


@pytest.mark.django_db
def test_reencrypt_moves_secrets_to_the_first_key(partner, settings):
    settings.SECRETS_ENCRYPTION_KEYS = ["old-key-old-key-old-key-old-key-0001"]
    sub = EventSubscriptionFactory(partner=partner)
    subscription_secret_rotate(subscription=sub, **SYSTEM)
    sub.refresh_from_db()
    secrets_before = sub.signing_secrets()

    settings.SECRETS_ENCRYPTION_KEYS = ["new-key-new-key-new-key-new-key-0002", "old-key-old-key-old-key-old-key-0001"]
    report = subscription_secrets_reencrypt(**SYSTEM)
    settings.SECRETS_ENCRYPTION_KEYS = ["new-key-new-key-new-key-new-key-0002"]

    sub.refresh_from_db()
    assert report.reencrypted == 1 and report.failed == []
    assert sub.signing_secrets() == secrets_before


@pytest.mark.django_db
def test_changing_a_subscription_deleted_meanwhile_raises_does_not_exist(subscription):
    stale = EventSubscription.objects.get(pk=subscription.pk)
    subscription_delete(subscription=subscription, **SYSTEM)

    with pytest.raises(EventSubscription.DoesNotExist):
        subscription_update(subscription=stale, destination="https://x.example.com/", **SYSTEM)
    with pytest.raises(EventSubscription.DoesNotExist):
        subscription_secret_rotate(subscription=stale, **SYSTEM)
