"""SMS through a Twilio-compatible HTTP API.

POST {SMS_API_BASE_URL}/2010-04-01/Accounts/{SMS_ACCOUNT_SID}/Messages.json with form fields To, From, Body (and
StatusCallback, when PUBLIC_BASE_URL is set) and HTTP basic auth (SID, auth token); a 201 answer carries the message
`sid`. Errors are JSON `{"code": 21211, "message": …, "status": 400}`. The body is checked for card numbers
before it is posted (To and From are phone numbers: see ChannelAdapter.outgoing_fields).

Receipts: Twilio POSTs the message's status to the StatusCallback URL, signed with the account's auth token
(X-Twilio-Signature: base64 HMAC-SHA1 of the full URL followed by the sorted POST parameters, names and values
concatenated). `status_callback_verified` checks it with the official library's RequestValidator;
`receipt_of_callback` reads the parameters."""

from dataclasses import dataclass

import requests
from django.conf import settings
from django.urls import reverse
from twilio.request_validator import RequestValidator

from notifications.messaging.channels.base import (
    HttpChannelAdapter,
    SendResult,
    TransportError,
    excerpt,
    refuse_card_numbers,
)
from notifications.models import CustomerMessage, MessageStatus
from notifications.retry import parse_retry_after

# Twilio error codes that are about the recipient or the content: retrying cannot help.
# 21211 invalid To, 21214 To cannot be reached, 21265 To is a short code, 21408 region not enabled,
# 21610 recipient replied STOP, 21612 To not reachable via this From, 21614 To is not a mobile number,
# 21617 body too long.
PERMANENT_TWILIO_CODES = frozenset({21211, 21214, 21265, 21408, 21610, 21612, 21614, 21617})
# Of those, the ones that say the number itself is dead (invalid, not a mobile number): marked on the cardholder.
DEAD_NUMBER_API_CODES = frozenset({21211, 21614})
# Delivery receipts (ErrorCode of an undelivered message) that say the same: 30005 unknown destination handset (the
# number does not exist), 30006 landline or unreachable carrier. 30003 (handset switched off) is not: it may come back.
DEAD_NUMBER_RECEIPT_CODES = frozenset({"30005", "30006"})
# MessageStatus values of a status callback that are final; queued / sending / sent are steps on the way.
_FINAL_TWILIO_STATUSES = {"delivered": MessageStatus.DELIVERED, "undelivered": MessageStatus.UNDELIVERED,
                          "failed": MessageStatus.UNDELIVERED}


def status_callback_url(message: CustomerMessage) -> str:
    """Where Twilio reports this message's status ("" without PUBLIC_BASE_URL: no receipts asked for). The message id
    is in the URL, so a receipt that overtakes the worker's own record of the send still finds its row."""
    if not settings.PUBLIC_BASE_URL or not message.pk:
        return ""
    return f"{settings.PUBLIC_BASE_URL}{reverse('sms-status-callback')}?messageId={message.pk}"


def status_callback_verified(*, url: str, params, signature: str) -> bool:
    """Whether X-Twilio-Signature `signature` is the account's signature of `url` and the POST `params`."""
    if not signature or not settings.SMS_AUTH_TOKEN:
        return False
    return RequestValidator(settings.SMS_AUTH_TOKEN).validate(url, params, signature)


@dataclass(frozen=True)
class SmsReceipt:
    provider_message_id: str
    status: str  # "" for a status on the way (queued, sent …), else DELIVERED / UNDELIVERED
    error_code: str
    dead_number: bool


def receipt_of_callback(params) -> SmsReceipt:
    """The receipt in a status callback's parameters (MessageSid, MessageStatus, ErrorCode)."""
    error_code = str(params.get("ErrorCode") or "").strip()[:40]
    return SmsReceipt(
        provider_message_id=str(params.get("MessageSid") or params.get("SmsSid") or "").strip(),
        status=_FINAL_TWILIO_STATUSES.get(str(params.get("MessageStatus") or "").strip().lower(), ""),
        error_code=error_code,
        dead_number=error_code in DEAD_NUMBER_RECEIPT_CODES,
    )


class TwilioSmsChannel(HttpChannelAdapter):
    name = "SMS"
    provider = "SMS provider"
    id_field = "sid"

    @classmethod
    def outgoing_fields(cls, message: CustomerMessage) -> dict[str, str]:
        return {"Body": message.body}  # To and From are phone numbers (ChannelAdapter.outgoing_fields)

    def send(self, message: CustomerMessage) -> SendResult:
        sid = settings.SMS_ACCOUNT_SID
        form = {"To": message.recipient, "From": settings.SMS_FROM_NUMBER, "Body": message.body}
        refuse_card_numbers({"Body": form["Body"]})
        callback = status_callback_url(message)
        if callback:
            form["StatusCallback"] = callback
        return self._post(
            f"{settings.SMS_API_BASE_URL.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json",
            data=form,
            auth=(sid, settings.SMS_AUTH_TOKEN),
        )

    @staticmethod
    def _error(response: requests.Response) -> TransportError:
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        code = payload.get("code") if isinstance(payload, dict) else None
        text = excerpt(payload.get("message", "") if isinstance(payload, dict) else "") or excerpt(response.text)
        status = response.status_code
        summary = f"SMS provider answered {status}" + (f" (code {code})" if code else "")
        summary += f": {text}" if text else ""
        error_code = str(code) if code else ""
        if status == 429 or status >= 500:
            return TransportError(summary, permanent=False, error_code=error_code,
                                  retry_after=parse_retry_after(response.headers.get("Retry-After")))
        # 400/422 and the recipient codes are about this message; 401/403/404 mean our account settings are
        # wrong, which ops can fix, so those are retried on the schedule.
        permanent = code in PERMANENT_TWILIO_CODES or status in (400, 422)
        return TransportError(summary, permanent=permanent, error_code=error_code,
                              invalid_destination=code in DEAD_NUMBER_API_CODES)
