"""Issue acceptance: an event on the topic produces the right email, SMS and push, read back from the local SMTP
server and the local Twilio and FCM servers, with product overrides, opt-outs and masked numbers."""

import pytest

from notifications.models import CustomerMessage, InboxMessage, MessageStatus
from templates.models import NotificationTemplate
from tests.factories import CardFactory, CardholderFactory, WalletFactory
from tests.fixtures.processes import wait_until
from tests.notifications.helpers import kafka_message

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_event_on_the_topic_reaches_email_sms_and_push(
    partner, product, card, holder, providers, kafka_topic, tansu_broker, start_worker, start_bridge, settings
):
    smtp, twilio, fcm = providers
    NotificationTemplate.objects.create(
        event_name="TRANSACTION_NOTIFICATION", channel="SMS", locale="en", product=product,
        body="Travel Card {{ maskedCardNumber }}: {{ currency }} {{ amount }} at {{ merchantName }}.",
    )
    opted_out = CardholderFactory(partner=partner, external_id="CUST2", channel_preferences={"SMS": False})
    other_card = CardFactory(partner=partner, kit_no="K2", last4="1111",
                             wallet=WalletFactory(partner=partner, cardholder=opted_out, product=product))
    env = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port), "SMS_PROVIDER": "twilio", "SMS_API_BASE_URL": twilio.url,
        "SMS_ACCOUNT_SID": twilio.account_sid, "SMS_AUTH_TOKEN": twilio.auth_token, "SMS_FROM_NUMBER": "+15005550006",
        "PUSH_PROVIDER": "fcm", "PUSH_API_BASE_URL": fcm.url, "PUSH_PROJECT_ID": fcm.project_id,
        "PUSH_ACCESS_TOKEN": fcm.access_token, "CUSTOMER_QUIET_HOURS": "",
    }
    start_worker(**env)
    start_bridge(**env)
    data = {"kitNo": card.kit_no, "amount": "125.50", "currency": "INR", "merchantName": "Cafe Mocha"}
    tansu_broker.produce(kafka_topic, [kafka_message(tenant_id=partner.tenant_id, data=data),
                                       kafka_message(tenant_id=partner.tenant_id, data={**data,
                                                                                         "kitNo": other_card.kit_no})])

    wait_until(lambda: CustomerMessage.objects.filter(status=MessageStatus.SENT).count() == 7, 60,
               message="4 messages for the first cardholder, email, push and inbox for the opted-out one")
    assert len(smtp.messages) == 2
    first_email = next(m for _, rcpt, m in smtp.messages if rcpt == [holder.email])
    assert "125.50" in first_email.get_body(("plain",)).get_content()
    assert "125.50" in first_email.get_body(("html",)).get_content()
    assert {e.cardholder_id for e in InboxMessage.objects.all()} == {holder.pk, opted_out.pk}
    sms = twilio.sms()
    assert len(sms) == 1  # the second cardholder opted out of SMS
    assert sms[0]["To"] == holder.phone
    assert sms[0]["Body"] == "Travel Card XXXX XXXX XXXX 4242: INR 125.50 at Cafe Mocha."  # the product override
    pushes = [r.json()["message"] for r in fcm.requests]
    assert {p["token"] for p in pushes} == {holder.push_token, opted_out.push_token}
    skipped = CustomerMessage.objects.get(cardholder=opted_out, channel="SMS")
    assert skipped.status == MessageStatus.SKIPPED
    assert skipped.skip_reason
    assert all(m.provider_message_id for m in CustomerMessage.objects.filter(status=MessageStatus.SENT))
