"""Each adapter against a local server speaking its provider's protocol, including the provider's error answers."""

import logging

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications.messaging.channels import TransportError, channel_adapter
from notifications.messaging.channels.console import ConsoleChannel
from notifications.messaging.channels.email import EmailChannel
from notifications.messaging.channels.push import FcmPushChannel
from notifications.messaging.channels.sms import TwilioSmsChannel
from notifications.models import CustomerMessage, Event
from tests.notifications.messaging.fakes import Scripted, fcm_error, free_port


def _message(channel: str, recipient: str, subject: str = "", body: str = "Hello") -> CustomerMessage:
    event = Event(pk=7, event_id="evt-1", event_name="CARD_BLOCKED")
    return CustomerMessage(pk=42, event=event, channel=channel, recipient=recipient, subject=subject, body=body)


def _error(adapter, message) -> TransportError:
    with pytest.raises(TransportError) as info:
        adapter.send(message)
    return info.value


class TestEmail:
    def test_email_is_delivered_over_smtp(self, smtp):
        result = EmailChannel().send(_message("EMAIL", "asha@example.com", "Card blocked", "Dear Asha,\n\nBlocked."))
        assert len(smtp.messages) == 1
        mail_from, rcpt_tos, email = smtp.messages[0]
        assert (mail_from, rcpt_tos) == ("cards@acme.example", ["asha@example.com"])
        assert email["Subject"] == "Card blocked"
        assert email["To"] == "asha@example.com"
        assert email["Message-ID"] == result.provider_message_id
        assert email.get_body(("plain",)).get_content().replace("\r\n", "\n").strip() == "Dear Asha,\n\nBlocked."
        # Both alternatives, always: a text-only row gets HTML built from its text.
        assert email.get_content_type() == "multipart/alternative"
        assert "<p>Dear Asha,</p>" in email.get_body(("html",)).get_content()

    def test_unknown_mailbox_is_permanent(self, smtp):
        smtp.refuse["gone@example.com"] = "550 5.1.1 <gone@example.com>: Recipient address rejected"
        error = _error(EmailChannel(), _message("EMAIL", "gone@example.com", "Hi"))
        assert error.permanent is True
        assert "550" in error.message
        assert smtp.messages == []

    def test_temporary_refusal_is_retried(self, smtp):
        smtp.refuse["full@example.com"] = "452 4.2.2 Mailbox full, try later"
        error = _error(EmailChannel(), _message("EMAIL", "full@example.com", "Hi"))
        assert error.permanent is False

    def test_unreachable_server_is_retried(self, smtp, settings):
        settings.EMAIL_PORT = free_port()  # nothing listens there
        error = _error(EmailChannel(), _message("EMAIL", "asha@example.com", "Hi"))
        assert error.permanent is False
        assert "SMTP error" in error.message


