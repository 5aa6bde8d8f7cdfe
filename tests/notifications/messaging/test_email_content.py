"""Email done properly, read back from the local SMTP server: both alternatives from one template (HTML with escaped
variables, text written or generated), the product's sender name and Reply-To, and RFC 8058 one-click unsubscribe
headers on non-critical notices only."""

import pytest
from django.core.exceptions import ValidationError

from notifications.messaging.routing import plan_customer_messages
from notifications.messaging.sending import message_send_batch
from notifications.models import CustomerMessage
from templates.html_text import html_to_text
from templates.models import NotificationTemplate
from tests.templates_app.factories import make_event

TXN = {"amount": "125.50", "currency": "INR", "merchantName": "Chai Point", "balance": "874.50"}


def _send_email(partner, card, event_name="CARD_TRANSACTION_APPROVED", **data):
    rows = plan_customer_messages([make_event(partner, event_name, kitNo=card.kit_no, **(data or TXN))])
    CustomerMessage.objects.bulk_create(rows)
    email = next(r for r in rows if r.channel == "EMAIL")
    message_send_batch(message_ids=[email.pk])
    email.refresh_from_db()
    return email


def test_html_template_escapes_variables_and_the_text_is_generated(partner, card, product, smtp):
    NotificationTemplate.objects.create(
        event_name="CARD_TRANSACTION_APPROVED", channel="EMAIL", locale="en", product=product,
        subject="Payment at {{ merchantName }}", body="",
        html_body="<p>Dear {{ firstName }},</p><p>You paid <b>{{ currency }} {{ amount }}</b> at "
                  "{{ merchantName }}.</p><ul><li>Card {{ maskedCardNumber }}</li></ul>"
                  '<p><a href="https://acme.example/help">Help</a></p>',
    )
    email = _send_email(partner, card, **{**TXN, "merchantName": '<script>alert("x")</script> & Co'})
    assert email.status == "SENT"
    [(_, _, message)] = smtp.messages
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html
    assert "<script>" not in html
    assert "<b>INR 125.50</b>" in html  # the template's own markup stays markup
    assert "You paid INR 125.50 at <script>alert(\"x\")</script> & Co." in text  # text: the value as it is
    assert "- Card XXXX XXXX XXXX 4242" in text
    assert "Help (https://acme.example/help)" in text
    assert email.html_body == html.strip()


def test_a_text_only_template_gets_html_built_from_it(partner, card, smtp):
    _send_email(partner, card, **{**TXN, "merchantName": "Tom & Jerry <Café>"})
    [(_, _, message)] = smtp.messages
    assert "Tom & Jerry <Café>" in message.get_body(("plain",)).get_content()
    assert "Tom &amp; Jerry &lt;Café&gt;" in message.get_body(("html",)).get_content()


def test_the_products_sender_name_and_reply_to(partner, card, product, smtp):
    product.email_sender_name = "Travel Card by Acme"
    product.email_reply_to = "help@travel.acme.example"
    product.save()
    _send_email(partner, card)
    [(mail_from, _, message)] = smtp.messages
    assert message["From"] == "Travel Card by Acme <cards@acme.example>"
    assert mail_from == "cards@acme.example"  # the envelope sender stays the platform's address
    assert message["Reply-To"] == "help@travel.acme.example"


def test_non_critical_emails_carry_one_click_unsubscribe(partner, card, smtp, settings):
    settings.PUBLIC_BASE_URL = "https://notify.example.com"
    _send_email(partner, card)
    [(_, _, message)] = smtp.messages
    assert message["List-Unsubscribe"].strip().startswith("<https://notify.example.com/preferences/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_critical_notices_carry_no_unsubscribe(partner, card, smtp, settings):
    settings.PUBLIC_BASE_URL = "https://notify.example.com"
    _send_email(partner, card, "KIT_EXPIRY_NOTIFICATION", expiryDate="2026-03-31")
    [(_, _, message)] = smtp.messages
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None


def test_without_a_public_address_no_unsubscribe_header_is_invented(partner, card, smtp, settings):
    settings.PUBLIC_BASE_URL = ""
    _send_email(partner, card)
    [(_, _, message)] = smtp.messages
    assert message["List-Unsubscribe"] is None


@pytest.mark.parametrize(("channel", "fields", "error_field"), [
    ("EMAIL", {"html_body": "<p>{{ merchantName|safe }}</p>", "body": ""}, "html_body"),  # no way round escaping
    ("SMS", {"html_body": "<p>{{ amount }}</p>", "body": "x"}, "html_body"),  # only email has HTML
    ("EMAIL", {"html_body": "", "body": ""}, "body"),  # neither part
    ("EMAIL", {"html_body": "<p>{{ cardNumber }}</p>", "body": ""}, "html_body"),  # unknown variable
])
def test_html_bodies_are_validated_on_save(db, channel, fields, error_field):
    template = NotificationTemplate(event_name="CARD_TRANSACTION_APPROVED", channel=channel, locale="en",
                                    subject="S" if channel == "EMAIL" else "", **fields)
    with pytest.raises(ValidationError) as info:
        template.full_clean()
    assert error_field in info.value.message_dict


def test_html_to_text_keeps_what_a_reader_needs():
    html = ("<html><head><style>p {color: red}</style><title>T</title></head><body><h1>Hello</h1>"
            "<p>Line one<br>line two</p><ul><li>a</li><li>b</li></ul><p>See <a href='https://x.example'>this</a>"
            "</p><script>evil()</script></body></html>")
    assert html_to_text(html) == "Hello\n\nLine one\nline two\n\n- a\n- b\n\nSee this (https://x.example)"
