"""Migration 0013 moves the "messages not planned yet" mark from a column of the event to a table of its own: events
ingested before it and not planned yet keep their place in line, planned ones do not come back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from notifications.models import UnplannedEvent
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("notifications", "0012_message_receipts_and_inbox")
AFTER = ("notifications", "0013_events_to_plan_in_a_table_of_their_own")


def _migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def test_events_waiting_for_their_planning_are_carried_over():
    partner = PartnerFactory()
    _migrate(BEFORE)
    try:
        received = timezone.now()
        with connection.cursor() as cursor:
            for event_id, planned in (("waiting", False), ("planned", True), ("no-messages", None)):
                cursor.execute(
                    """INSERT INTO notifications_event (event_id, event_name, event_type, partner_id, occurred_at,
                                                        entity_id, data, body, received_at, source_topic,
                                                        messages_planned)
                       VALUES (%s, 'TRANSACTION_NOTIFICATION', 'INSTANT', %s, %s, '', '{}', '{}', %s, '', %s)""",
                    [event_id, partner.pk, received, received, planned],
                )
    finally:
        _migrate(AFTER)
    carried = list(UnplannedEvent.objects.values_list("event__event_id", "partner_id", "received_at"))
    assert carried == [("waiting", partner.pk, received)]
