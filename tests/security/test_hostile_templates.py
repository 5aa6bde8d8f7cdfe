"""One partner's template can never stop or slow the others: rendering runs in the messaging worker, never in the
bridge, and a template that crashes fails only its own message.

With real processes: a partner whose product template recurses without end (the finding: the bridge exited with
RecursionError on every matching event, and again on every restart) keeps its webhooks, while another partner's
events go on being ingested and delivered."""

import pytest

from notifications.messaging.routing import SkipReason
from notifications.models import CustomerMessage, DeliveryStatus, MessageStatus, WebhookDelivery
from templates.models import NotificationTemplate
from tests.factories import EventSubscriptionFactory, PartnerFactory
from tests.fixtures.processes import wait_until
from tests.notifications.helpers import kafka_message

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RECURSIVE = "{% macro boom(n) %}{{ boom(n + 1) }}{% endmacro %}{{ boom(1) }}"


def test_a_recursive_template_fails_its_own_message_and_the_bridge_keeps_ingesting(
    partner, product, card, kafka_topic, tansu_broker, webhook_receiver, start_worker, start_bridge,
):
    # Written straight to the table, as a template that slipped past validation (or was saved before it existed).
    NotificationTemplate.objects.bulk_create([
        NotificationTemplate(event_name="TRANSACTION_NOTIFICATION", channel=channel, locale="en", product=product,
                             subject="Hi" if channel == "EMAIL" else "", body=RECURSIVE)
        for channel in ("SMS", "EMAIL", "PUSH", "IN_APP")
    ])
    EventSubscriptionFactory(partner=partner, event_name="ALL_EVENTS", destination=webhook_receiver.url("/acme"))
    other = PartnerFactory(tenant_id="globex")
    EventSubscriptionFactory(partner=other, event_name="ALL_EVENTS", destination=webhook_receiver.url("/globex"))
    env = {"SMS_PROVIDER": "console", "PUSH_PROVIDER": "console", "EMAIL_CHANNEL": "console",
           "CUSTOMER_QUIET_HOURS": ""}
    start_worker(**env)
    bridge = start_bridge(**env)

    hostile = [kafka_message(partner.tenant_id, data={"kitNo": card.kit_no, "amount": "1.00", "currency": "INR",
                                                      "merchantName": "M"}) for _ in range(3)]
    others = [kafka_message("globex") for _ in range(20)]
    tansu_broker.produce(kafka_topic, [hostile[0], *others[:10], hostile[1], *others[10:], hostile[2]])

    requests = webhook_receiver.wait_for_count(23, timeout=60)
    assert sorted(r.path for r in requests).count("/globex") == 20
    assert sorted(r.path for r in requests).count("/acme") == 3
    assert bridge.alive(), bridge.output()[-2000:]
    wait_until(lambda: CustomerMessage.objects.filter(partner=partner, status=MessageStatus.FAILED).count() == 12,
               30, message="every message of the hostile template failed, and only those")
    failed = CustomerMessage.objects.filter(partner=partner)
    assert {m.skip_reason for m in failed} == {SkipReason.TEMPLATE_ERROR}
    assert all("Template" in m.last_error for m in failed)
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 23
