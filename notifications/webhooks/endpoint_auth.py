"""How the sender authenticates to an endpoint besides the signature (a subscription's `auth`): the credentials of a
request, the TLS client certificate of mTLS, and OAuth2 client-credentials tokens.

- HTTP Basic: an `Authorization: Basic` header, built when the batch is signed.
- mTLS: one SSL context per certificate (with the system's trusted CAs), presented on the TLS handshake; aiohttp
  keeps separate pooled connections per context.
- OAuth2 client credentials: Authlib builds the token request (grant, scope, client authentication) and reads the
  answer (errors, expiry); the request itself goes through the sender's guarded egress (`post`), so the token URL
  obeys the same SSRF rules as destinations. A token is kept per process until WEBHOOK_OAUTH_TOKEN_LEEWAY_SECONDS
  before it expires, fetched once however many requests wait for it, and fetched again once when the endpoint
  answers 401. A failing token endpoint fails the attempt with a clear error (retried on the schedule), and is not
  asked again for TOKEN_FAILURE_BACKOFF_SECONDS, so one batch does not hammer it.

Secrets stay in memory: they are never logged, and errors quote only the token URL and the HTTP status."""

import asyncio
import base64
import hashlib
import json
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.client import OAuth2Client
from django.conf import settings

from subscriptions.models import EndpointAuthType, EventSubscription

TOKEN_FAILURE_BACKOFF_SECONDS = 5.0
# A token without `expires_in` is still fetched again this often (or at the first 401).
TOKEN_MAX_AGE_SECONDS = 3600


class TokenEndpointError(Exception):
    """The OAuth2 token endpoint could not give a token; the message is safe to record."""


@dataclass(frozen=True)
class OAuthClientCredentials:
    token_url: str
    client_id: str
    client_secret: str
    scope: str = ""

    @property
    def cache_key(self) -> str:
        # The secret takes part (a changed secret is a new client) only as a digest.
        raw = "\x00".join((self.token_url, self.client_id, self.scope, self.client_secret))
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class ClientCertificate:
    certificate: str
    private_key: str


@dataclass(frozen=True)
class RequestCredentials:
    """What a request to one endpoint carries besides the signature."""

    headers: dict[str, str]
    oauth: OAuthClientCredentials | None = None
    client_certificate: ClientCertificate | None = None


NO_CREDENTIALS = RequestCredentials(headers={})


def request_credentials(subscription: EventSubscription) -> RequestCredentials:
    """The subscription's custom headers and `auth`, as the sender needs them."""
    headers = dict(subscription.headers or {})
    if not subscription.auth_type:
        return RequestCredentials(headers=headers) if headers else NO_CREDENTIALS
    config, secret = subscription.auth_config or {}, subscription.auth_secret
    if subscription.auth_type == EndpointAuthType.BASIC:
        pair = f"{config['username']}:{secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return RequestCredentials(headers=headers)
    if subscription.auth_type == EndpointAuthType.OAUTH2:
        return RequestCredentials(headers=headers, oauth=OAuthClientCredentials(
            config["tokenUrl"], config["clientId"], secret, config.get("scope", "")))
    return RequestCredentials(headers=headers, client_certificate=ClientCertificate(config["certificate"], secret))


_contexts: dict[str, ssl.SSLContext] = {}


def client_ssl_context(certificate: ClientCertificate) -> ssl.SSLContext:
    """A verifying client context that presents `certificate`, one per certificate and key in this process."""
    key = hashlib.sha256(f"{certificate.certificate}\x00{certificate.private_key}".encode()).hexdigest()
    context = _contexts.get(key)
    if context is None:
        context = ssl.create_default_context()
        # OpenSSL loads a certificate chain only from files: written to a private directory and removed at once.
        with tempfile.TemporaryDirectory(prefix="mtls-") as directory:
            cert_path, key_path = Path(directory, "cert.pem"), Path(directory, "key.pem")
            cert_path.write_text(certificate.certificate)
            key_path.touch(mode=0o600)
            key_path.write_text(certificate.private_key)
            context.load_cert_chain(cert_path, key_path)
        if len(_contexts) >= 1000:
            _contexts.clear()
        _contexts[key] = context
    return context


