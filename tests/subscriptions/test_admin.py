"""Admin: pages load for a superuser, tokens are issued (shown once) and revoked, subscriptions are edited through
the services (validated, audited with channel ADMIN) and never show their secret."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from notifications.models import DeliveryStatus
from subscriptions.models import ApiToken, AuditChannel, AuditEntry, EventSubscription, Partner, hash_token
from subscriptions.services.tokens import token_issue
from tests.factories import WebhookDeliveryFactory


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("support", "support@example.com", "pw-not-used-0123")
    client.force_login(user)
    return client


def admin_url(model: str, view: str = "changelist", *args) -> str:
    return reverse(f"admin:subscriptions_{model}_{view}", args=args)


@pytest.mark.django_db
def test_every_page_loads(admin_client, partner, subscription):
    token, _ = token_issue(partner=partner, channel="SYSTEM", actor="tests")
    entry = AuditEntry.objects.first()
    pages = [
        admin_url("partner"), admin_url("partner", "add"), admin_url("partner", "change", partner.pk),
        admin_url("apitoken"), admin_url("apitoken", "add"), admin_url("apitoken", "change", token.pk),
        admin_url("eventsubscription"), admin_url("eventsubscription", "add"),
        admin_url("eventsubscription", "change", subscription.pk),
        admin_url("auditentry"), admin_url("auditentry", "change", entry.pk),
        admin_url("eventsubscription") + "?q=acme&is_enabled__exact=1&health=healthy",
        admin_url("apitoken") + "?state=active&level__exact=2",
        admin_url("auditentry") + "?channel__exact=SYSTEM",
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page


@pytest.mark.django_db
def test_subscription_pages_never_show_the_secret(admin_client, subscription):
    secret = subscription.secret

    change = admin_client.get(admin_url("eventsubscription", "change", subscription.pk)).content.decode()
    listing = admin_client.get(admin_url("eventsubscription")).content.decode()

    assert secret not in change and secret not in listing
    assert subscription.secret_encrypted not in change


@pytest.mark.django_db
def test_issue_token_shows_raw_token_once(admin_client, partner):
    response = admin_client.post(admin_url("apitoken", "add"), {"partner": partner.pk, "name": "ci", "level": 3},
                                 follow=True)

    assert response.status_code == 200
    token = ApiToken.objects.get(partner=partner)
    shown = [str(m) for m in response.context["messages"]]
    raw = next(word for m in shown for word in m.split() if word.startswith("ppn_"))
    assert hash_token(raw) == token.token_hash
    assert (token.level, token.name) == (3, "ci")
    # shown once: the next page has no trace of it, and it is nowhere in the database
    assert raw not in admin_client.get(admin_url("apitoken", "change", token.pk)).content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_data FROM django_session")
        sessions = repr(cursor.fetchall())
    assert raw not in sessions
    entry = AuditEntry.objects.get(action="token.issued")
    assert (entry.channel, entry.actor) == (AuditChannel.ADMIN, "support")


@pytest.mark.django_db
def test_revoke_action(admin_client, partner):
    token, _ = token_issue(partner=partner, channel="SYSTEM", actor="tests")

    response = admin_client.post(admin_url("apitoken"), {"action": "revoke_tokens", "_selected_action": [token.pk]},
                                 follow=True)

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert [str(m) for m in response.context["messages"]] == ["Revoked 1 token(s)."]
    assert AuditEntry.objects.filter(action="token.revoked", channel=AuditChannel.ADMIN).exists()


@pytest.mark.django_db
def test_create_partner_in_admin_is_audited(admin_client):
    response = admin_client.post(admin_url("partner", "add"), {
        "tenant_id": "initech", "name": "Initech", "is_active": "on",
        "api_tokens-TOTAL_FORMS": "0", "api_tokens-INITIAL_FORMS": "0",
    })

    assert response.status_code == 302
    assert Partner.objects.get(tenant_id="initech").name == "Initech"
    assert AuditEntry.objects.get(action="partner.created").channel == AuditChannel.ADMIN


@pytest.mark.django_db
def test_partner_form_rejects_bad_and_duplicate_ids(admin_client, partner):
    for tenant_id in ("ACME", "bad id"):
        response = admin_client.post(admin_url("partner", "add"), {
            "tenant_id": tenant_id, "name": "X", "api_tokens-TOTAL_FORMS": "0", "api_tokens-INITIAL_FORMS": "0",
        })
        assert response.status_code == 200
        assert response.context["adminform"].form.errors["tenant_id"]
    assert Partner.objects.count() == 1


def subscription_form(partner, **overrides) -> dict:
    return {
        "partner": partner.pk, "event_name": "KIT_EXPIRY_ADVANCE_NOTIFICATION", "is_enabled": "on",
        "destination": "https://hooks.example.com/expiry", "max_retries": 4, "retry_interval_seconds": 30,
        "advance_notification_periods": "7,30,7", **overrides,
    }


@pytest.mark.django_db
def test_create_subscription_in_admin(admin_client, partner):
    response = admin_client.post(admin_url("eventsubscription", "add"), subscription_form(partner))

    assert response.status_code == 302
    sub = EventSubscription.objects.get(partner=partner)
    assert sub.advance_notification_periods == [30, 7]
    assert sub.secret.startswith("whsec_")
    assert AuditEntry.objects.get(action="subscription.created").channel == AuditChannel.ADMIN


@pytest.mark.django_db
@pytest.mark.usefixtures("no_allowlist")
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"destination": "https://127.0.0.1/x"}, "destination"),
        ({"destination": "http://hooks.example.com/x"}, "destination"),
        ({"max_retries": 99}, "max_retries"),
        ({"retry_interval_seconds": 0}, "retry_interval_seconds"),
        ({"event_name": "TRANSACTION_NOTIFICATION"}, "advance_notification_periods"),
        ({"advance_notification_periods": "0"}, "advance_notification_periods"),
        ({"event_name": "NOPE"}, "event_name"),
    ],
)
def test_admin_subscription_form_validates(admin_client, partner, overrides, field):
    response = admin_client.post(admin_url("eventsubscription", "add"), subscription_form(partner, **overrides))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not EventSubscription.objects.exists()


@pytest.mark.django_db
def test_admin_rejects_duplicate_subscription(admin_client, subscription):
    response = admin_client.post(admin_url("eventsubscription", "add"), subscription_form(
        subscription.partner, event_name="TRANSACTION_NOTIFICATION", advance_notification_periods=""
    ))

    assert response.status_code == 200
    assert "already has a subscription" in str(response.context["adminform"].form.errors)


@pytest.mark.django_db
def test_edit_subscription_in_admin_is_audited(admin_client, subscription):
    response = admin_client.post(admin_url("eventsubscription", "change", subscription.pk), {
        "is_enabled": "on", "destination": "https://partner.example.com/v2", "max_retries": 3,
        "retry_interval_seconds": 1, "advance_notification_periods": "",
    })

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.destination == "https://partner.example.com/v2"
    entry = AuditEntry.objects.get(action="subscription.updated")
    assert (entry.channel, entry.after["destination"]) == (AuditChannel.ADMIN, "https://partner.example.com/v2")


@pytest.mark.django_db
def test_enable_disable_and_rotate_actions(admin_client, subscription):
    url = admin_url("eventsubscription")
    old_secret = subscription.secret

    admin_client.post(url, {"action": "disable_subscriptions", "_selected_action": [subscription.pk]})
    subscription.refresh_from_db()
    assert subscription.is_enabled is False
    assert subscription.disabled_reason == "Disabled by support staff"

    admin_client.post(url, {"action": "enable_subscriptions", "_selected_action": [subscription.pk]})
    admin_client.post(url, {"action": "rotate_secrets", "_selected_action": [subscription.pk]})
    subscription.refresh_from_db()
    assert subscription.is_enabled is True
    assert subscription.signing_secrets()[1] == old_secret
    actions = set(AuditEntry.objects.filter(channel=AuditChannel.ADMIN).values_list("action", flat=True))
    assert actions == {"subscription.updated", "subscription.secret_rotated"}


@pytest.mark.django_db
def test_delete_subscription_in_admin_cancels_deliveries(admin_client, subscription):
    delivery = WebhookDeliveryFactory(subscription=subscription)

    response = admin_client.post(admin_url("eventsubscription", "delete", subscription.pk), {"post": "yes"})

    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.CANCELLED
    assert AuditEntry.objects.get(action="subscription.deleted").channel == AuditChannel.ADMIN


@pytest.mark.django_db
def test_audit_log_is_read_only(admin_client):
    entry = AuditEntry.objects.create(channel="SYSTEM", actor="x", action="a", object_type="t", object_id="1")

    assert admin_client.get(admin_url("auditentry", "add")).status_code == 403
    assert admin_client.post(admin_url("auditentry", "delete", entry.pk), {"post": "yes"}).status_code == 403


@pytest.mark.django_db
def test_admin_sets_the_payload_format_and_keeps_it_when_left_blank(admin_client, partner):
    admin_client.post(admin_url("eventsubscription", "add"), subscription_form(partner, payload_format="issuer"))
    sub = EventSubscription.objects.get(partner=partner)
    assert sub.payload_format == "issuer"

    response = admin_client.post(admin_url("eventsubscription", "change", sub.pk), {
        "is_enabled": "on", "destination": sub.destination, "max_retries": 3, "retry_interval_seconds": 1,
        "advance_notification_periods": "", "payload_format": "",
    })

    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.payload_format == "issuer"
    bad = admin_client.post(admin_url("eventsubscription", "change", sub.pk), {
        "is_enabled": "on", "destination": sub.destination, "max_retries": 3, "retry_interval_seconds": 1,
        "payload_format": "xml",
    })
    assert "payload_format" in bad.context["adminform"].form.errors
