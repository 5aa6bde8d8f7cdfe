"""Push through the FCM HTTP v1 API.

POST {PUSH_API_BASE_URL}/v1/projects/{project}/messages:send with `Authorization: Bearer {access token}` (minted
from the service account by `fcm_auth`, or PUSH_ACCESS_TOKEN) and `{"message": {"token", "notification": {"title",
"body"}, "data": {…}}}`; a 200 answer carries the message `name`. Errors are Google API errors whose details name an
FCM error code. A 401 is answered once with a freshly minted token. Every string of the payload (token, title,
body, each data value) is checked for card numbers before it is sent (the bearer token is our credential, not
message data)."""


import requests
from django.conf import settings

from notifications.messaging.channels import fcm_auth
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


def _about_the_token(payload: object) -> bool:
    """Whether an INVALID_ARGUMENT names the registration token (a bad token) rather than another part of our
    request: a bug in our payload must not mark every cardholder's token dead."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return False
    for detail in error.get("details") or []:
        for violation in (detail.get("fieldViolations") or []) if isinstance(detail, dict) else []:
            if isinstance(violation, dict) and "token" in str(violation.get("field", "")).lower():
                return True
    return "token" in str(error.get("message", "")).lower()


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
    def _fields(payload: dict) -> dict[str, str]:
        """Every string of the JSON payload by its dotted path (`data.eventId`)."""
        fields: dict[str, str] = {}
        stack: list[tuple[str, object]] = [("", payload["message"])]
        while stack:
            path, value = stack.pop()
            if isinstance(value, dict):
                stack.extend((f"{path}.{key}" if path else key, item) for key, item in value.items())
            else:
                fields[path] = str(value)
        return fields

    @classmethod
    def outgoing_fields(cls, message: CustomerMessage) -> dict[str, str]:
        return cls._fields(cls._payload(message))

    def send(self, message: CustomerMessage) -> SendResult:
        url = f"{settings.PUSH_API_BASE_URL.rstrip('/')}/v1/projects/{fcm_auth.fcm_project_id()}/messages:send"
        body = self._payload(message)
        refuse_card_numbers(self._fields(body))
        try:
            return self._post(url, json=body, headers={"Authorization": f"Bearer {self._token()}"})
        except TransportError as exc:
            if exc.error_code != "UNAUTHENTICATED" or not fcm_auth.fcm_minted():
                raise
        # FCM refused our token (revoked, or expired early): one more try with a fresh one.
        return self._post(url, json=body, headers={"Authorization": f"Bearer {self._token(force_refresh=True)}"})

    def _token(self, *, force_refresh: bool = False) -> str:
        try:
            return fcm_auth.fcm_access_token(session=self.session, force_refresh=force_refresh)
        except fcm_auth.TOKEN_ERRORS as exc:
            # Our credentials, not this message: retried, and ops see why.
            raise TransportError(f"Push access token not available: {excerpt(str(exc))}", permanent=False) from exc

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
        if status == 401:
            code = "UNAUTHENTICATED"  # whatever the details say: our token, which a fresh one may fix
        if code in PERMANENT_FCM_CODES or (status == 400 and not code):
            # The device token is dead (UNREGISTERED), or malformed (INVALID_ARGUMENT about the token).
            dead = code == "UNREGISTERED" or (code == "INVALID_ARGUMENT" and _about_the_token(payload))
            return TransportError(summary, permanent=True, error_code=code, invalid_destination=dead)
        # 429 QUOTA_EXCEEDED, 500 INTERNAL, 503 UNAVAILABLE, and 401/403/404 (our credentials or project id,
        # which ops can fix) are retried.
        return TransportError(summary, permanent=False, error_code=code,
                              retry_after=parse_retry_after(response.headers.get("Retry-After")))