# --- OAuth2 client credentials --------------------------------------------------------------------------------------

# post(url, headers, body) -> (status, body bytes, response headers): the sender's guarded egress.
Post = Callable[[str, dict[str, str], bytes], Awaitable[tuple[int, bytes, Mapping[str, str]]]]


@dataclass
class _TokenResponse:
    """The little of a response Authlib's token parsing reads."""

    status_code: int
    body: bytes
    url: str

    def json(self):
        return json.loads(self.body)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise TokenEndpointError(f"The token endpoint {self.url} answered HTTP {self.status_code}.")


class _AiohttpOAuth2Client(OAuth2Client):
    """Authlib's OAuth2 client with the request sent through the sender's `post` (Authlib ships requests and httpx
    transports; neither would go through the SSRF-guarded resolver)."""

    def __init__(self, credentials: OAuthClientCredentials, post: Post):
        super().__init__(session=None, client_id=credentials.client_id, client_secret=credentials.client_secret,
                         scope=credentials.scope or None, token_endpoint=credentials.token_url,
                         leeway=settings.WEBHOOK_OAUTH_TOKEN_LEEWAY_SECONDS)
        self._post = post

    async def _fetch_token(self, url, body="", headers=None, auth=None, method="POST", **kwargs):
        url, headers, body = auth.prepare("POST", url, dict(headers or {}), body)
        status, content, _ = await self._post(url, headers, body.encode() if isinstance(body, str) else body)
        return self.parse_response_token(_TokenResponse(status, content, url))


@dataclass
class _Cached:
    token: str = ""
    expires_at: float = 0.0  # monotonic seconds after which a new token is fetched
    failed_until: float = 0.0
    failure: str = ""


class TokenCache:
    """OAuth2 access tokens of this process, one per client (token URL, client id, scope, secret). Lives on the
    sender's event loop: only its coroutines touch it."""

    def __init__(self) -> None:
        self._entries: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.fetches = 0  # token requests made (tests and metrics)

    async def token(self, credentials: OAuthClientCredentials, post: Post, *, stale: str = "") -> str:
        """A valid access token; `stale`: the token an endpoint just refused (401), which is not handed out again."""
        key = credentials.cache_key
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self._entries.setdefault(key, _Cached())
            now = time.monotonic()
            if entry.token and entry.token != stale and now < entry.expires_at:
                return entry.token
            if now < entry.failed_until:
                raise TokenEndpointError(entry.failure)
            try:
                entry.token, lifetime = await self._fetch(credentials, post)
            except TokenEndpointError as exc:
                entry.token, entry.failed_until, entry.failure = "", now + TOKEN_FAILURE_BACKOFF_SECONDS, str(exc)
                raise
            entry.expires_at = now + max(lifetime - settings.WEBHOOK_OAUTH_TOKEN_LEEWAY_SECONDS, 0)
            return entry.token

    async def _fetch(self, credentials: OAuthClientCredentials, post: Post) -> tuple[str, float]:
        self.fetches += 1
        client = _AiohttpOAuth2Client(credentials, post)
        try:
            token = await client.fetch_token(credentials.token_url, grant_type="client_credentials")
        except TokenEndpointError:
            raise
        except OAuth2Error as exc:
            raise TokenEndpointError(f"The token endpoint {credentials.token_url} refused the client: "
                                     f"{exc.error}{f' ({exc.description})' if exc.description else ''}"[:400]) from None
        except ValueError:
            raise TokenEndpointError(f"The token endpoint {credentials.token_url} did not answer with a JSON "
                                     "token.") from None
        except (OSError, TimeoutError, aiohttp.ClientError) as exc:
            raise TokenEndpointError(f"The token endpoint {credentials.token_url} could not be reached: "
                                     f"{type(exc).__name__}: {exc}"[:400]) from None
        access = token.get("access_token")
        if not isinstance(access, str) or not access or str(token.get("token_type", "bearer")).lower() != "bearer":
            raise TokenEndpointError(f"The token endpoint {credentials.token_url} gave no bearer access_token.")
        expires_in = token.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else TOKEN_MAX_AGE_SECONDS
        return access, min(lifetime, TOKEN_MAX_AGE_SECONDS)
