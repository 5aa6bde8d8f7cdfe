import uuid

from django.db import models
from django.utils import timezone

from subscriptions.models import Partner
from wallets.state_machine import WalletStatus


class Product(models.Model):
    """A card program of a partner; carries the dormancy period and product-level notification settings."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="products")
    code = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    dormancy_days = models.PositiveIntegerField(default=365)
    currency = models.CharField(max_length=3, default="INR")
    default_locale = models.CharField(max_length=16, default="en")
    # Channel fallback order used when a channel fails permanently, e.g. ["PUSH", "SMS", "EMAIL"].
    channel_fallback_order = models.JSONField(default=list, blank=True)
    # Emails of this product: the From display name (the address stays DEFAULT_FROM_EMAIL's) and a Reply-To.
    email_sender_name = models.CharField(max_length=100, blank=True, default="")
    email_reply_to = models.EmailField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner_id", "code"]
        constraints = [models.UniqueConstraint(fields=["partner", "code"], name="uniq_product_code")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


# The Cardholder field that holds each channel's destination (IN_APP needs none: it is the cardholder's inbox).
CONTACT_FIELDS = {"SMS": "phone", "EMAIL": "email", "PUSH": "push_token"}


class Cardholder(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="cardholders")
    external_id = models.CharField(max_length=100, help_text="The partner's customer id")
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=32, blank=True, default="", help_text="E.164, e.g. +919800000001")
    email = models.EmailField(blank=True, default="")
    push_token = models.CharField(max_length=500, blank=True, default="")
    locale = models.CharField(max_length=16, default="en")
    timezone = models.CharField(max_length=64, default="UTC")
    # Channels the cardholder opted out of, e.g. {"SMS": false}; absent means opted in.
    channel_preferences = models.JSONField(default=dict, blank=True)
    # Per catalog category, the channels opted out of, e.g. {"Transactions": ["EMAIL", "SMS"]}.
    category_opt_outs = models.JSONField(default=dict, blank=True)
    # The cardholder's own quiet hours (in `timezone`): NULL = the product's; False = none; True = start-end.
    quiet_hours_enabled = models.BooleanField(null=True, blank=True)
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    # Destinations a provider called dead, per channel: {"PUSH": {"reason", "errorCode", "markedAt"}}. A marked
    # channel is not tried (routing moves on in the fallback order) until the partner clears it or changes it.
    invalid_destinations = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner_id", "external_id"]
        constraints = [models.UniqueConstraint(fields=["partner", "external_id"], name="uniq_cardholder_ext_id")]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


class Wallet(models.Model):
    wallet_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="wallets")
    cardholder = models.ForeignKey(Cardholder, on_delete=models.PROTECT, related_name="wallets")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="wallets")
    status = models.CharField(
        max_length=20, choices=[(s.value, s.value) for s in WalletStatus], default=WalletStatus.ACTIVE
    )
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="INR")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("unblock_wallet", "Can unblock FRAUD/BLOCKED wallets (support)")]

    def __str__(self) -> str:
        return f"wallet {self.wallet_id} ({self.status})"


class Card(models.Model):
    """A card (kit). Only the last four digits of the number are stored, never the full number or CVV."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        INACTIVE = "INACTIVE", "Inactive (dormant)"
        LOCKED = "LOCKED", "Locked (temporarily)"
        EXPIRED = "EXPIRED", "Expired"
        REPLACED = "REPLACED", "Replaced by reissue"
        BLOCKED = "BLOCKED", "Blocked"
        CLOSED = "CLOSED", "Closed"

    card_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kit_no = models.CharField(max_length=64)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="cards")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="cards")
    last4 = models.CharField(max_length=4)
    expiry_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    last_activity_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["partner", "kit_no"], name="uniq_card_kit_no")]
        indexes = [
            models.Index(fields=["status", "expiry_date"]),
            models.Index(fields=["status", "last_activity_at"]),
        ]

    def __str__(self) -> str:
        return f"kit {self.kit_no} ****{self.last4}"

    @property
    def masked_number(self) -> str:
        return f"XXXX XXXX XXXX {self.last4}"


class TransitionChannel(models.TextChoices):
    """Where a wallet status change came from."""

    PARTNER_API = "PARTNER_API", "Partner API"
    SUPPORT = "SUPPORT", "Support"
    SYSTEM = "SYSTEM", "System"


class WalletStatusTransition(models.Model):
    """Immutable record of one wallet status change."""

    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    reason = models.CharField(max_length=40)
    comment = models.TextField(blank=True, default="")
    actor = models.CharField(max_length=200)
    channel = models.CharField(max_length=12, choices=TransitionChannel.choices)
    created_at = models.DateTimeField(default=timezone.now)
    event_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status} ({self.reason})"


