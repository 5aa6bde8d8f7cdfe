"""Push through the FCM HTTP v1 API.

POST {PUSH_API_BASE_URL}/v1/projects/{PUSH_PROJECT_ID}/messages:send with `Authorization: Bearer
{PUSH_ACCESS_TOKEN}` and `{"message": {"token", "notification": {"title", "body"}, "data": {…}}}`; a 200 answer
carries the message `name`. Errors are Google API errors whose details name an FCM error code. Every string of the
payload (token, title, body, each data value) and each header is checked for card numbers before it is sent."""


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

# The device token is gone or the request is malformed: sending again cannot help.
PERMANENT_FCM_CODES = frozenset({"UNREGISTERED", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH"})


def _fcm_error_code(payload: object) -> str:
    """The FcmError errorCode from the details when present (more precise), else the API status."""
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
        return ""
    error = payload["error"]
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return str(error.get("status", ""))


class FcmPushChannel(HttpChannelAdapter):
    name = "PUSH"
    provider = "Push provider"
    id_field = "name"

    @staticmethod
    def _payload(message: CustomerMessage) -> dict:
        return {
            "message": {
                "token": message.recipient,
                "notification": {"title": message.subject, "body": message.body},
                # FCM data values must be strings.
                "data": {
                    "messageId": str(message.pk or ""),
                    "eventId": str(message.event.event_id) if message.event_id else "",
                    "eventName": message.event.event_name if message.event_id else "",
                },
            }
        }

    @staticmethod
    def _headers() -> dict[str, str]:
        return {"Authorization": f"Bearer {settings.PUSH_ACCESS_TOKEN}"}

    @staticmethod
    def _fields(payload: dict, headers: dict[str, str]) -> dict[str, str]:
        """Every string of the JSON payload by its dotted path (`data.eventId`), and the headers."""
        fields: dict[str, str] = {}
        stack: list[tuple[str, object]] = [("", payload["message"])]
        while stack:
            path, value = stack.pop()
            if isinstance(value, dict):
                stack.extend((f"{path}.{key}" if path else key, item) for key, item in value.items())
            else:
                fields[path] = str(value)
        return fields | {f"header {name}": value for name, value in headers.items()}

    @classmethod
    def outgoing_fields(cls, message: CustomerMessage) -> dict[str, str]:
        return cls._fields(cls._payload(message), cls._headers())

    def send(self, message: CustomerMessage) -> SendResult:
        url = f"{settings.PUSH_API_BASE_URL.rstrip('/')}/v1/projects/{settings.PUSH_PROJECT_ID}/messages:send"
        body, headers = self._payload(message), self._headers()
        refuse_card_numbers(self._fields(body, headers))
        return self._post(url, json=body, headers=headers)

    @staticmethod
    def _error(response: requests.Response) -> TransportError:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        code = _fcm_error_code(payload)
        message = payload["error"].get("message", "") if code and isinstance(payload, dict) else response.text
        status = response.status_code
        summary = f"Push provider answered {status}" + (f" {code}" if code else "") + f": {excerpt(str(message))}"
        if code in PERMANENT_FCM_CODES or (status == 400 and not code):
            return TransportError(summary, permanent=True)
        # 429 QUOTA_EXCEEDED, 500 INTERNAL, 503 UNAVAILABLE, and 401/403/404 (our credentials or project id,
        # which ops can fix) are retried.
        return TransportError(summary, permanent=False,
                              retry_after=parse_retry_after(response.headers.get("Retry-After")))
