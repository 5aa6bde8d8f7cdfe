"""Partner API authentication: `Authorization: Bearer {token}` plus `X-TENANT-ID: {tenant_id}` (DESIGN.md).

401 without a valid token; 403 when the tenant header is missing or names another tenant than the token's.
Failed authentications are throttled per client IP (429 with Retry-After, see `config.partner_api.throttling`)."""

import logging
from dataclasses import dataclass

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from config.partner_api.throttling import FailedAuthThrottle
from subscriptions.models import ApiToken, Partner, hash_token

logger = logging.getLogger(__name__)
TENANT_HEADER = "HTTP_X_TENANT_ID"


@dataclass
class PartnerPrincipal:
    """`request.user` for partner API calls."""

    partner: Partner
    token: ApiToken
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False

    @property
    def username(self) -> str:
        return f"{self.partner.tenant_id}/token:{self.token.prefix}"

    def __str__(self) -> str:
        return self.username


class TenantTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts:
            raise exceptions.NotAuthenticated("Authorization: Bearer {token} header is required.")
        throttle = FailedAuthThrottle()
        # A blocked client is refused before its token is looked at, so a right guess teaches it nothing.
        wait = throttle.wait(request)
        if wait is not None:
            logger.warning("Throttled authentication attempt from %s", throttle.client_ident(request))
            raise exceptions.Throttled(
                wait=wait, detail="Too many failed authentication attempts from this address; try again later."
            )
        if parts[0].lower() != self.keyword or len(parts) != 2:
            self._fail(request, throttle, "malformed Authorization header")
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer {token}'.")
        try:
            raw = parts[1].decode()
        except UnicodeDecodeError:
            self._fail(request, throttle, "undecodable token")
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        token = (
            ApiToken.objects.select_related("partner")
            .filter(token_hash=hash_token(raw), revoked_at__isnull=True, partner__is_active=True)
            .first()
        )
        if token is None:
            self._fail(request, throttle, "unknown, revoked or inactive-partner token")
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        tenant = request.META.get(TENANT_HEADER, "")
        if not tenant:
            raise exceptions.PermissionDenied("X-TENANT-ID header is required.")
        if tenant != token.partner.tenant_id:
            logger.warning("Token of tenant %s used with X-TENANT-ID %r", token.partner.tenant_id, tenant[:64])
            raise exceptions.PermissionDenied("This token is not valid for the tenant in X-TENANT-ID.")
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return PartnerPrincipal(partner=token.partner, token=token), token

    @staticmethod
    def _fail(request, throttle: FailedAuthThrottle, why: str) -> None:
        # Log who tried and why, never the token itself.
        logger.warning("API authentication failed from %s: %s", throttle.client_ident(request), why)
        throttle.record_failure(request)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
