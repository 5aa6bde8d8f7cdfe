import uuid

from django.utils import timezone


def kafka_message(tenant_id: str = "acme", event_name: str = "TRANSACTION_NOTIFICATION", **overrides) -> dict:
    message = {
        "eventId": str(uuid.uuid4()),
        "eventName": event_name,
        "tenantId": tenant_id,
        "occurredAt": timezone.now().isoformat().replace("+00:00", "Z"),
        "data": {"kitNo": "K0001", "amount": "125.50", "currency": "INR"},
    }
    message.update(overrides)
    return message


def deliver_as_task(delivery_ids: list[int]):
    """Run the delivery service as the deliver_webhooks task does: with the claim token ingest leased these rows to
    (a task carries it in its message; here it is read back from the rows) when they share one, else without it,
    like a task the re-enqueue sweep or a retry sent."""
    from notifications.models import WebhookDelivery
    from notifications.webhooks.delivery import deliver_batch

    tokens = set(WebhookDelivery.objects.filter(pk__in=delivery_ids).values_list("claim_token", flat=True))
    return deliver_batch(list(delivery_ids), claim_token=tokens.pop() if len(tokens) == 1 else None)


def expire_lease(*deliveries) -> None:
    """As if the task ingest leased these rows to was lost and its lease ran out: any task may claim them now."""
    from datetime import timedelta

    from notifications.models import WebhookDelivery

    WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
