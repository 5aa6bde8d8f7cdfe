"""API tokens in the portal (admin role): issue one (shown once), revoke one. Both are audited by the services."""

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from subscriptions.models import TokenLevel
from subscriptions.portal import selectors
from subscriptions.portal.views.base import CHANNEL, PortalView, not_found
from subscriptions.services.tokens import token_issue, token_revoke

TOKEN_NAME_MAX = 100


class TokenListView(PortalView):
    section = "tokens"
    required_level = {"GET": TokenLevel.ADMIN, "POST": TokenLevel.ADMIN}

    def _render(self, request, status=200, **extra) -> HttpResponse:
        return self.page(request, "portal/tokens.html", status=status,
                         tokens=selectors.token_list(partner=request.portal.partner), levels=TokenLevel.choices,
                         **extra)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        name = request.POST.get("name", "").strip()
        try:
            level = int(request.POST.get("level", ""))
        except ValueError:
            level = 0
        if len(name) > TOKEN_NAME_MAX:
            return self._render(request, status=400, error=f"The name is longer than {TOKEN_NAME_MAX} characters.")
        try:
            token, raw = token_issue(partner=request.portal.partner, channel=CHANNEL, actor=request.portal.actor,
                                     level=level, name=name)
        except ValidationError as exc:
            return self._render(request, status=400, error=" ".join(exc.messages))
        # The raw token exists only in this response: it is stored hashed.
        return self._render(request, issued=token, raw_token=raw)


class TokenRevokeView(PortalView):
    section = "tokens"
    required_level = {"POST": TokenLevel.ADMIN}

    def post(self, request: HttpRequest, token_id: int) -> HttpResponse:
        token = selectors.token_get(partner=request.portal.partner, token_id=token_id)
        if token is None:
            raise not_found()
        token_revoke(token=token, channel=CHANNEL, actor=request.portal.actor)
        return self.page(request, "portal/tokens.html", tokens=selectors.token_list(partner=request.portal.partner),
                         levels=TokenLevel.choices, message=f"Token {token.prefix}… revoked.")
