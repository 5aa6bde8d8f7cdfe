# The partner portal's delivery log (keyset pagination per partner, filters by status and entity). Built
# CONCURRENTLY: these tables take inserts all the time, and a plain CREATE INDEX would block them while it runs.

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('notifications', '0009_webhook_formats_and_transaction_completions'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='event',
            index=models.Index(condition=models.Q(('entity_id', ''), _negated=True), fields=['partner', 'entity_id'], name='event_partner_entity_idx'),
        ),
        AddIndexConcurrently(
            model_name='webhookdelivery',
            index=models.Index(fields=['partner', '-created_at', '-id'], name='delivery_partner_log_idx'),
        ),
        AddIndexConcurrently(
            model_name='webhookdelivery',
            index=models.Index(fields=['partner', 'status', '-created_at', '-id'], name='delivery_partner_status_idx'),
        ),
        # Superseded by delivery_partner_status_idx, which leads with the same two columns.
        RemoveIndexConcurrently(
            model_name='webhookdelivery',
            name='notificatio_partner_edcf3e_idx',
        ),
    ]