class StatusReason(models.TextChoices):
    """Documented reason codes of a wallet status change (docs/wallets.md)."""

    SUSPECTED_FRAUD = "SUSPECTED_FRAUD", "Suspected fraud"
    CUSTOMER_REQUEST = "CUSTOMER_REQUEST", "Customer request"
    COMPLIANCE = "COMPLIANCE", "Compliance or regulatory hold"
    LOST_CARD = "LOST_CARD", "Card lost or stolen"
    DISPUTE = "DISPUTE", "Dispute under investigation"
    KYC_PENDING = "KYC_PENDING", "KYC pending"
    REACTIVATION = "REACTIVATION", "Reactivation after review"
    CARD_EXPIRED = "CARD_EXPIRED", "Card expired (system only)"
    OTHER = "OTHER", "Other (comment required)"


# Reasons only the platform itself may give: a partner or support agent cannot claim a card expired.
SYSTEM_ONLY_REASONS = frozenset({StatusReason.CARD_EXPIRED})
COMMENT_REQUIRED_REASONS = frozenset({StatusReason.OTHER})


class StatusChangeIdempotencyKey(models.Model):
    """An idempotency key of the status API: the first request's fingerprint and the transition it produced, so a
    retry with the same key and body returns the first result and a different body is refused."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of walletId, status, reason and comment")
    transition = models.OneToOneField(
        WalletStatusTransition, on_delete=models.CASCADE, related_name="idempotency_key"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "key"], name="uniq_status_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.key} → transition {self.transition_id}"


class CardReissue(models.Model):
    """One reissue of a card: a new number (only its last four kept) and expiry under the same cardId.

    The previous number, recorded here by its last four digits and expiry, is inactive from `created_at` on."""

    class Reason(models.TextChoices):
        LOST = "LOST", "Lost"
        STOLEN = "STOLEN", "Stolen"
        DAMAGED = "DAMAGED", "Damaged"
        SUSPECTED_FRAUD = "SUSPECTED_FRAUD", "Suspected fraudulent use"
        RENEWAL = "RENEWAL", "Renewal"
        OTHER = "OTHER", "Other"

    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="reissues")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    previous_last4 = models.CharField(max_length=4)
    previous_expiry_date = models.DateField()
    previous_status = models.CharField(max_length=10, choices=Card.Status.choices)
    new_last4 = models.CharField(max_length=4)
    new_expiry_date = models.DateField()
    reason = models.CharField(max_length=20, choices=Reason.choices, default=Reason.OTHER)
    actor = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"reissue of card {self.card_id}: ****{self.previous_last4} → ****{self.new_last4}"


class CardTransaction(models.Model):
    """One transaction on a card (the sandbox ledger of the simulate API), approved or declined with a reason."""

    class Type(models.TextChoices):
        LOAD = "LOAD", "Load"
        DEPOSIT = "DEPOSIT", "Deposit"
        AUTHORIZATION = "AUTHORIZATION", "Authorization"
        CLEARING_PENDING = "CLEARING_PENDING", "Clearing pending"
        CLEARING = "CLEARING", "Clearing"
        REFUND = "REFUND", "Refund"
        REVERSAL = "REVERSAL", "Reversal"
        THREE_DS_CHALLENGE = "THREE_DS_CHALLENGE", "3DS challenge"

    class Status(models.TextChoices):
        APPROVED = "APPROVED", "Approved"
        DECLINED = "DECLINED", "Declined"

    class DeclineReason(models.TextChoices):
        CARD_NOT_ACTIVE = "CARD_NOT_ACTIVE", "The card is not active"
        CARD_EXPIRED = "CARD_EXPIRED", "The card's expiry date has passed"
        WALLET_STATUS = "WALLET_STATUS", "The wallet's status does not allow this transaction"
        INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS", "Insufficient funds"
        SIMULATED = "SIMULATED", "Declined on request (sandbox forceDecline)"

    transaction_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="transactions")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="transactions")
    transaction_type = models.CharField(max_length=20, choices=Type.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    merchant_name = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices)
    decline_reason = models.CharField(max_length=20, choices=DeclineReason.choices, blank=True, default="")
    wallet_status = models.CharField(max_length=20, help_text="Wallet status when the transaction was decided")
    balance_after = models.DecimalField(max_digits=14, decimal_places=2)
    # The authorization a clearing settles or a reversal releases.
    original = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["card", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.transaction_type} {self.amount} {self.currency} ({self.status})"
