"""Card-number guard: a Luhn-valid 13-19 digit number never leaves, by webhook, SMS, email or push.

The scenario is the realistic one: a producer puts a full card number into an event (here in `merchantName`), a
partner template renders that field, and everything built from the event is refused and marked with the reason.
The card number is written as plainly as possible and as the issue's findings wrote it (letters right before or
after, uneven groups, pairs), which the guard let through before. An eventId that is a card number stops the
webhook (body and webhook-id header) and the push (data.eventId). Dead-letter reasons and stored message text keep
card numbers only masked. The generated corpus is in test_card_guard_corpus.py, the logs in test_log_masking.py."""

import importlib
import json
import logging

import pytest
from django.apps import apps
from django.core import mail

from notifications import guards
from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.messaging.planning import messages_plan
from notifications.messaging.sending import message_send_batch
from notifications.models import CustomerMessage, DeadLetter, DeliveryStatus, Event, InboxMessage, WebhookDelivery
from notifications.services import dead_letter_redrive
from templates.models import NotificationTemplate
from tests.factories import CardFactory, CardholderFactory, EventSubscriptionFactory, ProductFactory, WalletFactory
from tests.notifications.helpers import deliver_as_task, kafka_message

pytestmark = pytest.mark.django_db

PAN = "4111 1111 1111 1111"
FINDINGS = ["Shop4111 1111 1111 1111", "4111 1111 1111 1111x", "4111 11 1111 111111", "41 11 11 11 11 11 11 11"]


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


def ingest(card, merchant: str, **overrides) -> tuple[WebhookDelivery | None, list[CustomerMessage]]:
    message = kafka_message(
        event_name="CARD_TRANSACTION_APPROVED",
        data={"kitNo": card.kit_no, "amount": "125.50", "currency": "INR", "merchantName": merchant,
              "balance": "874.50"},
        **overrides,
    )
    result = ingest_batch([RawMessage(value=json.dumps(message).encode())])
    for event_ids in result.plans_by_partner.values():  # what the planning task does in the worker
        messages_plan(event_ids=event_ids)
    d = WebhookDelivery.objects.filter(event__event_id=message["eventId"]).first()
    messages = list(CustomerMessage.objects.filter(event__event_id=message["eventId"]).order_by("channel"))
    assert {m.channel for m in messages} == {"SMS", "EMAIL", "PUSH", "IN_APP"}
    assert {m.status for m in messages} == {"PENDING"}
    return d, messages


@pytest.mark.parametrize("written", [f"REFUND TO {PAN}", *FINDINGS])
def test_nothing_built_from_an_event_holding_a_card_number_leaves(acme, card, webhook_receiver, caplog, written):
    caplog.set_level(logging.INFO)
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", destination=webhook_receiver.url())
    d, messages = ingest(card, written)

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
    assert written not in caplog.text
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
        # the findings: neighbours right before or after, uneven groups, pairs
        ("Shop4111 1111 1111 1111", True),
        ("4111 1111 1111 1111x", True),
        ("4111 11 1111 111111", True),
        ("41 11 11 11 11 11 11 11", True),
        ("4111.1111.1111.1111", True),
        ("4111_1111_1111_1111", True),
        ("4111\u00a01111\u00a01111\u00a01111", True),  # no-break spaces
        ("4111%201111%201111%201111", True),  # as a URL writes it
        ("4111\\n1111\\n1111\\n1111", True),  # as JSON writes newlines
        ("4111&nbsp;1111&nbsp;1111&nbsp;1111", True),  # as HTML writes no-break spaces
        ("4111 1111 1111 1111 2025", True),  # whole groups of a longer run: a card number beside another number
        ("4111 1111 1111 1111 12/27", True),  # with its expiry
        ("411111111111111120", False),  # one group of 18 digits that fails Luhn: digits glued on make another number
        ("4111 - 1111 - 1111 - 1111", False),  # three characters between groups end the run
        ("6f1c2b7a-3e5d-4c8b-9a0f-1e2d3c4b5a69", False),  # a UUID
        ("00000000-0000-0000-0000-000000000000", False),  # a UUID whose digits would pass Luhn
        ("2025-03-14T09:26:51.589+05:30", False),
        ("1741944413", False),  # Unix seconds
    ],
)
def test_guard_recognises_card_numbers(text, refused):
    assert guards.contains_card_number(text) is refused


def test_a_card_number_as_event_id_stops_the_webhook_and_the_push(acme, card, webhook_receiver):
    """The eventId is the webhook-id header and a push data value; SMS and email do not carry it and go out."""
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", destination=webhook_receiver.url())
    d, messages = ingest(card, "Chai Point", eventId=PAN)
    deliver_as_task([d.pk])
    d.refresh_from_db()
    assert d.status == DeliveryStatus.FAILED and d.last_error == guards.REFUSAL_REASON
    assert webhook_receiver.requests == []
    message_send_batch(message_ids=[m.pk for m in messages])
    outcome = {m.channel: m for m in CustomerMessage.objects.filter(pk__in=[m.pk for m in messages])}
    assert (outcome["PUSH"].status, outcome["PUSH"].last_error) == ("FAILED", guards.REFUSAL_REASON)
    assert outcome["SMS"].status == outcome["EMAIL"].status == "SENT"


