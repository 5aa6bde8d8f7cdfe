import base64
import hashlib
import secrets

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


def generate_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class EventSubscription(models.Model):
    """A partner's webhook endpoint for one event name (or ALL_EVENTS)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="subscriptions")
    event_name = models.CharField(max_length=64)
    is_enabled = models.BooleanField(default=True)
    destination = models.URLField(max_length=2048)
    max_retries = models.PositiveSmallIntegerField(default=settings.WEBHOOK_DEFAULT_MAX_RETRIES)
    retry_interval_seconds = models.PositiveIntegerField(default=settings.WEBHOOK_DEFAULT_RETRY_INTERVAL_SECONDS)
    advance_notification_periods = ArrayField(models.PositiveIntegerField(), default=list, blank=True)
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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
