"""Portal sessions: who is signed in (a partner user, or a one-time link's session), for which partner, with which
role, and when the session ends.

A partner user signs in with Django's auth (django-axes counts failures) and, when they have a confirmed TOTP
device, django-otp must have verified this session too. A one-time link opens a session without a user. Either
way the session carries a `portal` record with its start, last use and last re-authentication; it ends after
PORTAL_SESSION_IDLE_MINUTES without a request or PORTAL_SESSION_MAX_HOURS after it began (a link's session after
its own `session_minutes`)."""

import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest
from django_otp import user_has_device

from subscriptions.models import Partner
from subscriptions.portal.models import PartnerUser, PortalLink

SESSION_KEY = "portal"
# The last-use time is written back at most this often, so that browsing does not write the session every request.
SEEN_WRITE_INTERVAL_SECONDS = 30


def client_ip(request: HttpRequest) -> str:
    """The client address: the TRUSTED_PROXY_COUNT-th address from the right of X-Forwarded-For behind proxies,
    else REMOTE_ADDR (the rule of the partner API's failed-authentication throttle)."""
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [part.strip() for part in forwarded.split(",") if part.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "")


@dataclass(frozen=True)
class PortalPrincipal:
    """Who acts in a portal request. `role` is an API access level (PortalRole)."""

    partner: Partner
    role: int
    actor: str
    user_id: int | None = None
    link_id: int | None = None

    @property
    def is_link_session(self) -> bool:
        return self.link_id is not None


def _now() -> float:
    return time.time()


def session_start_user(request: HttpRequest, *, membership: PartnerUser) -> None:
    """Begin the portal record of a session whose user has just signed in (after `django.contrib.auth.login`)."""
    now = _now()
    request.session[SESSION_KEY] = {
        "kind": "user",
        "user_id": membership.user_id,
        "partner_id": membership.partner_id,
        "started": now,
        "seen": now,
        "reauth": now,
        "ends": now + settings.PORTAL_SESSION_MAX_HOURS * 3600,
    }


def session_start_link(request: HttpRequest, *, link: PortalLink) -> None:
    """Begin a session opened by a one-time link: no user, the link's partner and role."""
    if request.user.is_authenticated:
        logout(request)  # a link never inherits whoever was signed in in this browser
    request.session.cycle_key()
    now = _now()
    request.session[SESSION_KEY] = {
        "kind": "link",
        "link_id": link.pk,
        "link_prefix": link.prefix,
        "partner_id": link.partner_id,
        "role": link.role,
        "started": now,
        "seen": now,
        "reauth": now,
        "ends": now + link.session_minutes * 60,
    }


def session_end(request: HttpRequest) -> None:
    """Sign out of the portal (and of Django's auth: the same session)."""
    logout(request)


def _expired(record: dict, now: float) -> bool:
    idle = settings.PORTAL_SESSION_IDLE_MINUTES * 60
    return now >= record.get("ends", 0) or now - record.get("seen", 0) > idle


def principal_from_request(request: HttpRequest) -> PortalPrincipal | None:
    """The signed-in principal, or None (never signed in, expired, user removed or deactivated, partner
    deactivated, or a TOTP code still owed). An expired session is ended here."""
    record = request.session.get(SESSION_KEY)
    if not isinstance(record, dict):
        return None
    now = _now()
    if _expired(record, now):
        session_end(request)
        return None
    principal = _principal_for(request, record)
    if principal is None:
        return None
    if now - record.get("seen", 0) > SEEN_WRITE_INTERVAL_SECONDS:
        record["seen"] = now
        request.session.modified = True
    return principal


def _principal_for(request: HttpRequest, record: dict) -> PortalPrincipal | None:
    if record.get("kind") == "link":
        partner = Partner.objects.filter(pk=record["partner_id"], is_active=True).first()
        if partner is None:
            return None
        return PortalPrincipal(partner=partner, role=int(record["role"]), link_id=record["link_id"],
                               actor=f"{partner.tenant_id}/portal-link:{record.get('link_prefix', '')}")
    user = request.user
    if not user.is_authenticated or not user.is_active or user.pk != record.get("user_id"):
        return None
    membership = PartnerUser.objects.select_related("partner").filter(user=user).first()
    if membership is None or not membership.partner.is_active or membership.partner_id != record["partner_id"]:
        return None
    if user_has_device(user) and not user.is_verified():
        return None
    return PortalPrincipal(partner=membership.partner, role=membership.role, user_id=user.pk,
                           actor=f"{membership.partner.tenant_id}/user:{user.get_username()}")


def reauth_is_fresh(request: HttpRequest) -> bool:
    """Whether the user re-entered their credentials (or opened the link) within PORTAL_REAUTH_MINUTES."""
    record = request.session.get(SESSION_KEY) or {}
    return _now() - record.get("reauth", 0) <= settings.PORTAL_REAUTH_MINUTES * 60


def reauth_record(request: HttpRequest) -> None:
    record = request.session.get(SESSION_KEY)
    if isinstance(record, dict):
        record["reauth"] = _now()
        request.session.modified = True
