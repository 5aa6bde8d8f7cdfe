"""Dead destinations: an unregistered push token, a hard SMTP bounce and a number the provider calls invalid are
marked on the cardholder, not tried again, and the fallback order moves on; the partner sees and clears the mark."""

from notifications.messaging.routing import plan_customer_messages
from notifications.messaging.sending import message_send_batch
from notifications.models import CustomerMessage, MessageStatus
from subscriptions.models import AuditEntry
from tests.notifications.messaging.fakes import Scripted
from tests.templates_app.factories import make_event
from wallets.services.preferences import cardholder_destination_invalidate

TXN = {"amount": "125.50", "currency": "INR", "merchantName": "Chai Point", "balance": "874.50"}


def _plan(partner, card, event_name="CARD_TRANSACTION_APPROVED") -> dict[str, CustomerMessage]:
    rows = plan_customer_messages([make_event(partner, event_name, kitNo=card.kit_no, **TXN)])
    CustomerMessage.objects.bulk_create(rows)
    return {r.channel: r for r in rows}


def test_an_unregistered_token_is_marked_and_the_next_notice_goes_to_the_fallback(partner, card, holder, product,
                                                                                   providers):
    _, twilio, fcm = providers
    product.channel_fallback_order = ["PUSH", "SMS", "EMAIL"]
    product.save()
    holder.push_token = "unregistered-device"
    holder.save()
    push = _plan(partner, card)["PUSH"]
    requeue = message_send_batch(message_ids=[push.pk])
    push.refresh_from_db()
    assert (push.status, push.provider_error_code) == (MessageStatus.FAILED, "UNREGISTERED")
    holder.refresh_from_db()
    mark = holder.invalid_destinations["PUSH"]
    assert mark["errorCode"] == "UNREGISTERED" and "UNREGISTERED" in mark["reason"] and mark["markedAt"]
    assert AuditEntry.objects.filter(action="cardholder.destination_invalidated").count() == 1
    message_send_batch(message_ids=list(requeue))  # this notice's fallback: SMS

    # The next notice: PUSH is not tried, SMS is the first channel.
    rows = _plan(partner, card)
    assert (rows["PUSH"].status, rows["PUSH"].skip_reason) == ("SKIPPED", "destination_invalid")
    assert rows["SMS"].status == "PENDING"
    message_send_batch(message_ids=[rows["SMS"].pk])
    assert len(fcm.requests) == 1  # only the first notice reached FCM
    assert len(twilio.requests) == 2


def test_a_550_marks_the_address(partner, card, holder, providers):
    smtp, _, _ = providers
    smtp.refuse[holder.email] = "550 5.1.1 <asha@example.com>: Recipient address rejected: User unknown"
    email = _plan(partner, card)["EMAIL"]
    message_send_batch(message_ids=[email.pk])
    email.refresh_from_db()
    assert (email.status, email.provider_error_code) == (MessageStatus.FAILED, "550")
    holder.refresh_from_db()
    assert holder.invalid_destinations["EMAIL"]["errorCode"] == "550"
    assert _plan(partner, card)["EMAIL"].skip_reason == "destination_invalid"


def test_a_temporary_refusal_marks_nothing(partner, card, holder, providers):
    smtp, _, _ = providers
    smtp.refuse[holder.email] = "452 4.2.2 Mailbox full"
    email = _plan(partner, card)["EMAIL"]
    message_send_batch(message_ids=[email.pk])
    email.refresh_from_db()
    assert (email.status, email.provider_error_code) == (MessageStatus.PENDING, "452")
    holder.refresh_from_db()
    assert holder.invalid_destinations == {}


def test_an_invalid_number_is_marked(partner, card, holder, providers):
    holder.phone = "+0001234"  # the fake answers 21211
    holder.save()
    sms = _plan(partner, card)["SMS"]
    message_send_batch(message_ids=[sms.pk])
    holder.refresh_from_db()
    assert holder.invalid_destinations["SMS"]["errorCode"] == "21211"


def test_an_invalid_argument_about_our_payload_is_not_a_dead_token(partner, card, holder, providers):
    _, _, fcm = providers
    fcm.script.append(Scripted(400, {"error": {
        "code": 400, "message": "Invalid value at 'message.data[0].value'", "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                     "fieldViolations": [{"field": "message.data[0].value", "description": "Invalid value"}]}]}}))
    push = _plan(partner, card)["PUSH"]
    message_send_batch(message_ids=[push.pk])
    push.refresh_from_db()
    assert (push.status, push.provider_error_code) == (MessageStatus.FAILED, "INVALID_ARGUMENT")
    holder.refresh_from_db()
    assert holder.invalid_destinations == {}


def test_an_invalid_argument_about_the_token_is_a_dead_token(partner, card, holder, providers):
    holder.push_token = "malformed-token"  # the fake: INVALID_ARGUMENT "The registration token is not valid"
    holder.save()
    _, _, fcm = providers
    fcm.script.append(Scripted(400, {"error": {
        "code": 400, "message": "The registration token is not a valid FCM registration token",
        "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "INVALID_ARGUMENT"}],
    }}))
    push = _plan(partner, card)["PUSH"]
    message_send_batch(message_ids=[push.pk])
    holder.refresh_from_db()
    assert holder.invalid_destinations["PUSH"]["errorCode"] == "INVALID_ARGUMENT"


def test_a_destination_changed_meanwhile_is_not_marked(holder):
    assert not cardholder_destination_invalidate(cardholder_id=holder.pk, channel="PUSH", recipient="old-token",
                                                 reason="UNREGISTERED", error_code="UNREGISTERED")
    holder.refresh_from_db()
    assert holder.invalid_destinations == {}


def test_the_partner_sees_and_clears_the_mark(partner, holder, api_client):
    cardholder_destination_invalidate(cardholder_id=holder.pk, channel="PUSH", recipient=holder.push_token,
                                      reason="Push provider answered 404 UNREGISTERED", error_code="UNREGISTERED")
    url = f"/prepaid/auth/v1/cardholders/{holder.external_id}"
    mark = api_client.get(url).json()["invalidDestinations"]["PUSH"]
    assert mark["errorCode"] == "UNREGISTERED" and mark["markedAt"]

    response = api_client.delete(f"{url}/invalid-destinations/PUSH")
    assert response.status_code == 204
    assert api_client.get(url).json()["invalidDestinations"] == {}
    assert AuditEntry.objects.filter(action="cardholder.destination_cleared", partner=partner).exists()
    # Nothing to clear, or no such channel: clear 404s in the error shape.
    again = api_client.delete(f"{url}/invalid-destinations/PUSH")
    assert again.status_code == 404 and "no invalid mark" in again.json()["error"]["message"]
    unknown = api_client.delete(f"{url}/invalid-destinations/FAX")
    assert unknown.status_code == 404 and "No channel" in unknown.json()["error"]["message"]


def test_a_new_token_clears_the_mark(holder, api_client):
    cardholder_destination_invalidate(cardholder_id=holder.pk, channel="PUSH", recipient=holder.push_token,
                                      reason="gone", error_code="UNREGISTERED")
    cardholder_destination_invalidate(cardholder_id=holder.pk, channel="SMS", recipient=holder.phone,
                                      reason="gone", error_code="30005")
    response = api_client.patch(f"/prepaid/auth/v1/cardholders/{holder.external_id}",
                                {"pushToken": "fresh-token"}, format="json")
    assert response.status_code == 200
    assert list(response.json()["invalidDestinations"]) == ["SMS"]  # only the changed destination
