from datetime import UTC, datetime, time

import pytest
from django.core.exceptions import ValidationError

from notifications.models import CustomerChannel
from subscriptions.catalog import EVENT_CATALOG
from templates.models import NotificationTemplate
from templates.quiet_hours import parse_quiet_window, quiet_hours_end
from templates.rendering import TemplateContentError, template_content_render, template_content_validate
from templates.selectors import locale_candidates
from templates.variables import sample_context, template_variables


def _error(body: str, event_name: str = "CARD_TRANSACTION_APPROVED", subject: str = "") -> TemplateContentError:
    with pytest.raises(TemplateContentError) as info:
        template_content_validate(event_name=event_name, subject=subject, body=body)
    return info.value


def test_unknown_variable_is_named_with_its_line():
    error = _error("Hello {{ cardholderName }}\nYour card {{ cardNumber }}")
    assert error.variable == "cardNumber"
    assert error.line == 2
    assert error.field == "body"
    assert "Unknown variable 'cardNumber' on line 2" in error.message


def test_syntax_error_names_the_line():
    error = _error("ok\n{% if amount %}no end", subject="")
    assert error.line == 2
    assert error.message.startswith("Syntax error on line 2")


def test_subject_errors_are_reported_on_the_subject():
    error = _error("fine", subject="{{ nope }}")
    assert error.field == "subject"
    assert error.variable == "nope"


def test_variables_differ_per_event():
    # Card fields exist for card events only; transaction fields only for transaction events.
    assert "maskedCardNumber" in template_variables("CARD_TRANSACTION_APPROVED")
    assert "merchantName" in template_variables("CARD_TRANSACTION_APPROVED")
    assert "maskedCardNumber" not in template_variables("CUSTOMER_OTP")
    assert "balance" in template_variables("WALLET_LOADED")
    assert "otp" in template_variables("CUSTOMER_OTP")
    assert _error("{{ merchantName }}", event_name="CUSTOMER_OTP").variable == "merchantName"


@pytest.mark.parametrize(
    "body",
    [
        '{% include "secrets.txt" %}',
        '{% extends "base.txt" %}',
        '{% import "macros" as m %}',
    ],
)
def test_file_tags_are_refused(body):
    assert "not allowed" in _error(body).message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{{ cardholderName.__class__.__mro__ }}", "unsafe"),
        ('{{ "x" * 100000000 }}', "too large"),
        ("{{ 2 ** 100000 }}", "too large"),
        ("{% for i in range(10000000) %}{% endfor %}", "Range too big"),
        ("{{ amount.missing }}", "no attribute"),
        ("{{ lipsum() }}", "Unknown variable 'lipsum'"),
    ],
)
def test_sandbox_refuses_dangerous_or_broken_templates(body, expected):
    assert expected in _error(body).message


def test_render_uses_context_and_collapses_subject_whitespace():
    context = sample_context("CARD_TRANSACTION_APPROVED", overrides={"amount": "99.00"})
    rendered = template_content_render(
        subject="Paid\n {{ currency }} {{ amount }}", body="{{ maskedCardNumber }} at {{ merchantName }}",
        context=context,
    )
    assert rendered.subject == "Paid INR 99.00"
    assert rendered.body == "XXXX XXXX XXXX 1234 at Chai Point"


@pytest.mark.django_db
def test_sample_templates_cover_every_customer_facing_event_and_channel():
    defaults = NotificationTemplate.objects.filter(product__isnull=True)
    english = set(defaults.filter(locale="en").values_list("event_name", "channel"))
    for name, definition in EVENT_CATALOG.items():
        for channel in CustomerChannel.values:
            assert ((name, channel) in english) == definition.customer_facing, (name, channel)
    assert defaults.filter(locale="hi").count() >= 3


@pytest.mark.django_db
def test_every_sample_template_passes_validation():
    for template in NotificationTemplate.objects.filter(product__isnull=True):
        template.full_clean()  # raises on any invalid sample


@pytest.mark.django_db
def test_model_clean_refuses_unknown_variable_and_bad_fields(product):
    template = NotificationTemplate(
        event_name="CARD_TRANSACTION_APPROVED", channel="EMAIL", locale="en_US", product=product, subject="",
        body="{{ cardNumber }}",
    )
    with pytest.raises(ValidationError) as info:
        template.full_clean()
    errors = info.value.message_dict
    assert "locale" in errors
    assert errors["subject"] == ["An email template needs a subject."]

    template.locale, template.subject = "en", "Payment"
    with pytest.raises(ValidationError) as info:
        template.full_clean()
    assert "Unknown variable 'cardNumber'" in info.value.message_dict["body"][0]

    template.event_name = "CARD_TRANSACTION_CLEARED"  # not customer-facing
    with pytest.raises(ValidationError) as info:
        template.full_clean()
    assert "not customer-facing" in info.value.message_dict["event_name"][0]


def test_locale_candidates_fall_back_to_language_product_default_and_english():
    assert locale_candidates(locale="hi-IN", product_default_locale="ta") == ["hi-in", "hi", "ta", "en"]
    assert locale_candidates(locale="en_GB", product_default_locale=None) == ["en-gb", "en"]
    assert locale_candidates(locale="", product_default_locale="") == ["en"]


class TestQuietHours:
    window = (time(22, 0), time(8, 0))

    def test_inside_a_window_that_crosses_midnight_ends_next_morning(self):
        # 23:30 in Kolkata (UTC+5:30) is 18:00 UTC; the window ends 08:00 local = 02:30 UTC the next day.
        now = datetime(2026, 2, 12, 18, 0, tzinfo=UTC)
        assert quiet_hours_end(now=now, tz_name="Asia/Kolkata", window=self.window) == datetime(
            2026, 2, 13, 2, 30, tzinfo=UTC
        )

    def test_after_midnight_ends_the_same_morning(self):
        now = datetime(2026, 2, 12, 22, 0, tzinfo=UTC)  # 03:30 local
        assert quiet_hours_end(now=now, tz_name="Asia/Kolkata", window=self.window) == datetime(
            2026, 2, 13, 2, 30, tzinfo=UTC
        )

    def test_outside_the_window_is_none(self):
        now = datetime(2026, 2, 12, 6, 0, tzinfo=UTC)  # 11:30 local
        assert quiet_hours_end(now=now, tz_name="Asia/Kolkata", window=self.window) is None

    def test_same_day_window_and_unknown_zone_falls_back_to_utc(self):
        now = datetime(2026, 2, 12, 13, 30, tzinfo=UTC)
        end = quiet_hours_end(now=now, tz_name="Mars/Olympus", window=(time(13, 0), time(15, 0)))
        assert end == datetime(2026, 2, 12, 15, 0, tzinfo=UTC)
        assert quiet_hours_end(now=now, tz_name="UTC", window=None) is None

    def test_parse_window(self):
        assert parse_quiet_window("22:00-07:30") == (time(22, 0), time(7, 30))
        assert parse_quiet_window("") is None
        with pytest.raises(ValueError):
            parse_quiet_window("22:00")
