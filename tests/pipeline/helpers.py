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
