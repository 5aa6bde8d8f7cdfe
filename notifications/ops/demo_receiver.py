"""Built-in demo webhook receiver for `make run`: the demo subscriptions point here.

`POST /demo/webhooks/` accepts a webhook, checks its Standard Webhooks signature against the secrets of the
subscription it was sent for, and keeps the last DEMO_RECEIVER_KEEP requests in a capped Redis list (no model: it
is a development aid, not product data). `GET /demo/` shows them with "signature verified ✓/✗";
`GET /demo/received.json` returns them for scripts and tests.

Enabled with DEMO_RECEIVER_ENABLED, which defaults to DEBUG: never on in production unless asked for.
`?status=500` (or any 200-599) makes the receiver answer with that status, to watch retries in the demo.
"""

import json
import logging
import time
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from notifications.webhooks.signing import verify_signature
from subscriptions.catalog import ALL_EVENTS
from subscriptions.models import EventSubscription

logger = logging.getLogger(__name__)

REDIS_KEY = "notif:demo-receiver:received"
MAX_BODY_CHARS = 8000
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type")


def _enabled() -> bool:
    flag = settings.DEMO_RECEIVER_ENABLED
    return settings.DEBUG if flag is None else bool(flag)


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)


def webhook_verify(*, body: bytes, headers: dict[str, str]) -> tuple[bool, str]:
    """(verified, explanation) for one received webhook, checked against the subscription it claims to be for."""
    try:
        payload = json.loads(body)
    except ValueError:
        return False, "body is not JSON"
    if not isinstance(payload, dict):
        return False, "body is not a JSON object"
    tenant_id, event_name = payload.get("tenantId"), payload.get("eventName")
    candidates = list(
        EventSubscription.objects.filter(partner__tenant_id=tenant_id, event_name__in=[event_name, ALL_EVENTS])
    )
    if not candidates:
        return False, f"no subscription of tenant {tenant_id!r} for {event_name!r}"
    for subscription in candidates:
        if verify_signature(subscription.signing_secrets(), headers, body):
            return True, f"verified with the secret of subscription {subscription.event_name}"
    return False, "no signature matches the subscription's secrets (or the timestamp is too old)"


def received_record(*, entry: dict) -> None:
    """Keep `entry` at the head of the capped list."""
    client = _redis()
    pipe = client.pipeline()
    pipe.lpush(REDIS_KEY, json.dumps(entry))
    pipe.ltrim(REDIS_KEY, 0, settings.DEMO_RECEIVER_KEEP - 1)
    pipe.execute()


def received_list() -> list[dict]:
    """The kept webhooks, newest first."""
    return [json.loads(item) for item in _redis().lrange(REDIS_KEY, 0, settings.DEMO_RECEIVER_KEEP - 1)]


def received_clear() -> None:
    _redis().delete(REDIS_KEY)


@csrf_exempt
@require_POST
def receive_webhook(request: HttpRequest) -> HttpResponse:
    if not _enabled():
        raise Http404
    body = request.body
    headers = {name: request.headers.get(name, "") for name in SIGNATURE_HEADERS}
    verified, explanation = webhook_verify(body=body, headers=headers)
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    status = _requested_status(request)
    entry = {
        "receivedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "webhookId": headers["webhook-id"],
        "eventId": payload.get("eventId") if isinstance(payload, dict) else None,
        "eventName": payload.get("eventName") if isinstance(payload, dict) else None,
        "tenantId": payload.get("tenantId") if isinstance(payload, dict) else None,
        "verified": verified,
        "explanation": explanation,
        "answeredStatus": status,
        "latencySeconds": _delivery_latency(headers["webhook-timestamp"]),
        "headers": headers,
        "body": body.decode("utf-8", errors="replace")[:MAX_BODY_CHARS],
    }
    try:
        received_record(entry=entry)
    except redis.RedisError:
        logger.warning("Demo receiver could not store a webhook in Redis", exc_info=True)
    logger.info("Demo receiver got %s (%s): %s", entry["eventName"], headers["webhook-id"], explanation)
    return HttpResponse(status=status)


def _requested_status(request: HttpRequest) -> int:
    try:
        status = int(request.GET.get("status", "204"))
    except ValueError:
        return 204
    return status if 200 <= status <= 599 else 204


def _delivery_latency(timestamp: str) -> float | None:
    try:
        return round(time.time() - int(timestamp), 3)
    except ValueError:
        return None


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body


@require_GET
def received_page(request: HttpRequest) -> HttpResponse:
    if not _enabled():
        raise Http404
    try:
        entries, error = received_list(), ""
    except redis.RedisError as exc:
        entries, error = [], f"Redis is not reachable: {exc}"
    for entry in entries:
        entry["pretty_body"] = _pretty(entry.get("body", ""))
    context = {
        "entries": entries,
        "error": error,
        "verified_count": sum(1 for e in entries if e.get("verified")),
        "keep": settings.DEMO_RECEIVER_KEEP,
    }
    return render(request, "demo/received.html", context)


@require_GET
def received_json(request: HttpRequest) -> JsonResponse:
    if not _enabled():
        raise Http404
    try:
        return JsonResponse({"received": received_list()})
    except redis.RedisError as exc:
        return JsonResponse({"received": [], "error": str(exc)}, status=503)


urlpatterns = [
    path("", received_page, name="page"),
    path("received.json", received_json, name="received-json"),
    path("webhooks/", receive_webhook, name="webhooks"),
]