def test_the_webhook_id_header_is_checked_even_when_the_stored_verdict_is_clean(acme, card, webhook_receiver):
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", destination=webhook_receiver.url())
    d, _ = ingest(card, "Chai Point", eventId="4111-1111-1111-1111")
    Event.objects.filter(pk=d.event_id).update(holds_card_number=False)  # a verdict the old guard took
    deliver_as_task([d.pk])
    d.refresh_from_db()
    assert d.last_error == guards.REFUSAL_REASON and webhook_receiver.requests == []


def test_a_dead_letter_keeps_the_raw_bytes_and_a_masked_reason(acme, caplog):
    caplog.set_level(logging.WARNING)
    message = kafka_message(event_name=PAN)
    ingest_batch([RawMessage(value=json.dumps(message).encode(), topic="t", partition=0, offset=1)])
    letter = DeadLetter.objects.get(offset=1)
    assert letter.reason == "Unknown eventName '**** **** **** 1111'; see GET /event-types/."
    assert json.loads(bytes(letter.raw_value))["eventName"] == PAN
    assert dead_letter_redrive(dead_letter=letter).reason == letter.reason  # a re-drive stores it masked too
    letter.refresh_from_db()
    assert "4111 1111" not in letter.reason


def test_the_migration_masks_stored_text_and_forgets_old_verdicts(acme, card, webhook_receiver):
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", destination=webhook_receiver.url())
    d, messages = ingest(card, "Chai Point")
    sent, pending = messages[0], messages[1]
    CustomerMessage.objects.filter(pk=sent.pk).update(status="SENT", subject=f"Card {FINDINGS[0]}",
                                                      body=f"Refund to {FINDINGS[1]}. Ref 407312345678.")
    CustomerMessage.objects.filter(pk=pending.pk).update(body=f"Refund to {PAN}")
    DeadLetter.objects.create(topic="t", partition=0, offset=9, raw_value=PAN.encode(), reason_code="x",
                              reason=f"Unknown eventName '{PAN}'")
    Event.objects.filter(pk=d.event_id).update(holds_card_number=False)

    migration = importlib.import_module("notifications.migrations.0011_mask_stored_card_numbers")
    migration.forget_old_verdicts(apps, None)
    migration.mask_stored_text(apps, None)

    sent.refresh_from_db()
    assert sent.subject == "Card Shop**** **** **** 1111"
    assert sent.body == "Refund to **** **** **** 1111x. Ref 407312345678."
    pending.refresh_from_db()
    assert pending.body == f"Refund to {PAN}"  # still to be sent: the guard refuses it then
    assert DeadLetter.objects.get(offset=9).reason == "Unknown eventName '**** **** **** 1111'"
    assert bytes(DeadLetter.objects.get(offset=9).raw_value) == PAN.encode()
    assert Event.objects.get(pk=d.event_id).holds_card_number is None  # checked again when it is sent


def test_a_refused_message_is_stored_with_its_text_masked(acme, card):
    _, messages = ingest(card, FINDINGS[0])
    message_send_batch(message_ids=[m.pk for m in messages])
    for m in CustomerMessage.objects.filter(pk__in=[m.pk for m in messages]):
        assert m.skip_reason == guards.REFUSAL_REASON
        assert not guards.contains_card_number(m.subject) and not guards.contains_card_number(m.body)
        assert "**** **** **** 1111" in m.subject + m.body


def test_the_partner_api_shows_what_the_webhook_refused_only_masked(acme, card, make_client):
    """GET /events/… would otherwise hand the partner the card number its webhook was refused for."""
    client = make_client(acme)
    event_id = "4111-1111-1111-1111"
    ingest(card, f"REFUND TO {PAN}", eventId=event_id, entityId="Shop4111111111111111x")
    for url in ("/prepaid/auth/v1/events/", f"/prepaid/auth/v1/events/{event_id}",
                f"/prepaid/auth/v1/events/{event_id}/deliveries"):
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert not guards.contains_card_number(text), url
    detail = client.get(f"/prepaid/auth/v1/events/{event_id}").json()
    assert detail["eventId"] == "****-****-****-1111" and detail["entityId"] == "Shop************1111x"
    assert detail["data"]["merchantName"] == "REFUND TO **** **** **** 1111"
    assert detail["data"]["amount"] == "125.50"


def test_masking_json_data_keeps_its_shape():
    data = {"pan": 4111111111111111, "n": 42, "ok": True, "items": [PAN, {"4111111111111111": None}], "x": 1.5}
    assert guards.mask_card_numbers_in(data) == {
        "pan": "************1111", "n": 42, "ok": True, "items": ["**** **** **** 1111", {"************1111": None}],
        "x": 1.5,
    }
