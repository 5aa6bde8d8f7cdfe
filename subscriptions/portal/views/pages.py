"""Read-only pages of the portal: the overview, the event catalog, the audit trail and the signature helper."""

import base64
import json

from django.http import HttpRequest, HttpResponse

from notifications.ops.dashboard import OUTCOME_COLOURS, stacked_bar_chart_svg
from subscriptions import selectors as subscription_selectors
from subscriptions.models import TokenLevel
from subscriptions.portal import selectors
from subscriptions.portal.verification import signature_explain
from subscriptions.portal.views.base import PortalView

MAX_PASTE = 256 * 1024


class OverviewView(PortalView):
    section = "overview"

    def get(self, request: HttpRequest) -> HttpResponse:
        overview = selectors.overview_get(partner=request.portal.partner)
        chart = stacked_bar_chart_svg(
            labels=[f"{hour:%H:00}" for hour in overview.hours], series=overview.series, colours=OUTCOME_COLOURS,
            title="Deliveries per hour by outcome (last 24 hours, UTC)",
        )
        return self.page(request, "portal/overview.html", overview=overview, chart=chart)


class CatalogView(PortalView):
    section = "catalog"

    def get(self, request: HttpRequest) -> HttpResponse:
        tenant = request.portal.partner.tenant_id
        entries = [
            {"definition": d, "schema": json.dumps(d.data_schema(), indent=2),
             "examples": selectors.catalog_examples(d, tenant_id=tenant)}
            for d in subscription_selectors.event_type_list()
        ]
        return self.page(request, "portal/catalog.html", entries=entries)


class AuditView(PortalView):
    section = "audit"

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            before = int(request.GET.get("before", "") or 0) or None
        except ValueError:
            before = None
        entries = selectors.audit_page(partner=request.portal.partner, before_id=before)
        older = entries[-1].pk if len(entries) == selectors.AUDIT_PAGE_SIZE else None
        return self.page(request, "portal/audit.html", entries=entries, older=older)


class VerifyView(PortalView):
    """Paste a webhook's headers and body; see whether it verifies with a subscription's secrets and why not.
    Checking uses the secrets server-side and shows none of them, so viewers may use it."""

    section = "verify"
    required_level = {"GET": TokenLevel.READ_ONLY, "POST": TokenLevel.READ_ONLY}

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def _render(self, request, status=200, **extra) -> HttpResponse:
        subscriptions = subscription_selectors.subscription_list(partner=request.portal.partner)
        return self.page(request, "portal/verify.html", status=status, subscriptions=subscriptions, **extra)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = {k: request.POST.get(k, "") for k in ("event_name", "headers", "body", "secret")}
        if any(len(v) > MAX_PASTE for v in form.values()):
            return self._render(request, status=400, form=form, error="That is more than 256 KB; paste one request.")
        secret = form["secret"].strip()
        if secret:
            if not secret.startswith("whsec_"):
                return self._render(request, status=400, form=form, error="A signing secret starts with whsec_.")
            try:
                if not base64.b64decode(secret.removeprefix("whsec_"), validate=True):
                    raise ValueError
            except ValueError:  # binascii.Error is a ValueError
                return self._render(request, status=400, form=form, error="That is not a valid whsec_ secret.")
            secrets = [("the pasted secret", secret)]
        else:
            subscription = subscription_selectors.subscription_get(partner=request.portal.partner,
                                                                   event_name=form["event_name"])
            if subscription is None:
                return self._render(request, status=400, form=form, error="Choose one of your subscriptions.")
            labels = ["the current secret", "the previous secret (still signing during a rotation)"]
            secrets = list(zip(labels, subscription.signing_secrets(), strict=False))
        verdict = signature_explain(secrets=secrets, headers_text=form["headers"], body=form["body"])
        return self._render(request, form=form, verdict=verdict)
