"""Probe and scrape endpoints for the platform: liveness, readiness, Prometheus metrics.

They sit outside the partner API (no tenant token): load balancers and Prometheus call them. `/metrics` needs
METRICS_BEARER_TOKEN whenever DEBUG is off."""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from notifications.ops import health, metrics


@require_GET
def healthz(request):
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when every dependency answers, else 503; each check with its state, latency and detail."""
    results = health.readiness_report()
    ready = health.is_ready(results)
    body = {
        "status": "ok" if ready else "fail",
        "checks": {name: result.as_json() for name, result in results.items()},
    }
    return JsonResponse(body, status=200 if ready else 503)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition, only for `Authorization: Bearer <METRICS_BEARER_TOKEN>`. The figures name every
    partner, so without DEBUG they are never open: no token configured means 403."""
    expected = settings.METRICS_BEARER_TOKEN
    if not expected and not settings.DEBUG:
        return HttpResponse("Forbidden: set METRICS_BEARER_TOKEN to scrape /metrics\n", status=403,
                            content_type="text/plain")
    if expected:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(offered.encode(), expected.encode()):
            return HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
    return HttpResponse(metrics.metrics_render(), content_type=CONTENT_TYPE_LATEST)
