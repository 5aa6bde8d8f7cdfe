from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from notifications.models import CustomerMessage, Event
from tests.factories import CardFactory, PartnerFactory

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("send_test_notification", *args, stdout=out)
    return out.getvalue()


def test_sends_one_sms_and_prints_the_result(card, twilio):
    output = _run("--kit", card.kit_no, "--event", "CARD_TRANSACTION_APPROVED", "--channel", "sms")
    [sms] = twilio.sms()
    assert sms["To"] == "+919800000001"
    assert "XXXX XXXX XXXX 4242" in sms["Body"]
    assert "recipient: +919800000001" in output
    assert "SENT (provider id SM" in output
    # A test send stores nothing.
    assert not Event.objects.exists()
    assert not CustomerMessage.objects.exists()


def test_sends_an_email_in_another_locale(card, smtp):
    output = _run("--kit", card.kit_no, "--event", "KIT_EXPIRY_ADVANCE_NOTIFICATION", "--channel", "EMAIL",
                  "--locale", "hi-IN")
    [(_, rcpt, email)] = smtp.messages
    assert rcpt == ["asha@example.com"]
    assert email["Subject"].strip() == "कार्ड जल्द समाप्त होगा"  # a long UTF-8 header is folded
    assert "locale:    hi" in output


def test_provider_refusal_is_reported(card, holder, fcm):
    holder.push_token = "unregistered-device"
    holder.save()
    with pytest.raises(CommandError, match=r"NOT SENT \(permanent\).*UNREGISTERED"):
        _run("--kit", card.kit_no, "--event", "CARD_BLOCKED", "--channel", "PUSH")


def test_opted_out_cardholder_is_reported_not_sent(card, holder, twilio):
    holder.channel_preferences = {"SMS": False}
    holder.save()
    with pytest.raises(CommandError, match="opted_out"):
        _run("--kit", card.kit_no, "--event", "CARD_ACTIVATED", "--channel", "SMS")
    assert twilio.requests == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kit", "NOPE", "--event", "CARD_BLOCKED", "--channel", "SMS"], "No card with kit 'NOPE'"),
        (["--kit", "K1000001", "--event", "NOPE", "--channel", "SMS"], "Unknown event 'NOPE'"),
        (["--kit", "K1000001", "--event", "CARD_TRANSACTION_CLEARED", "--channel", "SMS"], "not customer-facing"),
        (["--kit", "K1000001", "--event", "CARD_BLOCKED", "--channel", "FAX"], "Unknown channel 'FAX'"),
    ],
)
def test_bad_arguments_are_clear_errors(card, args, message):
    with pytest.raises(CommandError, match=message):
        _run(*args)


def test_a_kit_of_several_tenants_needs_the_tenant(card, twilio):
    CardFactory(partner=PartnerFactory(tenant_id="other"), kit_no=card.kit_no)
    with pytest.raises(CommandError, match=r"several tenants \(acme, other\); pass --tenant"):
        _run("--kit", card.kit_no, "--event", "CARD_BLOCKED", "--channel", "SMS")
    assert "SENT" in _run("--kit", card.kit_no, "--event", "CARD_BLOCKED", "--channel", "SMS", "--tenant", "acme")
