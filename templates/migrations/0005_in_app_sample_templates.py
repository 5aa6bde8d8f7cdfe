# Sample in-app inbox templates: every PUSH sample of 0003 (title and text) as an IN_APP default, in the same locales.
# Derived from 0003's frozen texts, so this migration never changes with the code either.

import importlib

from django.db import migrations

_PUSH_SAMPLES = importlib.import_module("templates.migrations.0003_sample_templates").SAMPLES
SAMPLES = [(e, "IN_APP", loc, s, b) for e, c, loc, s, b in _PUSH_SAMPLES if c == "PUSH"]


def add_samples(apps, schema_editor):
    NotificationTemplate = apps.get_model("templates", "NotificationTemplate")
    existing = set(
        NotificationTemplate.objects.filter(product__isnull=True, channel="IN_APP").values_list(
            "event_name", "channel", "locale"
        )
    )
    NotificationTemplate.objects.bulk_create(
        NotificationTemplate(event_name=e, channel=c, locale=loc, subject=s, body=b)
        for e, c, loc, s, b in SAMPLES
        if (e, c, loc) not in existing
    )


def remove_samples(apps, schema_editor):
    NotificationTemplate = apps.get_model("templates", "NotificationTemplate")
    for e, c, loc, s, b in SAMPLES:
        NotificationTemplate.objects.filter(
            product__isnull=True, event_name=e, channel=c, locale=loc, subject=s, body=b
        ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("templates", "0004_html_email_and_in_app_channel"),
    ]

    operations = [migrations.RunPython(add_samples, remove_samples)]
