"""Access tokens for the FCM HTTP v1 API, minted from a service account with google-auth.

FCM wants an OAuth2 access token (scope firebase.messaging) that lives an hour. google-auth signs a JWT with the
service account's private key and trades it at the account's `token_uri` (Google's OAuth2 JWT-bearer grant); the
credentials are kept per process and refreshed when fewer than a few minutes are left (google-auth's threshold), or
at once when FCM answers 401. One lock: a refresh is done once for all the worker's threads.

The service account comes from PUSH_SERVICE_ACCOUNT_JSON (the JSON itself, a secret) or PUSH_SERVICE_ACCOUNT_FILE (a
path); without either, PUSH_ACCESS_TOKEN is used as it is (a ready token, for tests and for deployments whose
sidecar refreshes it)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import google.auth.exceptions
import google.auth.transport.requests
import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from google.oauth2 import service_account

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# google-auth's errors when a token cannot be had: the endpoint refused, or could not be reached.
TOKEN_ERRORS = (google.auth.exceptions.RefreshError, google.auth.exceptions.TransportError)

_lock = threading.Lock()
_credentials: dict[str, service_account.Credentials] = {}


class _TimedRequest(google.auth.transport.requests.Request):
    """google-auth's requests transport with the channel timeouts (its own default waits two minutes)."""

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        timeout = (settings.CUSTOMER_CHANNEL_CONNECT_TIMEOUT_SECONDS, settings.CUSTOMER_CHANNEL_READ_TIMEOUT_SECONDS)
        return super().__call__(url, method=method, body=body, headers=headers, timeout=timeout, **kwargs)


def _source() -> str:
    return settings.PUSH_SERVICE_ACCOUNT_JSON or settings.PUSH_SERVICE_ACCOUNT_FILE


def _service_account_info() -> dict | None:
    if settings.PUSH_SERVICE_ACCOUNT_JSON:
        text = settings.PUSH_SERVICE_ACCOUNT_JSON
    elif settings.PUSH_SERVICE_ACCOUNT_FILE:
        try:
            text = Path(settings.PUSH_SERVICE_ACCOUNT_FILE).read_text()
        except OSError as exc:
            raise ImproperlyConfigured(f"PUSH_SERVICE_ACCOUNT_FILE cannot be read: {exc.strerror}") from None
    else:
        return None
    try:
        info = json.loads(text)
    except ValueError:
        raise ImproperlyConfigured("The push service account is not JSON") from None
    if not isinstance(info, dict):
        raise ImproperlyConfigured("The push service account is not a JSON object")
    return info


def _credentials_for(source: str) -> service_account.Credentials:
    credentials = _credentials.get(source)
    if credentials is None:
        try:
            credentials = service_account.Credentials.from_service_account_info(
                _service_account_info(), scopes=[FCM_SCOPE]
            )
        except (ValueError, KeyError) as exc:  # a field missing, or a key that is not a private key
            raise ImproperlyConfigured(f"The push service account is not usable: {exc}") from None
        _credentials.clear()  # settings changed (a test, a reload): the old account's token is of no use
        _credentials[source] = credentials
    return credentials


def fcm_minted() -> bool:
    """Whether tokens are minted here (a service account), so a refused one can be replaced."""
    return bool(_source())


def fcm_project_id() -> str:
    """PUSH_PROJECT_ID, else the service account's project."""
    if settings.PUSH_PROJECT_ID:
        return settings.PUSH_PROJECT_ID
    info = _service_account_info() if _source() else None
    return str((info or {}).get("project_id", ""))


def fcm_access_token(*, session: requests.Session | None = None, force_refresh: bool = False) -> str:
    """A valid access token: the ready PUSH_ACCESS_TOKEN, or one minted from the service account (refreshed when it
    is about to expire, or when `force_refresh`: FCM refused the last one). Raises one of TOKEN_ERRORS when the
    token endpoint refuses or cannot be reached, ImproperlyConfigured for an unusable service account."""
    source = _source()
    if not source:
        return settings.PUSH_ACCESS_TOKEN
    with _lock:
        credentials = _credentials_for(source)
        if force_refresh or not credentials.valid:
            credentials.refresh(_TimedRequest(session or requests.Session()))
        return credentials.token
