"""Audit: every change made through the partner API or the admin to subscriptions, secrets, wallets and templates
leaves an AuditEntry with the actor, the time, and what it was before and after."""

import datetime
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from subscriptions.models import ApiToken, AuditChannel, AuditEntry, EventSubscription, Partner
from templates.models import NotificationTemplate
from tests.factories import CardFactory, CardholderFactory, EventSubscriptionFactory, ProductFactory, WalletFactory
from wallets.models import Wallet

pytestmark = pytest.mark.django_db

API = "/prepaid/auth/v1/"
PARTNER_API = AuditChannel.PARTNER_API
ADMIN = AuditChannel.ADMIN


def audited(action: str, *, channel: str, actor: str, object_id=None, before=True, after=True) -> AuditEntry:
    """The one entry for `action`; checks channel, actor, a fresh timestamp and whether before/after are set."""
    entries = list(AuditEntry.objects.filter(action=action))
    assert len(entries) == 1, (action, [(e.action, e.object_id) for e in AuditEntry.objects.all()])
    (entry,) = entries
    assert entry.channel == channel, (action, entry.channel)
    assert entry.actor == actor, (action, entry.actor)
    assert timezone.now() - entry.created_at < timedelta(minutes=1)
    if object_id is not None:
        assert entry.object_id == str(object_id)
    assert (entry.before is not None) is before, (action, entry.before)
    assert (entry.after is not None) is after, (action, entry.after)
    return entry


@pytest.fixture
def client2(acme, make_client):
    return make_client(acme, level=3)


@pytest.fixture
def actor(client2) -> str:
    return f"acme/token:{client2.token.prefix}"


# --- partner API --------------------------------------------------------------------------------------------------


def test_subscription_and_secret_changes_through_the_api_are_audited(client2, actor, settings):
    settings.WEBHOOK_DESTINATION_ALLOWLIST = []
    url = f"{API}event-subscriptions/"
    body = {"eventName": "TRANSACTION_NOTIFICATION", "destination": "https://hooks.acme-partner.com/a"}
    assert client2.post(url, body, format="json").status_code == 201
    pk = EventSubscription.objects.get().pk
    created = audited("subscription.created", channel=PARTNER_API, actor=actor, object_id=pk, before=False)
    assert created.after["destination"] == body["destination"] and created.partner.tenant_id == "acme"

    update = {"eventName": "TRANSACTION_NOTIFICATION", "destination": "https://hooks.acme-partner.com/b"}
    assert client2.put(url, update, format="json").status_code == 200
    updated = audited("subscription.updated", channel=PARTNER_API, actor=actor, object_id=pk)
    assert updated.before["destination"].endswith("/a") and updated.after["destination"].endswith("/b")

    assert client2.post(f"{url}TRANSACTION_NOTIFICATION/secret/rotate").status_code == 200
    rotated = audited("subscription.secret_rotated", channel=PARTNER_API, actor=actor, object_id=pk, before=False)
    assert "previous_secret_expires_at" in rotated.after and "secret" not in rotated.after

    assert client2.get(f"{url}TRANSACTION_NOTIFICATION/secret").status_code == 200
    audited("subscription.secret_viewed", channel=PARTNER_API, actor=actor, object_id=pk, before=False)

    assert client2.delete(f"{url}TRANSACTION_NOTIFICATION").status_code == 204
    deleted = audited("subscription.deleted", channel=PARTNER_API, actor=actor, object_id=pk)
    assert deleted.before["destination"].endswith("/b")


def test_an_update_that_changes_nothing_is_not_recorded(client2, acme):
    EventSubscriptionFactory(partner=acme)
    response = client2.put(f"{API}event-subscriptions/", {"eventName": "TRANSACTION_NOTIFICATION"}, format="json")
    assert response.status_code == 200
    assert not AuditEntry.objects.filter(action="subscription.updated").exists()


