"""Card-number guard: a Luhn-valid 13-19 digit number never leaves, by webhook, SMS, email or push.

The scenario is the realistic one: a producer puts a full card number into an event (here in `merchantName`), a
partner template renders that field, and everything built from the event is refused and marked with the reason."""

import importlib
import json
import logging

import pytest
from django.core import mail

from notifications import guards
from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.messaging.planning import messages_plan
from notifications.messaging.sending import message_send_batch
from notifications.models import CustomerMessage, DeliveryStatus, InboxMessage, WebhookDelivery
from templates.models import NotificationTemplate
from tests.factories import CardFactory, CardholderFactory, EventSubscriptionFactory, ProductFactory, WalletFactory
from tests.notifications.helpers import deliver_as_task, kafka_message

pytestmark = pytest.mark.django_db

PAN = "4111 1111 1111 1111"


@pytest.fixture(autouse=True)
def sample_templates(db):
    """The sample templates come from a data migration that transactional tests flush; put them back."""
    from django.apps import apps

    for name in ("0003_sample_templates", "0005_in_app_sample_templates"):
        importlib.import_module(f"templates.migrations.{name}").add_samples(apps, None)


@pytest.fixture
def card(acme, settings):
    settings.SMS_PROVIDER = settings.PUSH_PROVIDER = "console"
    settings.EMAIL_CHANNEL_BACKEND = "smtp"  # Django's backend: locmem in tests, so mail.outbox shows what left
    settings.CUSTOMER_QUIET_HOURS = ""
    product = ProductFactory(partner=acme, code="travel", default_locale="en")
    holder = CardholderFactory(partner=acme, phone="+919800000001", email="asha@example.com",
                               push_token="fcm-token-asha", locale="en", timezone="Asia/Kolkata")
    wallet = WalletFactory(partner=acme, cardholder=holder, product=product)
    return CardFactory(partner=acme, wallet=wallet, kit_no="K1000001", last4="4242")


def ingest(card, merchant: str) -> tuple[WebhookDelivery | None, list[CustomerMessage]]:
    message = kafka_message(
        event_name="CARD_TRANSACTION_APPROVED",
        data={"kitNo": card.kit_no, "amount": "125.50", "currency": "INR", "merchantName": merchant,
              "balance": "874.50"},
    )
    result = ingest_batch([RawMessage(value=json.dumps(message).encode())])
    for event_ids in result.plans_by_partner.values():  # what the planning task does in the worker
        messages_plan(event_ids=event_ids)
    d = WebhookDelivery.objects.filter(event__event_id=message["eventId"]).first()
    messages = list(CustomerMessage.objects.filter(event__event_id=message["eventId"]).order_by("channel"))
    assert {m.channel for m in messages} == {"SMS", "EMAIL", "PUSH", "IN_APP"}
    assert {m.status for m in messages} == {"PENDING"}
    return d, messages


def test_nothing_built_from_an_event_holding_a_card_number_leaves(acme, card, webhook_receiver, caplog):
    caplog.set_level(logging.INFO)
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", destination=webhook_receiver.url())
    d, messages = ingest(card, f"REFUND TO {PAN}")

    deliver_as_task([d.pk])
    d.refresh_from_db()
    assert d.status == DeliveryStatus.FAILED and d.last_error == guards.REFUSAL_REASON
    assert webhook_receiver.requests == []
    assert not d.attempts.exists()  # no HTTP attempt was made

    assert message_send_batch(message_ids=[m.pk for m in messages]) == {}  # no retry, no fallback
    for m in messages:
        m.refresh_from_db()
        assert (m.status, m.skip_reason, m.last_error) == ("FAILED", guards.REFUSAL_REASON, guards.REFUSAL_REASON)
    assert mail.outbox == []
    assert not InboxMessage.objects.exists()  # nor is it stored in the in-app inbox
    # The console channel "sends" none.
    assert not [r for r in caplog.records if r.name == "notifications.messaging.channels.console"]
    # and the refusal is logged without the number (ids in the log may contain any digits, so look for the number)
    assert PAN not in caplog.text
    assert PAN.replace(" ", "") not in caplog.text.replace(" ", "")


def test_the_same_event_without_the_number_goes_out(acme, card, webhook_receiver):
    """The control: the refusals above are the guard's doing, not a routing or template gap."""
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", destination=webhook_receiver.url())
    d, messages = ingest(card, "Chai Point")
    deliver_as_task([d.pk])
    message_send_batch(message_ids=[m.pk for m in messages])
    d.refresh_from_db()
    assert d.status == DeliveryStatus.SUCCEEDED and len(webhook_receiver.requests) == 1
    assert {m.status for m in CustomerMessage.objects.filter(pk__in=[m.pk for m in messages])} == {"SENT"}
    (email,) = mail.outbox
    assert "Chai Point" in email.body and "XXXX XXXX XXXX 4242" in email.body


def test_a_card_number_in_an_email_subject_is_refused(acme, card):
    _, messages = ingest(card, PAN.replace(" ", "-"))
    email = next(m for m in messages if m.channel == "EMAIL")
    # The worker renders the subject from the template: make it carry the merchant name (here, a card number).
    NotificationTemplate.objects.filter(pk=email.template_id).update(subject="Your card at {{ merchantName }}")
    message_send_batch(message_ids=[email.pk])
    email.refresh_from_db()
    assert email.status == "FAILED" and email.skip_reason == guards.REFUSAL_REASON
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("4111111111111111", True),  # Visa test number, 16 digits
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        ("card:4111111111111111;", True),
        ("378282246310005", True),  # Amex, 15
        ("4222222222222", True),  # 13
        ("6011000990139424", True),  # Discover
        ("6759649826438453", True),  # Maestro
        ("4000000000000000006", True),  # 19
        ("4111111111111112", False),  # fails Luhn
        ("XXXX XXXX XXXX 4242", False),  # masked
        ("411111******1111", False),
        ("+919800000001", False),  # phone, 12 digits
        ("125.50", False),
        ("12345678901234567890", False),  # 20 digits: not a card number length
    ],
)
def test_guard_recognises_card_numbers(text, refused):
    assert guards.contains_card_number(text) is refused
