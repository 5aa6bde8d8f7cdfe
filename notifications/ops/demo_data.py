"""Demo data for `make run` (`manage.py setup_demo`): idempotent, for a local machine only.

A demo partner with a product, cardholders, wallets and cards, one ALL_EVENTS subscription delivering to the
built-in demo receiver, a local admin login and a fresh API token. Everything goes through the same services as
the partner API and the admin (validation, audit, events), so the demo also shows those events arriving.
"""

import datetime
import logging
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from subscriptions.catalog import ALL_EVENTS
from subscriptions.models import ApiToken, AuditChannel, EventSubscription, Partner, TokenLevel
from subscriptions.portal.models import PartnerUser, PortalRole
from subscriptions.portal.services import partner_user_create
from subscriptions.services.partners import partner_create
from subscriptions.services.subscriptions import subscription_create, subscription_update
from subscriptions.services.tokens import token_issue, token_revoke
from wallets.models import Card, Cardholder, Product, Wallet
from wallets.services import issuance as wallet_services

logger = logging.getLogger(__name__)

ACTOR = "setup_demo"
TOKEN_NAME = "setup_demo"
DEMO_TENANT = "demo"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"  # local development only: setup_demo prints a warning saying so
# The demo partner's portal login (/portal/), role admin: local development only, like the admin login.
PORTAL_USERNAME = "demo"
PORTAL_PASSWORD = "demo-portal"
DEMO_PRODUCT = {"code": "demo-gpr", "name": "Demo general-purpose prepaid card", "dormancy_days": 180}
# (customerId, name, phone, email, kitNo, last4, days until the card expires)
DEMO_CARDHOLDERS = [
    ("DEMO-CUST-1", "Asha Rao", "+919800000001", "asha@example.com", "DEMO0001", "4242", 3 * 365),
    ("DEMO-CUST-2", "Vikram Shah", "+919800000002", "vikram@example.com", "DEMO0002", "1881", 30),
    ("DEMO-CUST-3", "Meera Iyer", "+919800000003", "meera@example.com", "DEMO0003", "0005", 7),
]


@dataclass
class DemoSetup:
    partner: Partner
    subscription: EventSubscription
    token: str
    admin_created: bool
    portal_user_created: bool = False
    created: list[str] = field(default_factory=list)


def demo_receiver_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/demo/webhooks/"


def _ensure_admin() -> bool:
    user_model = get_user_model()
    if user_model.objects.filter(username=ADMIN_USERNAME).exists():
        return False
    user_model.objects.create_superuser(username=ADMIN_USERNAME, email="admin@localhost", password=ADMIN_PASSWORD)
    return True


def _ensure_portal_user(partner: Partner) -> bool:
    if PartnerUser.objects.filter(user__username=PORTAL_USERNAME).exists():
        return False
    partner_user_create(partner=partner, username=PORTAL_USERNAME, password=PORTAL_PASSWORD, role=PortalRole.ADMIN,
                        email="demo@example.com", channel=AuditChannel.COMMAND, actor=ACTOR)
    return True


def _ensure_partner(created: list[str]) -> Partner:
    partner = Partner.objects.filter(tenant_id=DEMO_TENANT).first()
    if partner is None:
        partner = partner_create(
            tenant_id=DEMO_TENANT, name="Demo Fintech", channel=AuditChannel.COMMAND, actor=ACTOR
        )
        created.append(f"partner {DEMO_TENANT}")
    return partner


def _ensure_subscription(partner: Partner, destination: str, created: list[str]) -> EventSubscription:
    subscription = EventSubscription.objects.filter(partner=partner, event_name=ALL_EVENTS).first()
    if subscription is None:
        created.append(f"subscription {ALL_EVENTS} -> {destination}")
        return subscription_create(
            partner=partner,
            event_name=ALL_EVENTS,
            destination=destination,
            channel=AuditChannel.COMMAND,
            actor=ACTOR,
            max_retries=5,
            retry_interval_seconds=10,
        )
    if subscription.destination != destination or not subscription.is_enabled:
        # Another port or host than last time, or disabled by endpoint health while the demo was down.
        subscription = subscription_update(
            subscription=subscription,
            channel=AuditChannel.COMMAND,
            actor=ACTOR,
            destination=destination,
            is_enabled=True,
        )
        created.append(f"subscription {ALL_EVENTS} re-pointed to {destination}")
    return subscription


def _ensure_cards(partner: Partner, created: list[str]) -> None:
    product = Product.objects.filter(partner=partner, code=DEMO_PRODUCT["code"]).first()
    if product is None:
        product = wallet_services.product_create(partner=partner, actor_name=ACTOR, **DEMO_PRODUCT)
        created.append(f"product {product.code}")
    today = timezone.localdate()
    for customer_id, name, phone, email, kit_no, last4, expires_in_days in DEMO_CARDHOLDERS:
        cardholder = Cardholder.objects.filter(partner=partner, external_id=customer_id).first()
        if cardholder is None:
            cardholder = wallet_services.cardholder_create(
                partner=partner,
                external_id=customer_id,
                name=name,
                actor_name=ACTOR,
                phone=phone,
                email=email,
                push_token=f"demo-push-token-{customer_id.lower()}",
                timezone_name="Asia/Kolkata",
            )
            created.append(f"cardholder {customer_id}")
        wallet = Wallet.objects.filter(partner=partner, cardholder=cardholder, product=product).first()
        if wallet is None:
            wallet = wallet_services.wallet_create(
                partner=partner, cardholder=cardholder, product=product, actor_name=ACTOR
            )
            created.append(f"wallet of {customer_id}")
        if not Card.objects.filter(partner=partner, kit_no=kit_no).exists():
            wallet_services.card_create(
                partner=partner,
                wallet=wallet,
                kit_no=kit_no,
                last4=last4,
                expiry_date=today + datetime.timedelta(days=expires_in_days),
                actor_name=ACTOR,
            )
            created.append(f"card {kit_no}")


def _fresh_token(partner: Partner) -> str:
    """Revoke the token of the previous run and issue a new one (tokens are stored hashed: it cannot be shown
    again, so each run prints a new one)."""
    for old in ApiToken.objects.filter(partner=partner, name=TOKEN_NAME, revoked_at__isnull=True):
        token_revoke(token=old, channel=AuditChannel.COMMAND, actor=ACTOR)
    _, raw = token_issue(
        partner=partner, channel=AuditChannel.COMMAND, actor=ACTOR, level=TokenLevel.ADMIN, name=TOKEN_NAME
    )
    return raw


@transaction.atomic
def demo_setup(*, base_url: str) -> DemoSetup:
    """Create whatever part of the demo is missing (running it twice creates nothing twice) and a fresh token."""
    created: list[str] = []
    admin_created = _ensure_admin()
    partner = _ensure_partner(created)
    # The subscription first, so that the events the card set-up emits are delivered to the demo receiver too.
    subscription = _ensure_subscription(partner, demo_receiver_url(base_url), created)
    _ensure_cards(partner, created)
    portal_user_created = _ensure_portal_user(partner)
    if portal_user_created:
        created.append(f"portal user {PORTAL_USERNAME}")
    token = _fresh_token(partner)
    logger.info("Demo set up: %s", ", ".join(created) or "nothing new")
    return DemoSetup(partner=partner, subscription=subscription, token=token, admin_created=admin_created,
                     created=created, portal_user_created=portal_user_created)