def test_wallet_and_card_changes_through_the_api_are_audited(client2, actor, acme):
    assert client2.post(f"{API}products/", {"code": "gift", "name": "Gift card"}, format="json").status_code == 201
    audited("product.created", channel=PARTNER_API, actor=actor, object_id="gift", before=False)

    holder = {"customerId": "CUST1", "name": "Asha Verma", "phone": "+919800000001"}
    assert client2.post(f"{API}cardholders/", holder, format="json").status_code == 201
    entry = audited("cardholder.created", channel=PARTNER_API, actor=actor, object_id="CUST1", before=False)
    assert "+919800000001" not in str(entry.after)  # contact data is not copied into the audit log

    response = client2.post(f"{API}wallets/", {"customerId": "CUST1", "productCode": "gift"}, format="json")
    assert response.status_code == 201
    wallet = Wallet.objects.get()
    audited("wallet.created", channel=PARTNER_API, actor=actor, object_id=wallet.wallet_id, before=False)

    card = {"walletId": str(wallet.wallet_id), "kitNo": "K0000001", "last4": "4242",
            "expiryDate": (timezone.localdate() + datetime.timedelta(days=900)).isoformat()}
    response = client2.post(f"{API}cards/", card, format="json")
    assert response.status_code == 201, response.content
    card_id = response.json()["cardId"]
    audited("card.created", channel=PARTNER_API, actor=actor, before=False)

    status = {"status": "LOCKED", "reason": "SUSPECTED_FRAUD", "comment": "odd spend"}
    assert client2.post(f"{API}wallets/{wallet.wallet_id}/status", status, format="json").status_code == 200
    changed = audited("wallet.status_changed", channel=PARTNER_API, actor=actor, object_id=wallet.wallet_id)
    assert changed.before == {"status": "ACTIVE"} and changed.after["status"] == "LOCKED"

    reissue = {"confirmIrreversible": True, "reason": "LOST"}
    assert client2.post(f"{API}cards/{card_id}/reissue", reissue, format="json").status_code == 200
    reissued = audited("card.reissued", channel=PARTNER_API, actor=actor, object_id=card_id)
    assert reissued.before["last4"] == "4242" and reissued.after["last4"] != "4242"


