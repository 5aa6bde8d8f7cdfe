"""Signing in to the portal: password (django-axes locks out repeated failures), then a TOTP code when the user has
an authenticator app (django-otp); one-time links from `POST /portal-sessions`; re-authentication before a secret
is shown; the security page where a user adds or removes their authenticator app."""

import time
from base64 import b32encode

from django.contrib.auth import authenticate, get_user_model, login
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from segno import make_qr

from subscriptions.portal import services
from subscriptions.portal.auth import reauth_record, session_end, session_start_link, session_start_user
from subscriptions.portal.models import PartnerUser, PortalRole
from subscriptions.portal.views.base import PortalView, redirect_to, safe_next

PENDING_KEY = "portal_pending_user"
PENDING_SECONDS = 5 * 60
BAD_CREDENTIALS = "Wrong username or password."


def _verify_totp(user, token: str):
    """The confirmed device that accepts `token`, or None (django-otp throttles repeated failures per device)."""
    token = token.replace(" ", "")
    for device in devices_for_user(user, confirmed=True):
        allowed, _ = device.verify_is_allowed()
        if allowed and device.verify_token(token):
            return device
    return None


def _count_failure(request: HttpRequest, username: str) -> None:
    # django-axes listens to this signal: a wrong TOTP code counts towards the lockout like a wrong password.
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def _finish_sign_in(request: HttpRequest, user, membership: PartnerUser, *, next_url: str, device=None
                    ) -> HttpResponse:
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if device is not None:
        otp_login(request, device)
    session_start_user(request, membership=membership)
    services.portal_sign_in_record(membership=membership, second_factor=device is not None)
    return redirect_to(request, safe_next(request, next_url))


@method_decorator([never_cache, sensitive_post_parameters("password")], name="dispatch")
class LoginView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "portal/login.html", {"next": request.GET.get("next", "")})

    def post(self, request: HttpRequest) -> HttpResponse:
        username = request.POST.get("username", "").strip()[:150]
        password = request.POST.get("password", "")
        user = authenticate(request, username=username, password=password) if username and password else None
        membership = PartnerUser.objects.select_related("partner").filter(user=user).first() if user else None
        if membership is None or not membership.partner.is_active:
            # Staff accounts have no portal access; they are told the same as a wrong password.
            return render(request, "portal/login.html",
                          {"error": BAD_CREDENTIALS, "username": username, "next": request.POST.get("next", "")},
                          status=400)
        if user_has_device(user):
            request.session[PENDING_KEY] = {"user_id": user.pk, "at": time.time(),
                                            "next": request.POST.get("next", "")}
            return redirect_to(request, reverse("portal:login-otp"))
        return _finish_sign_in(request, user, membership, next_url=request.POST.get("next", ""))


@method_decorator([never_cache], name="dispatch")
class LoginOtpView(View):
    def _pending_user(self, request: HttpRequest):
        pending = request.session.get(PENDING_KEY)
        if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
            return None
        return get_user_model().objects.filter(pk=pending["user_id"], is_active=True).first()

    def get(self, request: HttpRequest) -> HttpResponse:
        if self._pending_user(request) is None:
            return redirect_to(request, reverse("portal:login"))
        return render(request, "portal/login_otp.html")

    def post(self, request: HttpRequest) -> HttpResponse:
        user = self._pending_user(request)
        if user is None:
            return redirect_to(request, reverse("portal:login"))
        device = _verify_totp(user, request.POST.get("token", ""))
        if device is None:
            _count_failure(request, user.get_username())
            return render(request, "portal/login_otp.html", {"error": "That code is not right (or expired)."},
                          status=400)
        membership = PartnerUser.objects.select_related("partner").filter(user=user).first()
        if membership is None:
            return redirect_to(request, reverse("portal:login"))
        next_url = request.session.pop(PENDING_KEY, {}).get("next", "")
        return _finish_sign_in(request, user, membership, next_url=next_url, device=device)


class LogoutView(View):
    def post(self, request: HttpRequest) -> HttpResponse:
        session_end(request)
        return redirect_to(request, reverse("portal:login"))


@method_decorator([never_cache], name="dispatch")
class LinkView(View):
    """GET shows a page that POSTs the token (link scanners and previews only GET, so they cannot spend it)."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        return render(request, "portal/link.html", {"token": token})

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            link = services.portal_link_consume(raw=token)
        except services.PortalLinkInvalid as exc:
            return render(request, "portal/link.html", {"error": str(exc)}, status=410)
        session_start_link(request, link=link)
        return redirect_to(request, reverse("portal:overview"))


def reauthenticate(request: HttpRequest) -> str | None:
    """Check the password (and TOTP code, when the user has a device) posted with a sensitive action. Returns an
    error message, or None when they are right (the session then counts as freshly authenticated)."""
    principal = request.portal
    if principal.is_link_session:
        return "This session was opened by a sign-in link; ask for a new link to see secrets."
    user = request.user
    password = request.POST.get("password", "")
    if not password or authenticate(request, username=user.get_username(), password=password) is None:
        return "The password is not right."
    if user_has_device(user) and _verify_totp(user, request.POST.get("token", "")) is None:
        _count_failure(request, user.get_username())
        return "The authenticator code is not right."
    reauth_record(request)
    return None


class SecurityView(PortalView):
    """The signed-in user's second factor: add an authenticator app (QR code, confirm with a code) or remove it."""

    section = "security"
    required_level = {"GET": PortalRole.VIEWER, "POST": PortalRole.VIEWER}

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def _render(self, request: HttpRequest, status: int = 200, **extra) -> HttpResponse:
        user = request.user
        confirmed = user.is_authenticated and TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        return self.page(request, "portal/security.html", status=status, totp_enabled=confirmed, **extra)

    def post(self, request: HttpRequest) -> HttpResponse:
        principal = request.portal
        if principal.is_link_session:
            return self._render(request, status=400, error="A sign-in link session has no user to secure.")
        action = request.POST.get("action")
        if action == "start":
            device = services.totp_device_start(user=request.user)
            qr = make_qr(device.config_url, error="m").svg_inline(scale=4)
            return self._render(request, device=device, qr_svg=qr, secret=_base32(device))
        if action == "confirm":
            device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
            if device is None:
                return self._render(request, status=400, error="Start again: no authenticator is being added.")
            if not services.totp_device_confirm(device=device, token=request.POST.get("token", ""),
                                                partner=principal.partner, actor=principal.actor):
                qr = make_qr(device.config_url, error="m").svg_inline(scale=4)
                return self._render(request, status=400, device=device, qr_svg=qr, secret=_base32(device),
                                    error="That code is not right; check the app's clock and try the next code.")
            otp_login(request, device)  # this session has just proved the device
            return self._render(request, message="Authenticator app added: sign-ins now ask for a code.")
        if action == "remove":
            if _verify_totp(request.user, request.POST.get("token", "")) is None:
                return self._render(request, status=400, error="Enter a current code from the app to remove it.")
            services.totp_device_remove(user=request.user, partner=principal.partner, actor=principal.actor)
            return self._render(request, message="Authenticator app removed.")
        return self._render(request, status=400, error="Unknown action.")


def _base32(device: TOTPDevice) -> str:
    # The key as authenticator apps accept it when typed in (the QR code carries the same).
    return b32encode(device.bin_key).decode()
