"""Support console: a Support-group user and a plain staff user log in through the admin login form; only the
support user gets the "Unblock (support)" action, and a crafted POST from anyone else changes nothing."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User

from subscriptions.models import AuditEntry
from tests.factories import CardFactory, CardholderFactory, WalletFactory
from tests.wallets.helpers import outbox
from wallets.models import WalletStatusTransition
from wallets.services.wallet_status import wallet_change_status
from wallets.state_machine import Actor

CHANGELIST = "/admin/wallets/wallet/"
PASSWORD = "correct-horse-battery-staple"


def admin_login(client, username: str) -> None:
    response = client.post("/admin/login/", {"username": username, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302, "admin login failed"
    assert response["Location"] == "/admin/"


@pytest.fixture
def support_client(client, support_group):
    agent = User.objects.create_user("agent", password=PASSWORD, is_staff=True)
    agent.groups.add(support_group)
    admin_login(client, "agent")
    return client


@pytest.fixture
def staff_client(client, db):
    """Staff who may look at wallets but is not in the Support group."""
    ops = User.objects.create_user("ops", password=PASSWORD, is_staff=True)
    ops.user_permissions.add(*Permission.objects.filter(content_type__app_label="wallets", codename="view_wallet"))
    admin_login(client, "ops")
    return client


def action_names(response) -> set[str]:
    form = response.context["action_form"]
    return {name for name, _ in form.fields["action"].choices if name}


def unblock_post(wallets, **extra) -> dict:
    return {"action": "unblock_support", "_selected_action": [str(w.pk) for w in wallets], **extra}


def test_support_group_is_created_with_view_and_unblock_permissions(support_group):
    assert set(support_group.permissions.values_list("codename", flat=True)) == {
        "view_wallet", "view_card", "view_cardholder", "view_product", "view_walletstatustransition",
        "unblock_wallet",
    }


@pytest.mark.parametrize("blocked_status", ["BLOCKED", "FRAUD"])
def test_support_unblocks_with_a_reason(support_client, partner, blocked_status):
    wallet = WalletFactory(partner=partner, status=blocked_status)
    changelist = support_client.get(CHANGELIST)
    assert "unblock_support" in action_names(changelist)

    form_page = support_client.post(CHANGELIST, unblock_post([wallet]))

    assert form_page.status_code == 200
    assert form_page.templates[0].name == "admin/wallets/wallet/unblock_support.html"
    assert str(wallet.wallet_id) in form_page.content.decode()
    wallet.refresh_from_db()
    assert wallet.status == blocked_status  # nothing happens before the reason is given

    done = support_client.post(
        CHANGELIST, unblock_post([wallet], apply="1", reason="REACTIVATION", comment="ID verified by phone")
    )

    assert done.status_code == 302
    wallet.refresh_from_db()
    assert wallet.status == "ACTIVE"
    transition = WalletStatusTransition.objects.get(wallet=wallet)
    assert (transition.from_status, transition.to_status, transition.channel, transition.actor) == (
        blocked_status, "ACTIVE", "SUPPORT", "agent"
    )
    assert (transition.reason, transition.comment) == ("REACTIVATION", "ID verified by phone")
    assert outbox("WALLET_STATUS_CHANGED")[0]["data"]["channel"] == "SUPPORT"
    assert AuditEntry.objects.get(action="wallet.status_changed").channel == "ADMIN"
    assert LogEntry.objects.filter(object_id=str(wallet.pk), user__username="agent").exists()


def test_reason_other_needs_a_comment(support_client, partner):
    wallet = WalletFactory(partner=partner, status="FRAUD")

    response = support_client.post(CHANGELIST, unblock_post([wallet], apply="1", reason="OTHER", comment=""))

    assert response.status_code == 200
    assert "A comment is required" in response.content.decode()
    wallet.refresh_from_db()
    assert wallet.status == "FRAUD"


def test_system_only_reason_is_not_offered(support_client, partner):
    wallet = WalletFactory(partner=partner, status="FRAUD")

    response = support_client.post(CHANGELIST, unblock_post([wallet], apply="1", reason="CARD_EXPIRED"))

    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    wallet.refresh_from_db()
    assert wallet.status == "FRAUD"


def test_wallets_that_are_not_blocked_are_left_alone(support_client, partner):
    fraud = WalletFactory(partner=partner, status="FRAUD")
    locked = WalletFactory(partner=partner, status="LOCKED")

    page = support_client.post(CHANGELIST, unblock_post([fraud, locked]))
    assert page.context["skipped"] == 1
    support_client.post(CHANGELIST, unblock_post([fraud, locked], apply="1", reason="REACTIVATION",
                                                 comment="Fraud review closed: card was not compromised"))

    fraud.refresh_from_db()
    locked.refresh_from_db()
    assert (fraud.status, locked.status) == ("ACTIVE", "LOCKED")


def test_selecting_only_unblockable_wallets_warns(support_client, partner):
    active = WalletFactory(partner=partner)

    response = support_client.post(CHANGELIST, unblock_post([active]), follow=True)

    assert "None of the selected wallets is BLOCKED or FRAUD" in response.content.decode()
    assert not WalletStatusTransition.objects.exists()


def test_plain_staff_has_no_unblock_action(staff_client, partner):
    WalletFactory(partner=partner, status="BLOCKED")

    response = staff_client.get(CHANGELIST)

    assert response.status_code == 200
    assert "unblock_support" not in response.content.decode()


@pytest.mark.parametrize("step", ["open-form", "apply"])
def test_crafted_unblock_post_from_plain_staff_is_refused(staff_client, partner, step):
    wallet = WalletFactory(partner=partner, status="BLOCKED")
    extra = {"apply": "1", "reason": "REACTIVATION", "comment": "let me in"} if step == "apply" else {}

    response = staff_client.post(CHANGELIST, unblock_post([wallet], **extra))

    assert response.status_code in (200, 302)
    assert "unblock_support.html" not in [t.name for t in getattr(response, "templates", [])]
    wallet.refresh_from_db()
    assert wallet.status == "BLOCKED"
    assert not WalletStatusTransition.objects.exists()
    assert outbox() == []


def test_staff_without_wallet_permission_is_refused(client, db):
    User.objects.create_user("nobody", password=PASSWORD, is_staff=True)
    admin_login(client, "nobody")

    assert client.get(CHANGELIST).status_code == 403


def test_wallet_page_shows_the_history_read_only(support_client, partner):
    wallet = WalletFactory(partner=partner)
    CardFactory(partner=partner, wallet=wallet, kit_no="KIT-INLINE")
    wallet_change_status(wallet=wallet, to_status="FRAUD", actor=Actor.PARTNER, actor_name="acme/token:x",
                         reason="SUSPECTED_FRAUD", comment="chargebacks")

    response = support_client.get(f"{CHANGELIST}{wallet.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "chargebacks" in page
    assert "SUSPECTED_FRAUD" in page
    assert "KIT-INLINE" in page
    assert 'name="status"' not in page  # status changes only through the action / services
    assert not response.context["has_change_permission"]


def test_filters_and_search(support_client, partner, other_partner):
    holder = CardholderFactory(partner=partner, phone="+14155550100", email="find.me@example.com")
    target = WalletFactory(partner=partner, cardholder=holder, status="FRAUD")
    CardFactory(partner=partner, wallet=target, kit_no="KIT-FIND-ME")
    WalletFactory(partner=partner, status="ACTIVE")
    foreign = WalletFactory(partner=other_partner, status="FRAUD")

    def listed(query: str) -> set:
        response = support_client.get(f"{CHANGELIST}?{query}")
        assert response.status_code == 200
        return {w.pk for w in response.context["cl"].result_list}

    assert listed("status__exact=FRAUD") == {target.pk, foreign.pk}
    assert listed(f"partner__id__exact={other_partner.pk}") == {foreign.pk}
    assert listed(f"product__id__exact={target.product_id}") == {target.pk}
    assert listed("q=KIT-FIND-ME") == {target.pk}
    assert listed("q=%2B14155550100") == {target.pk}
    assert listed("q=find.me@example.com") == {target.pk}


@pytest.mark.parametrize(
    "page", ["product", "cardholder", "card", "walletstatustransition", "cardtransaction", "wallet"]
)
def test_superuser_can_browse_every_wallets_admin_page(admin_client, card, page):
    wallet_change_status(wallet=card.wallet, to_status="LOCKED", actor=Actor.PARTNER, actor_name="p",
                         reason="DISPUTE")

    assert admin_client.get(f"/admin/wallets/{page}/").status_code == 200
    assert admin_client.get(f"/admin/wallets/{page}/add/").status_code == 403