def test_template_changes_through_the_api_are_audited(client2, actor, acme):
    ProductFactory(partner=acme, code="travel")
    url = f"{API}notification-templates/"
    body = {"productCode": "travel", "eventName": "CARD_TRANSACTION_APPROVED", "channel": "SMS",
            "body": "{{ currency }} {{ amount }} spent."}
    response = client2.post(url, body, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    audited("template.create", channel=PARTNER_API, actor=actor, object_id=pk, before=False)

    assert client2.put(f"{url}{pk}", {"body": "Spent {{ amount }}."}, format="json").status_code == 200
    updated = audited("template.update", channel=PARTNER_API, actor=actor, object_id=pk)
    assert "spent." in str(updated.before) and "Spent {{ amount }}." in str(updated.after)

    assert client2.delete(f"{url}{pk}").status_code == 204
    audited("template.delete", channel=PARTNER_API, actor=actor, object_id=pk, after=False)


# --- admin --------------------------------------------------------------------------------------------------------


def test_subscription_changes_in_the_admin_are_audited(admin_client, acme, settings):
    settings.WEBHOOK_DESTINATION_ALLOWLIST = []
    form = {"partner": acme.pk, "event_name": "TRANSACTION_NOTIFICATION", "is_enabled": "on",
            "destination": "https://hooks.acme-partner.com/a", "max_retries": 3, "retry_interval_seconds": 60,
            "advance_notification_periods": ""}
    response = admin_client.post(reverse("admin:subscriptions_eventsubscription_add"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    sub = EventSubscription.objects.get()
    audited("subscription.created", channel=ADMIN, actor="admin", object_id=sub.pk, before=False)

    change = {**form, "destination": "https://hooks.acme-partner.com/b"}
    response = admin_client.post(reverse("admin:subscriptions_eventsubscription_change", args=[sub.pk]), change)
    assert response.status_code == 302
    updated = audited("subscription.updated", channel=ADMIN, actor="admin", object_id=sub.pk)
    assert updated.after["destination"].endswith("/b")

    changelist = reverse("admin:subscriptions_eventsubscription_changelist")
    admin_client.post(changelist, {"action": "rotate_secrets", "_selected_action": [sub.pk]})
    audited("subscription.secret_rotated", channel=ADMIN, actor="admin", object_id=sub.pk, before=False)

    response = admin_client.post(reverse("admin:subscriptions_eventsubscription_delete", args=[sub.pk]),
                                 {"post": "yes"})
    assert response.status_code == 302 and not EventSubscription.objects.exists()
    audited("subscription.deleted", channel=ADMIN, actor="admin", object_id=sub.pk)


def test_token_and_partner_changes_in_the_admin_are_audited(admin_client, acme):
    response = admin_client.post(reverse("admin:subscriptions_apitoken_add"),
                                 {"partner": acme.pk, "name": "ci", "level": 2})
    assert response.status_code == 302
    token = ApiToken.objects.get(name="ci")
    issued = audited("token.issued", channel=ADMIN, actor="admin", object_id=token.prefix, before=False)
    assert token.token_hash not in str(issued.after)
    admin_client.post(reverse("admin:subscriptions_apitoken_changelist"),
                      {"action": "revoke_tokens", "_selected_action": [token.pk]})
    audited("token.revoked", channel=ADMIN, actor="admin", object_id=token.prefix, before=False)

    response = admin_client.post(reverse("admin:subscriptions_partner_change", args=[acme.pk]), {
        "name": "Acme Cards", "is_active": "on",
        "api_tokens-TOTAL_FORMS": 1, "api_tokens-INITIAL_FORMS": 1, "api_tokens-MIN_NUM_FORMS": 0,
        "api_tokens-MAX_NUM_FORMS": 1000, "api_tokens-0-id": token.pk, "api_tokens-0-partner": acme.pk,
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    renamed = audited("partner.updated", channel=ADMIN, actor="admin", object_id="acme")
    assert renamed.before["name"] == "Acme Fintech" and renamed.after["name"] == "Acme Cards"
    assert Partner.objects.get().name == "Acme Cards"


def test_a_support_unblock_in_the_admin_is_audited(admin_client, acme):
    wallet = WalletFactory(partner=acme, status="BLOCKED")
    response = admin_client.post(reverse("admin:wallets_wallet_changelist"), {
        "action": "unblock_support", "_selected_action": [wallet.pk], "apply": "1",
        "reason": "REACTIVATION", "comment": "verified by phone",
    })
    assert response.status_code in (200, 302)
    entry = audited("wallet.status_changed", channel=ADMIN, actor="admin", object_id=wallet.wallet_id)
    assert entry.before == {"status": "BLOCKED"} and entry.after["status"] == "ACTIVE"


def test_template_changes_in_the_admin_are_audited(admin_client, acme):
    product = ProductFactory(partner=acme, code="travel")
    form = {"event_name": "CARD_TRANSACTION_APPROVED", "channel": "SMS", "locale": "en", "product": product.pk,
            "subject": "", "body": "{{ currency }} {{ amount }} spent.", "is_active": "on"}
    response = admin_client.post(reverse("admin:templates_notificationtemplate_add"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    template = NotificationTemplate.objects.get(product=product)
    audited("template.create", channel=ADMIN, actor="admin", object_id=template.pk, before=False)

    response = admin_client.post(reverse("admin:templates_notificationtemplate_change", args=[template.pk]),
                                 {**form, "body": "Spent {{ amount }}."})
    assert response.status_code == 302
    audited("template.update", channel=ADMIN, actor="admin", object_id=template.pk)

    response = admin_client.post(reverse("admin:templates_notificationtemplate_delete", args=[template.pk]),
                                 {"post": "yes"})
    assert response.status_code == 302
    audited("template.delete", channel=ADMIN, actor="admin", object_id=template.pk, after=False)


def test_the_audit_log_cannot_be_edited_or_deleted_from_the_admin(admin_client, acme):
    EventSubscriptionFactory(partner=acme)
    entry = AuditEntry.objects.create(channel=ADMIN, actor="someone", action="x", object_type="y", object_id="1")
    change_url = reverse("admin:subscriptions_auditentry_change", args=[entry.pk])
    assert admin_client.get(change_url).status_code == 200  # viewable
    admin_client.post(change_url, {"actor": "somebody else"})
    admin_client.post(reverse("admin:subscriptions_auditentry_delete", args=[entry.pk]), {"post": "yes"})
    entry.refresh_from_db()
    assert entry.actor == "someone"


def test_card_data_is_never_copied_into_the_audit_log(client2, acme):
    card = CardFactory(partner=acme, wallet=WalletFactory(partner=acme, cardholder=CardholderFactory(partner=acme)))
    client2.post(f"{API}cards/{card.card_id}/reissue", {"confirmIrreversible": True}, format="json")
    for entry in AuditEntry.objects.all():
        assert not any(len(run) >= 13 for run in "".join(c if c.isdigit() else " " for c in str(entry.after)).split())
