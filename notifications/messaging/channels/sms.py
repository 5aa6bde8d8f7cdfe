"""SMS through a Twilio-compatible HTTP API.

POST {SMS_API_BASE_URL}/2010-04-01/Accounts/{SMS_ACCOUNT_SID}/Messages.json with form fields To, From, Body and
HTTP basic auth (SID, auth token); a 201 answer carries the message `sid`. Errors are JSON
`{"code": 21211, "message": …, "status": 400}`. The body is checked for card numbers before it is posted (To and From
are phone numbers: see ChannelAdapter.outgoing_fields)."""


import requests
from django.conf import settings

from notifications.messaging.channels.base import (
    HttpChannelAdapter,
    SendResult,
    TransportError,
    excerpt,
    refuse_card_numbers,
)
from notifications.models import CustomerMessage
from notifications.retry import parse_retry_after

# Twilio error codes that are about the recipient or the content: retrying cannot help.
# 21211 invalid To, 21214 To cannot be reached, 21265 To is a short code, 21408 region not enabled,
# 21610 recipient replied STOP, 21612 To not reachable via this From, 21614 To is not a mobile number,
# 21617 body too long.
PERMANENT_TWILIO_CODES = frozenset({21211, 21214, 21265, 21408, 21610, 21612, 21614, 21617})


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
        if status == 429 or status >= 500:
            return TransportError(summary, permanent=False,
                                  retry_after=parse_retry_after(response.headers.get("Retry-After")))
        # 400/422 and the recipient codes are about this message; 401/403/404 mean our account settings are
        # wrong, which ops can fix, so those are retried on the schedule.
        permanent = code in PERMANENT_TWILIO_CODES or status in (400, 422)
        return TransportError(summary, permanent=permanent)
