"""Who may use the partner portal: partner users (a Django user bound to one partner with a role) and the one-time
links of `POST /portal-sessions` that open a session without a user."""

import secrets

from django.conf import settings
from django.db import models

from subscriptions.models import Partner, TokenLevel

LINK_PREFIX = "ppl_"


class PortalRole(models.IntegerChoices):
    """A portal role is an API access level under a friendlier name: the portal checks the same levels as the API."""

    VIEWER = TokenLevel.READ_ONLY, "Viewer"
    DEVELOPER = TokenLevel.STANDARD, "Developer"
    ADMIN = TokenLevel.ADMIN, "Admin"


class PartnerUser(models.Model):
    """A person of a partner who signs in to the portal (password, optional TOTP). Staff users are not partner
    users: the admin and the portal never share an account."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_membership")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="portal_users")
    role = models.PositiveSmallIntegerField(choices=PortalRole.choices, default=PortalRole.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner_id", "user_id"]

    def __str__(self) -> str:
        return f"{self.user} ({self.partner.tenant_id}, {self.get_role_display()})"


class PortalLink(models.Model):
    """A one-time link into the portal for one partner. Only the SHA-256 of its token is stored; it opens one
    session, once, before `expires_at`."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="portal_links")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=16)
    role = models.PositiveSmallIntegerField(choices=PortalRole.choices)
    session_minutes = models.PositiveIntegerField()
    created_by = models.CharField(max_length=200, help_text="The API token (prefix) that asked for the link.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.partner.tenant_id}, {'used' if self.used_at else 'unused'})"

    @staticmethod
    def generate() -> str:
        return LINK_PREFIX + secrets.token_urlsafe(32)
