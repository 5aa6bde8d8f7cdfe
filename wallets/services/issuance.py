"""Partner-API creation of products, cardholders, wallets and cards, each audited; a new cardholder emits
CUSTOMER_REGISTERED and a new card CARD_ISSUED."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from config.partner_api.audit import audit_record
from notifications.outbox import publish_event
from subscriptions.models import AuditChannel, Partner
from wallets.models import Card, Cardholder, Product, Wallet
from wallets.services.event_data import _card_event_data
from wallets.state_machine import TERMINAL, WalletStatus


@transaction.atomic
def product_create(
    *,
    partner: Partner,
    code: str,
    name: str,
    actor_name: str,
    channel: str = AuditChannel.PARTNER_API,
    dormancy_days: int = 365,
    currency: str = "INR",
    default_locale: str = "en",
    channel_fallback_order: list[str] | None = None,
    email_sender_name: str = "",
    email_reply_to: str = "",
) -> Product:
    """Create a card program of `partner`; its code is unique per partner."""
    if Product.objects.filter(partner=partner, code=code).exists():
        raise ValidationError({"code": ["A product with this code already exists."]})
    product = Product.objects.create(
        partner=partner,
        code=code,
        name=name,
        dormancy_days=dormancy_days,
        currency=currency,
        default_locale=default_locale,
        channel_fallback_order=channel_fallback_order or [],
        email_sender_name=email_sender_name,
        email_reply_to=email_reply_to,
    )
    audit_record(
        channel=channel,
        actor=actor_name,
        action="product.created",
        object_type="product",
        object_id=product.code,
        partner=partner,
        after={"code": code, "name": name, "dormancyDays": dormancy_days, "currency": currency},
    )
    return product


@transaction.atomic
def cardholder_create(
    *,
    partner: Partner,
    external_id: str,
    name: str,
    actor_name: str,
    channel: str = AuditChannel.PARTNER_API,
    phone: str = "",
    email: str = "",
    push_token: str = "",
    locale: str = "en",
    timezone_name: str = "UTC",
    channel_preferences: dict[str, bool] | None = None,
) -> Cardholder:
    """Register a cardholder of `partner` (customerId = `external_id`, unique per partner); emits
    CUSTOMER_REGISTERED."""
    if Cardholder.objects.filter(partner=partner, external_id=external_id).exists():
        raise ValidationError({"customerId": ["A cardholder with this customerId already exists."]})
    cardholder = Cardholder.objects.create(
        partner=partner,
        external_id=external_id,
        name=name,
        phone=phone,
        email=email,
        push_token=push_token,
        locale=locale,
        timezone=timezone_name,
        channel_preferences=channel_preferences or {},
    )
    publish_event(
        partner=partner,
        event_name="CUSTOMER_REGISTERED",
        data={"customerId": external_id, "cardholderName": name},
        entity_id=f"customer:{external_id}",
    )
    # The audit names the contact channels present, not the contact data itself.
    audit_record(
        channel=channel,
        actor=actor_name,
        action="cardholder.created",
        object_type="cardholder",
        object_id=external_id,
        partner=partner,
        after={"customerId": external_id, "hasPhone": bool(phone), "hasEmail": bool(email),
               "hasPushToken": bool(push_token), "locale": locale, "timezone": timezone_name},
    )
    return cardholder


@transaction.atomic
def wallet_create(
    *,
    partner: Partner,
    cardholder: Cardholder,
    product: Product,
    actor_name: str,
    channel: str = AuditChannel.PARTNER_API,
    currency: str | None = None,
) -> Wallet:
    """Open an ACTIVE wallet with a zero balance for a cardholder on a product (both of `partner`)."""
    if cardholder.partner_id != partner.pk or product.partner_id != partner.pk:
        # Callers resolve both through tenant-filtered selectors; this guards against a future caller that does not.
        raise ValidationError("The cardholder and the product must belong to the partner.")
    wallet = Wallet.objects.create(
        partner=partner,
        cardholder=cardholder,
        product=product,
        currency=currency or product.currency,
        status=WalletStatus.ACTIVE,
    )
    audit_record(
        channel=channel,
        actor=actor_name,
        action="wallet.created",
        object_type="wallet",
        object_id=wallet.wallet_id,
        partner=partner,
        after={"customerId": cardholder.external_id, "productCode": product.code, "currency": wallet.currency,
               "status": wallet.status},
    )
    return wallet


@transaction.atomic
def card_create(
    *,
    partner: Partner,
    wallet: Wallet,
    kit_no: str,
    last4: str,
    expiry_date: datetime.date,
    actor_name: str,
    channel: str = AuditChannel.PARTNER_API,
) -> Card:
    """Issue a card (kit) on a wallet. Only the last four digits of its number are ever stored; emits CARD_ISSUED."""
    if wallet.partner_id != partner.pk:
        raise ValidationError({"walletId": ["No such wallet."]})
    if wallet.status in TERMINAL:
        raise ValidationError({"walletId": [f"The wallet is {wallet.status}; no card can be issued on it."]})
    if Card.objects.filter(partner=partner, kit_no=kit_no).exists():
        raise ValidationError({"kitNo": ["A card with this kitNo already exists."]})
    card = Card.objects.create(
        partner=partner, wallet=wallet, kit_no=kit_no, last4=last4, expiry_date=expiry_date, status=Card.Status.ACTIVE
    )
    publish_event(
        partner=partner, event_name="CARD_ISSUED", data=_card_event_data(card), entity_id=str(card.card_id)
    )
    audit_record(
        channel=channel,
        actor=actor_name,
        action="card.created",
        object_type="card",
        object_id=card.card_id,
        partner=partner,
        after={"kitNo": kit_no, "last4": last4, "expiryDate": expiry_date.isoformat(),
               "walletId": str(wallet.wallet_id)},
    )
    return card
