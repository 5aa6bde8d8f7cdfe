"""What every portal page shares: the signed-in principal, the role check, the page context and redirects."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django_htmx.http import HttpResponseClientRedirect

from config.partner_api.permissions import required_level_for
from subscriptions.models import AuditChannel
from subscriptions.portal.auth import PortalPrincipal, principal_from_request
from subscriptions.portal.models import PortalRole

CHANNEL = AuditChannel.PORTAL
NAV = [
    ("overview", "Overview", "portal:overview"),
    ("subscriptions", "Subscriptions", "portal:subscriptions"),
    ("deliveries", "Delivery log", "portal:deliveries"),
    ("catalog", "Event catalog", "portal:catalog"),
    ("verify", "Verify a signature", "portal:verify"),
    ("tokens", "API tokens", "portal:tokens"),
    ("audit", "Audit trail", "portal:audit"),
]


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """Where to go after signing in: a path on this site, never another host."""
    if candidate and candidate.startswith("/portal/") and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("portal:overview")


def redirect_to(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect that also works for htmx requests (which would otherwise swap the target page into a fragment)."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


class PortalView(View):
    """Base of every signed-in page: resolves `request.portal` (404s are the caller's: every lookup takes
    the principal's partner) and refuses a method the role may not use with 403. Reads need the viewer role,
    writes the developer role, unless `required_level` says otherwise (as on the API)."""

    section = ""
    required_level: dict[str, int] = {}

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        principal = principal_from_request(request)
        if principal is None:
            login = reverse("portal:login")
            return redirect_to(request, f"{login}?next={request.get_full_path()}" if request.method == "GET"
                               else login)
        request.portal = principal
        needed = required_level_for(self, request.method)
        if principal.role < needed:
            return render(request, "portal/forbidden.html",
                          self.context(request, needed_role=PortalRole(needed).label), status=403)
        return super().dispatch(request, *args, **kwargs)

    def context(self, request: HttpRequest, **extra) -> dict:
        principal: PortalPrincipal = request.portal
        return {
            "principal": principal,
            "role_label": PortalRole(principal.role).label,
            "can_write": principal.role >= PortalRole.DEVELOPER,
            "is_admin": principal.role >= PortalRole.ADMIN,
            "nav": [(key, label, reverse(url)) for key, label, url in NAV],
            "section": self.section,
            **extra,
        }

    def page(self, request: HttpRequest, template: str, status: int = 200, **extra) -> HttpResponse:
        return render(request, template, self.context(request, **extra), status=status)


def not_found() -> Http404:
    # Another tenant's object is answered exactly like a missing one.
    return Http404("No such object for this partner.")
