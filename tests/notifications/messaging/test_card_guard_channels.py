"""Every outgoing field of every channel is checked for card numbers, against the local provider servers: SMS body,
push title, body, data values (the eventId included) and token, email subject, body, a second (HTML) part,
addresses and headers. A refused message reaches no provider. The texts are the issue's findings, which the
guard let through before."""

import pytest

from notifications import guards
from notifications.messaging.channels import CardNumberRefused, message_card_number_fields
from notifications.messaging.channels.console import ConsoleChannel
from notifications.messaging.channels.email import EmailChannel
from notifications.messaging.channels.push import FcmPushChannel
from notifications.messaging.channels.sms import TwilioSmsChannel
from notifications.messaging.routing import plan_customer_messages
from notifications.messaging.sending import message_send_batch
from notifications.models import CustomerMessage, Event
from tests.templates_app.factories import make_event

FINDINGS = ["Shop4111 1111 1111 1111", "4111 1111 1111 1111x", "4111 11 1111 111111", "41 11 11 11 11 11 11 11"]


def _message(channel: str, recipient: str, subject: str = "", body: str = "Hello", event_id: str = "evt-1"):
    event = Event(pk=7, event_id=event_id, event_name="CARD_BLOCKED")
    return CustomerMessage(pk=42, event=event, channel=channel, recipient=recipient, subject=subject, body=body)


def _refused(adapter, message) -> list[str]:
    with pytest.raises(CardNumberRefused) as info:
        adapter.send(message)
    assert info.value.permanent is True and info.value.message == guards.REFUSAL_REASON
    return info.value.fields


@pytest.mark.parametrize("text", FINDINGS)
def test_an_sms_body_holding_a_card_number_is_not_sent(twilio, text):
    assert _refused(TwilioSmsChannel(), _message("SMS", "+919800000001", body=f"Spent at {text}.")) == ["Body"]
    assert twilio.requests == []


@pytest.mark.parametrize("text", FINDINGS)
@pytest.mark.parametrize("field", ["notification.title", "notification.body", "data.eventId"])
def test_a_push_field_holding_a_card_number_is_not_sent(fcm, text, field):
    values = {"notification.title": ("subject", text), "notification.body": ("body", text),
              "data.eventId": ("event_id", text)}
    name, value = values[field]
    message = _message("PUSH", "fcm-token-asha", **{name: value})
    assert _refused(FcmPushChannel(), message) == [field]
    assert fcm.requests == []


@pytest.mark.parametrize("text", FINDINGS)
@pytest.mark.parametrize("field", ["subject", "body"])
def test_an_email_subject_or_body_holding_a_card_number_is_not_sent(smtp, text, field):
    message = _message("EMAIL", "asha@example.com", subject="Payment", body="Dear Asha")
    setattr(message, field, f"Card {text}")
    # A row rendered without an HTML body gets one made from its text: the number is in both parts.
    assert _refused(EmailChannel(), message) == (["body", "alternative 1 (text/html)"] if field == "body" else [field])
    assert smtp.messages == []


@pytest.mark.parametrize("text", FINDINGS)
def test_the_second_part_of_an_email_is_checked_too(smtp, text):
    message = _message("EMAIL", "asha@example.com", subject="Payment", body="Card XXXX 4242")
    message.html_body = f"<p>Card <b>{text}</b></p>"
    assert _refused(EmailChannel(), message) == ["alternative 1 (text/html)"]
    assert smtp.messages == []
    # and the fields of a two-part email without one go out, both parts
    message.html_body = "<p>Card <b>XXXX 4242</b></p>"
    EmailChannel().send(message)
    [(_, _, email)] = smtp.messages
    assert [part.get_content_type() for part in email.walk()][1:] == ["text/plain", "text/html"]


def test_headers_and_addresses_are_checked(smtp, fcm, settings):
    settings.DEFAULT_FROM_EMAIL = "Cards 4111-1111-1111-1111 <cards@acme.example>"
    assert _refused(EmailChannel(), _message("EMAIL", "asha@example.com", "Payment")) == ["from"]
    # The device token is message data; the bearer token is our credential and not checked.
    assert _refused(FcmPushChannel(), _message("PUSH", "4111111111111111")) == ["token"]
    assert smtp.messages == [] and fcm.requests == []


@pytest.mark.parametrize("channel", ["SMS", "PUSH", "EMAIL"])
def test_the_console_channel_refuses_what_its_channel_would(channel, caplog):
    message = _message(channel, "x", subject="Payment", body=f"Card {FINDINGS[0]}")
    expected = {"EMAIL": ["body", "alternative 1 (text/html)"], "SMS": ["Body"], "PUSH": ["notification.body"]}
    assert _refused(ConsoleChannel(channel), message) == expected[channel]
    assert "Card" not in caplog.text


def test_the_fields_a_message_would_send_are_named():
    assert message_card_number_fields(_message("PUSH", "fcm-token-asha", "Payment", "Chai Point",
                                               event_id="4111 1111 1111 1111")) == ["data.eventId"]
    assert message_card_number_fields(_message("SMS", "+8613812345678", body="Paid")) == []  # phone numbers: not
    assert message_card_number_fields(_message(
        "EMAIL", "asha@example.com", "Payment of INR 125.50",
        "INR 125.50 at Chai Point on 2025-03-14T09:26:51+05:30, ref 407312345678, card XXXX XXXX XXXX 4242",
        event_id="6f1c2b7a-3e5d-4c8b-9a0f-1e2d3c4b5a69",
    )) == []


@pytest.mark.django_db
def test_a_push_whose_event_id_is_a_card_number_never_reaches_fcm(partner, card, providers):
    """Through message_send_batch: the push is FAILED with the reason; the SMS and email, which do not carry the
    eventId, go out."""
    event = make_event(partner, kitNo=card.kit_no, amount="125.50", currency="INR", merchantName="Chai Point",
                       balance="874.50")
    Event.objects.filter(pk=event.pk).update(event_id="4111 1111 1111 1111")
    event.refresh_from_db()
    rows = plan_customer_messages([event])
    CustomerMessage.objects.bulk_create(rows)
    smtp, twilio, fcm = providers
    message_send_batch(message_ids=[r.pk for r in rows])
    outcome = {m.channel: m for m in CustomerMessage.objects.filter(event=event, fallback_of=None)}
    assert (outcome["PUSH"].status, outcome["PUSH"].last_error) == ("FAILED", guards.REFUSAL_REASON)
    assert fcm.requests == []
    assert outcome["SMS"].status == outcome["EMAIL"].status == "SENT"
    assert len(twilio.sms()) == 1 and len(smtp.messages) == 1
