"""Delivery receipts: the SMS adapter asks for status callbacks; the local Twilio server posts them, signed the
Twilio way, to the service's callback endpoint (a live server); a good one moves the message to DELIVERED or
UNDELIVERED with the provider's code and time, a bad signature is a 403 that changes nothing."""

import pytest
from django.test import Client
from django.urls import reverse
from twilio.request_validator import RequestValidator

from notifications.messaging.receipts import ReceiptOutcome, message_receipt_record
from notifications.messaging.routing import plan_customer_messages
from notifications.messaging.sending import message_send_batch
from notifications.models import CustomerMessage, MessageStatus
from tests.fixtures.processes import wait_until
from tests.notifications.messaging.fakes import twilio_signature
from tests.templates_app.factories import make_event

TXN = {"amount": "125.50", "currency": "INR", "merchantName": "Chai Point", "balance": "874.50"}


def _plan(partner, card) -> dict[str, CustomerMessage]:
    rows = plan_customer_messages([make_event(partner, "CARD_TRANSACTION_APPROVED", kitNo=card.kit_no, **TXN)])
    CustomerMessage.objects.bulk_create(rows)
    return {r.channel: r for r in rows}


def test_the_fakes_signature_is_twilios_documented_one():
    """The documented example (twilio.com/docs/usage/security): the fake signs exactly like Twilio, and the official
    validator the service uses agrees."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234", "From": "+12349013030",
              "To": "+18005551212"}
    assert twilio_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert RequestValidator("12345").validate(url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")


@pytest.mark.django_db(transaction=True)
def test_a_signed_status_callback_marks_the_sms_delivered(live_server, settings, twilio, partner, card,
                                                          sample_templates):
    settings.PUBLIC_BASE_URL = live_server.url
    sms = _plan(partner, card)["SMS"]
    message_send_batch(message_ids=[sms.pk])
    [request] = twilio.sms()
    assert request["StatusCallback"] == f"{live_server.url}/callbacks/sms/status?messageId={sms.pk}"

    wait_until(lambda: twilio.callbacks, 10, message="the fake posted its status callback")
    assert twilio.callbacks[0].status == 200
    sms.refresh_from_db()
    assert sms.status == MessageStatus.DELIVERED
    assert sms.receipt_at is not None and sms.finished_at == sms.receipt_at
    assert sms.sent_at <= sms.receipt_at


@pytest.mark.django_db(transaction=True)
def test_an_unknown_handset_is_undelivered_marked_and_falls_back(live_server, settings, twilio, smtp, partner, card,
                                                                  holder, product, sample_templates):
    settings.PUBLIC_BASE_URL = live_server.url
    product.channel_fallback_order = ["SMS", "EMAIL"]
    product.save()
    holder.phone = "+99912345678"  # the fake's receipt: undelivered, 30005 unknown destination handset
    holder.save()
    sms = _plan(partner, card)["SMS"]
    message_send_batch(message_ids=[sms.pk])

    wait_until(lambda: CustomerMessage.objects.filter(fallback_of=sms).exists(), 10,
               message="the undelivered SMS falls back to email")
    sms.refresh_from_db()
    assert (sms.status, sms.provider_error_code) == (MessageStatus.UNDELIVERED, "30005")
    holder.refresh_from_db()
    assert holder.invalid_destinations["SMS"]["errorCode"] == "30005"
    backup = CustomerMessage.objects.get(fallback_of=sms)
    assert (backup.channel, backup.status) == ("EMAIL", MessageStatus.PENDING)

    # The next notice skips the dead number and goes straight down the fallback order.
    rows = _plan(partner, card)
    assert (rows["SMS"].status, rows["SMS"].skip_reason) == ("SKIPPED", "destination_invalid")
    assert rows["EMAIL"].status == "PENDING"


@pytest.mark.django_db(transaction=True)
def test_a_switched_off_handset_is_undelivered_but_not_marked(live_server, settings, twilio, partner, card, holder,
                                                              sample_templates):
    settings.PUBLIC_BASE_URL = live_server.url
    holder.phone = "+99812345678"  # 30003: the handset may come back
    holder.save()
    sms = _plan(partner, card)["SMS"]
    message_send_batch(message_ids=[sms.pk])
    wait_until(lambda: twilio.callbacks, 10, message="the fake posted its status callback")
    sms.refresh_from_db()
    assert (sms.status, sms.provider_error_code) == (MessageStatus.UNDELIVERED, "30003")
    holder.refresh_from_db()
    assert holder.invalid_destinations == {}


def _callback(client: Client, settings, message_id, params: dict, *, signature: str | None = None, token=None):
    path = f"{reverse('sms-status-callback')}?messageId={message_id}"
    url = f"{settings.PUBLIC_BASE_URL}{path}"
    if signature is None:
        signature = twilio_signature(token or settings.SMS_AUTH_TOKEN, url, params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.fixture
def sent_sms(db, settings, twilio, partner, card, sample_templates):
    settings.PUBLIC_BASE_URL = "https://notify.example.com"  # nothing listens: the test posts the callbacks itself
    sms = _plan(partner, card)["SMS"]
    message_send_batch(message_ids=[sms.pk])
    sms.refresh_from_db()
    assert sms.status == MessageStatus.SENT
    return sms


def _params(sms, status="delivered", **extra) -> dict[str, str]:
    return {"MessageSid": sms.provider_message_id, "SmsSid": sms.provider_message_id, "MessageStatus": status,
            "AccountSid": "AC00000000000000000000000000000001", "To": sms.recipient, **extra}


@pytest.mark.parametrize("tamper", ["wrong token", "changed status", "no signature", "other url"])
def test_a_bad_signature_is_403_and_changes_nothing(client, settings, sent_sms, tamper):
    params = _params(sent_sms)
    if tamper == "wrong token":
        response = _callback(client, settings, sent_sms.pk, params, token="not-the-auth-token")
    elif tamper == "changed status":
        signature = twilio_signature(settings.SMS_AUTH_TOKEN,
                                     f"{settings.PUBLIC_BASE_URL}/callbacks/sms/status?messageId={sent_sms.pk}",
                                     params)
        response = _callback(client, settings, sent_sms.pk, {**params, "MessageStatus": "undelivered"},
                             signature=signature)
    elif tamper == "no signature":
        response = _callback(client, settings, sent_sms.pk, params, signature="")
    else:  # signed for another message's URL
        signature = twilio_signature(settings.SMS_AUTH_TOKEN,
                                     f"{settings.PUBLIC_BASE_URL}/callbacks/sms/status?messageId=999", params)
        response = _callback(client, settings, sent_sms.pk, params, signature=signature)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
    sent_sms.refresh_from_db()
    assert (sent_sms.status, sent_sms.receipt_status, sent_sms.receipt_at) == (MessageStatus.SENT, "", None)


def test_a_good_callback_is_applied_once(client, settings, sent_sms):
    response = _callback(client, settings, sent_sms.pk, _params(sent_sms, "undelivered", ErrorCode="30007"))
    assert (response.status_code, response.json()) == (200, {"result": "applied"})
    sent_sms.refresh_from_db()
    assert (sent_sms.status, sent_sms.provider_error_code) == (MessageStatus.UNDELIVERED, "30007")
    first_at = sent_sms.receipt_at
    # A repeated or contradicting receipt afterwards changes nothing: the first final word stands.
    response = _callback(client, settings, sent_sms.pk, _params(sent_sms, "delivered"))
    assert response.json() == {"result": "ignored"}
    sent_sms.refresh_from_db()
    assert (sent_sms.status, sent_sms.receipt_at) == (MessageStatus.UNDELIVERED, first_at)


def test_intermediate_statuses_change_nothing(client, settings, sent_sms):
    for status in ("queued", "sending", "sent"):
        assert _callback(client, settings, sent_sms.pk, _params(sent_sms, status)).json() == {"result": "ignored"}
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.SENT


def test_callbacks_that_name_no_message_are_clear_errors(client, settings, sent_sms):
    response = _callback(client, settings, "abc", _params(sent_sms))
    assert response.status_code == 400
    assert "messageId" in response.json()["error"]["message"]
    response = _callback(client, settings, sent_sms.pk + 10_000, _params(sent_sms))
    assert response.status_code == 404
    response = _callback(client, settings, sent_sms.pk, {**_params(sent_sms), "MessageSid": "SMother",
                                                         "SmsSid": "SMother"})
    assert response.status_code == 404  # sent under another provider id
    assert client.get(f"{reverse('sms-status-callback')}?messageId={sent_sms.pk}").status_code == 405


def test_a_receipt_that_overtakes_the_send_record_is_applied_by_it(db, twilio, partner, card, holder, product,
                                                                    sample_templates):
    """The callback can arrive before the worker wrote SENT: it is kept, and the worker's write takes it (and, for an
    undelivered one, draws the consequences: here the fallback)."""
    product.channel_fallback_order = ["SMS", "EMAIL"]
    product.save()
    sms = _plan(partner, card)["SMS"]
    CustomerMessage.objects.filter(pk=sms.pk).update(status=MessageStatus.SENDING)
    assert message_receipt_record(message_id=sms.pk, provider_message_id="SMabc", status="UNDELIVERED",
                                  error_code="30005") is ReceiptOutcome.KEPT
    sms.refresh_from_db()
    assert (sms.status, sms.receipt_status) == (MessageStatus.SENDING, MessageStatus.UNDELIVERED)

    CustomerMessage.objects.filter(pk=sms.pk).update(status=MessageStatus.PENDING)
    requeue = message_send_batch(message_ids=[sms.pk])
    sms.refresh_from_db()
    assert sms.status == MessageStatus.UNDELIVERED
    assert sms.finished_at == sms.receipt_at
    backup = CustomerMessage.objects.get(fallback_of=sms)
    assert requeue == {backup.pk: 0.0}
    holder.refresh_from_db()
    assert "SMS" in holder.invalid_destinations


def test_the_event_log_shows_the_final_state_and_its_time(client, settings, sent_sms, api_client):
    _callback(client, settings, sent_sms.pk, _params(sent_sms))
    body = api_client.get(f"/prepaid/auth/v1/events/{sent_sms.event.event_id}").json()
    [logged] = [m for m in body["messages"] if m["id"] == sent_sms.pk]
    sent_sms.refresh_from_db()
    assert logged["status"] == "DELIVERED"
    assert logged["receiptAt"] and logged["finishedAt"] == logged["receiptAt"]
    assert logged["providerErrorCode"] == ""