class TestTwilioSms:
    def test_sms_is_posted_as_twilio_expects(self, twilio):
        result = TwilioSmsChannel().send(_message("SMS", "+919800000001", body="Your card is blocked."))
        assert result.provider_message_id.startswith("SM")
        assert twilio.sms() == [{"To": "+919800000001", "From": "+15005550006", "Body": "Your card is blocked."}]
        assert twilio.requests[0].headers["content-type"] == "application/x-www-form-urlencoded"

    def test_invalid_number_is_permanent(self, twilio):
        error = _error(TwilioSmsChannel(), _message("SMS", "+0001234"))
        assert error.permanent is True
        assert "code 21211" in error.message
        assert "not a valid phone number" in error.message

    def test_unsubscribed_recipient_is_permanent(self, twilio):
        twilio.script.append(Scripted(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"}))
        assert _error(TwilioSmsChannel(), _message("SMS", "+919800000001")).permanent is True

    @pytest.mark.parametrize("status", [500, 503])
    def test_server_errors_are_retried(self, twilio, status):
        twilio.script.append(Scripted(status, {"code": 20500, "message": "Internal Server Error"}))
        error = _error(TwilioSmsChannel(), _message("SMS", "+919800000001"))
        assert error.permanent is False
        assert str(status) in error.message

    def test_rate_limit_is_retried_after_the_providers_delay(self, twilio):
        twilio.script.append(Scripted(429, {"code": 20429, "message": "Too Many Requests"}, {"Retry-After": "90"}))
        error = _error(TwilioSmsChannel(), _message("SMS", "+919800000001"))
        assert (error.permanent, error.retry_after) == (False, 90.0)

    def test_wrong_credentials_are_retried_not_dropped(self, twilio, settings):
        settings.SMS_AUTH_TOKEN = "wrong"
        error = _error(TwilioSmsChannel(), _message("SMS", "+919800000001"))
        assert error.permanent is False
        assert "401" in error.message

    def test_timeout_is_retried(self, twilio, settings):
        settings.CUSTOMER_CHANNEL_READ_TIMEOUT_SECONDS = 0.2
        twilio.script.append(Scripted(201, {"sid": "SMlate"}, delay=0.6))
        error = _error(TwilioSmsChannel(), _message("SMS", "+919800000001"))
        assert error.permanent is False
        assert "Timeout" in error.message

    def test_non_json_gateway_error_is_retried(self, twilio):
        twilio.script.append(Scripted(502, b"<html>Bad gateway</html>"))
        error = _error(TwilioSmsChannel(), _message("SMS", "+919800000001"))
        assert error.permanent is False
        assert "502" in error.message


class TestFcmPush:
    def test_push_is_posted_as_fcm_expects(self, fcm):
        result = FcmPushChannel().send(_message("PUSH", "device-token-1", "Card blocked", "Your card is blocked."))
        assert result.provider_message_id.startswith("projects/demo-project/messages/")
        assert fcm.pushes() == [{
            "token": "device-token-1",
            "notification": {"title": "Card blocked", "body": "Your card is blocked."},
            "data": {"messageId": "42", "eventId": "evt-1", "eventName": "CARD_BLOCKED"},
        }]
        assert fcm.requests[0].headers["authorization"] == "Bearer ya29.fake-access-token"

    def test_unregistered_token_is_permanent(self, fcm):
        error = _error(FcmPushChannel(), _message("PUSH", "unregistered-device"))
        assert error.permanent is True
        assert "UNREGISTERED" in error.message

    def test_invalid_argument_is_permanent(self, fcm):
        error = _error(FcmPushChannel(), _message("PUSH", "malformed-token"))
        assert error.permanent is True
        assert "INVALID_ARGUMENT" in error.message

    @pytest.mark.parametrize(
        ("status", "api_status", "code"),
        [(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), (503, "UNAVAILABLE", "UNAVAILABLE"),
         (500, "INTERNAL", "INTERNAL")],
    )
    def test_overload_and_server_errors_are_retried(self, fcm, status, api_status, code):
        fcm.script.append(fcm_error(status, api_status, code))
        error = _error(FcmPushChannel(), _message("PUSH", "device-token-1"))
        assert error.permanent is False
        assert code in error.message

    def test_expired_access_token_is_retried(self, fcm, settings):
        settings.PUSH_ACCESS_TOKEN = "expired"
        error = _error(FcmPushChannel(), _message("PUSH", "device-token-1"))
        assert error.permanent is False
        assert "THIRD_PARTY_AUTH_ERROR" in error.message


class TestSelection:
    def test_settings_pick_the_adapter(self, settings):
        settings.SMS_PROVIDER, settings.PUSH_PROVIDER, settings.EMAIL_CHANNEL_BACKEND = "twilio", "fcm", "smtp"
        assert isinstance(channel_adapter("SMS"), TwilioSmsChannel)
        assert isinstance(channel_adapter("PUSH"), FcmPushChannel)
        assert isinstance(channel_adapter("EMAIL"), EmailChannel)
        settings.SMS_PROVIDER = settings.PUSH_PROVIDER = settings.EMAIL_CHANNEL_BACKEND = "console"
        assert all(isinstance(channel_adapter(c), ConsoleChannel) for c in ("SMS", "PUSH", "EMAIL"))

    def test_unknown_provider_is_a_configuration_error(self, settings):
        settings.SMS_PROVIDER = "carrier-pigeon"
        with pytest.raises(ImproperlyConfigured, match="carrier-pigeon"):
            channel_adapter("SMS")

    def test_console_adapter_logs_instead_of_sending(self, caplog):
        with caplog.at_level(logging.INFO, logger="notifications.messaging.channels.console"):
            result = ConsoleChannel("SMS").send(_message("SMS", "+919800000001", body="Hello there"))
        assert result.provider_message_id.startswith("console-")
        assert "Hello there" in caplog.text
