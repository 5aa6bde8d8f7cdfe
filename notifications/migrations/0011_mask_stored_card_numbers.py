"""The card-number guard without gaps (issue 15), for rows written before it:
- events whose webhooks are still to be sent forget the verdict the old guard took at ingest (NULL: the delivery
  checks the body with the current guard when it sends);
- customer messages that will not be sent again (sent, failed, skipped) and dead-letter reasons keep card numbers
  only masked. Messages still to be sent keep their text: the guard refuses them at send time.
Nothing to undo: masked digits are gone by design."""

from django.db import migrations
from django.db.models import Q

from notifications.guards import mask_card_numbers

OPEN_DELIVERY = ("PENDING", "SENDING")
FINAL_MESSAGE = ("SENT", "FAILED", "SKIPPED")
CHUNK = 2000


def forget_old_verdicts(apps, schema_editor):
    Event = apps.get_model("notifications", "Event")
    WebhookDelivery = apps.get_model("notifications", "WebhookDelivery")
    open_events = WebhookDelivery.objects.filter(status__in=OPEN_DELIVERY).values("event_id")
    Event.objects.filter(pk__in=open_events, holds_card_number=False).update(holds_card_number=None)


def may_hold(*fields: str) -> Q:
    """Rows that may hold a card number: 13 ASCII digits, or any non-ASCII character (digits of other scripts)."""
    q = Q()
    for name in fields:
        q |= Q(**{f"{name}__regex": r"([0-9][^0-9]*){13}"}) | Q(**{f"{name}__regex": r"[^\x01-\x7f]"})
    return q


def mask_rows(queryset, fields: tuple[str, ...]) -> None:
    """Mask card numbers in `fields` of every row of `queryset` that holds one (the guard decides which do)."""
    changed = []
    for row in queryset.filter(may_hold(*fields)).only("pk", *fields).iterator(chunk_size=CHUNK):
        masked = {name: mask_card_numbers(getattr(row, name)) for name in fields}
        if any(masked[name] is not getattr(row, name) for name in fields):
            for name, value in masked.items():
                setattr(row, name, value)
            changed.append(row)
        if len(changed) >= CHUNK:
            queryset.model.objects.bulk_update(changed, fields)
            changed = []
    if changed:
        queryset.model.objects.bulk_update(changed, fields)


def mask_stored_text(apps, schema_editor):
    CustomerMessage = apps.get_model("notifications", "CustomerMessage")
    DeadLetter = apps.get_model("notifications", "DeadLetter")
    mask_rows(CustomerMessage.objects.filter(status__in=FINAL_MESSAGE), ("subject", "body"))
    mask_rows(DeadLetter.objects.all(), ("reason",))


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0010_portal_delivery_log_indexes"),
    ]

    operations = [
        migrations.RunPython(forget_old_verdicts, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(mask_stored_text, migrations.RunPython.noop, elidable=True),
    ]
