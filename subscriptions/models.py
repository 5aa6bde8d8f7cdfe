import base64
import hashlib
import secrets

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from subscriptions.crypto import decrypt_secret, encrypt_secret


class Partner(models.Model):
    """A fintech issuing prepaid cards on the platform (a tenant)."""

    tenant_id = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant_id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.tenant_id})"


class TokenLevel(models.IntegerChoices):
    READ_ONLY = 1, "Read-only"
    STANDARD = 2, "Standard"
    ADMIN = 3, "Admin"


TOKEN_PREFIX = "ppn_"


def hash_token(token: str) -> str:
    # Tokens are 256-bit random strings, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A partner API token. Only its SHA-256 is stored; the token is shown once when issued."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, help_text="First characters, to recognise a token without storing it.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    level = models.PositiveSmallIntegerField(choices=TokenLevel.choices, default=TokenLevel.STANDARD)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.partner.tenant_id}, level {self.level})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def generate() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)


class PayloadFormat(models.TextChoices):
    """The body shape a subscription's webhooks carry (DESIGN.md "Subscription options"); the signature is the same."""

    STANDARD = "standard", "Standard (the platform's envelope)"
    ISSUER = "issuer", "Issuer envelope (operation, sub_operation, status)"
    P2C = "p2c", "P2C (EventId, EventName, Data in PascalCase)"


def generate_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


ED25519_SECRET_PREFIX = "whsk_"
ED25519_PUBLIC_PREFIX = "whpk_"


def generate_ed25519_secret() -> str:
    """A Standard Webhooks asymmetric signing key: `whsk_` + base64 of a fresh Ed25519 private key (its 32-byte
    seed). Stored where the `whsec_` secret would be, so rotation and encryption at rest work the same way."""
    raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return ED25519_SECRET_PREFIX + base64.b64encode(raw).decode()


def ed25519_public_key(secret: str) -> str:
    """The `whpk_…` public key of a `whsk_…` signing key (what partners verify `v1a` signatures with)."""
    seed = base64.b64decode(secret.removeprefix(ED25519_SECRET_PREFIX))
    raw = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return ED25519_PUBLIC_PREFIX + base64.b64encode(raw).decode()


class SignatureScheme(models.TextChoices):
    """Standard Webhooks signature versions: `v1` (symmetric, `whsec_` secret) or `v1a` (Ed25519, `whpk_` public
    key)."""

    HMAC_SHA256 = "hmac-sha256", "HMAC-SHA256 (v1)"
    ED25519 = "ed25519", "Ed25519 (v1a)"


class EndpointAuthType(models.TextChoices):
    """How the service authenticates to the endpoint besides the signature ("" = the signature alone)."""

    NONE = "", "None"
    OAUTH2 = "oauth2", "OAuth2 client credentials"
    MTLS = "mtls", "mTLS client certificate"
    BASIC = "basic", "HTTP Basic"


class EventSubscription(models.Model):
    """A partner's webhook endpoint for one event name (or ALL_EVENTS)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="subscriptions")
    event_name = models.CharField(max_length=64)
    is_enabled = models.BooleanField(default=True)
    destination = models.URLField(max_length=2048)
    max_retries = models.PositiveSmallIntegerField(default=settings.WEBHOOK_DEFAULT_MAX_RETRIES)
    retry_interval_seconds = models.PositiveIntegerField(default=settings.WEBHOOK_DEFAULT_RETRY_INTERVAL_SECONDS)
    advance_notification_periods = ArrayField(models.PositiveIntegerField(), default=list, blank=True)
    payload_format = models.CharField(max_length=16, choices=PayloadFormat.choices, default=PayloadFormat.STANDARD)
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Delivery options (docs/partner-api.md "Delivery options"); every one optional, none changes the default path.
    # Sent with every attempt; names and values checked by subscriptions.options (values never logged or audited).
    headers = models.JSONField(default=dict, blank=True)
    rate_limit_per_second = models.PositiveIntegerField(null=True, blank=True)
    auth_type = models.CharField(max_length=8, choices=EndpointAuthType.choices, blank=True, default="")
    # The non-secret part of `auth` (token URL, client id, scope, user name, client certificate PEM)...
    auth_config = models.JSONField(default=dict, blank=True)
    # ...and the secret part (client secret, password, private key PEM), encrypted like the signing secret.
    auth_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    signature_scheme = models.CharField(
        max_length=16, choices=SignatureScheme.choices, default=SignatureScheme.HMAC_SHA256
    )

    class Meta:
        ordering = ["partner_id", "event_name"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "event_name"], name="uniq_subscription_per_tenant_event"),
        ]
        indexes = [models.Index(fields=["event_name", "is_enabled"])]

    def __str__(self) -> str:
        return f"{self.partner_id}:{self.event_name} → {self.destination}"

    @property
    def secret(self) -> str:
        return decrypt_secret(self.secret_encrypted)

    def set_secret(self, plaintext: str) -> None:
        self.secret_encrypted = encrypt_secret(plaintext)

    @property
    def auth_secret(self) -> str:
        return decrypt_secret(self.auth_secret_encrypted) if self.auth_secret_encrypted else ""

    def set_auth_secret(self, plaintext: str) -> None:
        self.auth_secret_encrypted = encrypt_secret(plaintext) if plaintext else ""

    @property
    def public_key(self) -> str | None:
        """The `whpk_…` key partners verify with, for an Ed25519 subscription (None for HMAC)."""
        secret = self.secret
        return ed25519_public_key(secret) if secret.startswith(ED25519_SECRET_PREFIX) else None

    def signing_secrets(self, now=None) -> list[str]:
        """The secrets that sign a request now: the current one, plus the previous one during a rotation."""
        now = now or timezone.now()
        keys = [self.secret]
        if self.previous_secret_encrypted and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            keys.append(decrypt_secret(self.previous_secret_encrypted))
        return keys


class AuditChannel(models.TextChoices):
    """Where an audited change came from."""

    PARTNER_API = "PARTNER_API", "Partner API"
    ADMIN = "ADMIN", "Admin"
    SYSTEM = "SYSTEM", "System"
    COMMAND = "COMMAND", "Management command"
    PORTAL = "PORTAL", "Partner portal"


class AuditEntry(models.Model):
    """Who changed what, through which channel (partner API, admin, system), with before and after."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    channel = models.CharField(max_length=16, choices=AuditChannel.choices)
    actor = models.CharField(max_length=200, help_text="Username, token prefix or 'system'.")
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=100)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type}:{self.object_id}"
