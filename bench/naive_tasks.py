"""The naive baseline's delivery task (bench only, never used by the service): what a Django + Celery webhook
sender typically does (Saleor's design), one Celery task per delivery:

- ORM reads: the delivery, its event and subscription (and the subscription's secret);
- a blocking `requests.post` (a new connection each time, as `requests.post` does);
- ORM writes: one DeliveryAttempt row and the delivery row saved, per attempt;
- a failure is retried with the same schedule through `self.retry(countdown=…)`.

Signing and the body are the service's own, so receivers see the same requests."""

import time

import requests
from celery import shared_task
from django.conf import settings
from django.utils import timezone

from notifications import retry
from notifications.models import DeliveryAttempt, DeliveryStatus, WebhookDelivery
from notifications.webhooks.signing import webhook_headers


@shared_task(bind=True, acks_late=True, ignore_result=True, name="bench.naive_deliver", queue="webhooks",
             max_retries=None)
def naive_deliver(self, delivery_id: int) -> None:
    delivery = WebhookDelivery.objects.select_related("event", "subscription").get(pk=delivery_id)
    if delivery.status not in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        return
    subscription, event = delivery.subscription, delivery.event
    body = event.body.encode()
    headers = webhook_headers(subscription.signing_secrets(), event.event_id, body)
    started_at, t0 = timezone.now(), time.perf_counter()
    status_code, error = None, ""
    try:
        response = requests.post(
            subscription.destination, data=body, headers=headers, allow_redirects=False,
            timeout=(settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS, settings.WEBHOOK_READ_TIMEOUT_SECONDS),
        )
        status_code = response.status_code
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    succeeded = status_code is not None and 200 <= status_code < 300
    delivery.attempt_count += 1
    DeliveryAttempt.objects.create(
        delivery=delivery, attempt_number=delivery.attempt_count, started_at=started_at,
        duration_ms=int((time.perf_counter() - t0) * 1000), status_code=status_code, succeeded=succeeded,
        error_class=error.split(":", 1)[0], error_message=error,
    )
    delivery.last_status_code = status_code
    if succeeded:
        delivery.status, delivery.completed_at = DeliveryStatus.SUCCEEDED, timezone.now()
        delivery.save()
        return
    delivery.last_error = error or f"HTTP {status_code}"
    if not retry.has_retries_left(attempts_made=delivery.attempt_count, max_retries=subscription.max_retries):
        delivery.status, delivery.completed_at = DeliveryStatus.FAILED, timezone.now()
        delivery.save()
        return
    delay = retry.retry_delay_seconds(
        retry.webhook_schedule(retry_interval_seconds=subscription.retry_interval_seconds),
        retry_number=delivery.attempt_count,
    )
    delivery.save()
    raise self.retry(countdown=delay)
