"""Webhook HTTP client: one asyncio loop per worker process, running in a background thread, with one pooled
aiohttp session (keep-alive per destination) and a bound on in-flight requests per endpoint.

Celery task threads hand it a batch and wait for the results; the I/O of every batch of the process is multiplexed
on the one loop, so a slow endpoint costs sockets, not threads or CPU. See docs/delivery.md for why."""

import asyncio
import atexit
import functools
import os
import ssl
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
from django.conf import settings

try:
    import uvloop
except ImportError:  # not built for every platform; asyncio's own loop works, only slower
    uvloop = None

from notifications.retry import parse_retry_after
from notifications.slots import ConcurrencySlots
from notifications.webhooks.egress import EgressBlocked, GuardedResolver, check_literal_host, pin_for_proxy
from notifications.webhooks.endpoint_auth import (
    ClientCertificate,
    OAuthClientCredentials,
    TokenCache,
    TokenEndpointError,
    client_ssl_context,
)

RESPONSE_EXCERPT_BYTES = 2048


@dataclass(frozen=True)
class OutgoingRequest:
    subscription_id: int  # requests to one endpoint (subscription) share its in-flight bound
    url: str
    headers: dict[str, str]
    body: bytes
    oauth: OAuthClientCredentials | None = None  # fetch a bearer token for it (endpoint_auth)
    client_certificate: ClientCertificate | None = None  # mTLS


@dataclass(frozen=True)
class SendResult:
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    response_excerpt: str = ""
    error_class: str = ""
    error_message: str = ""
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def summary(self) -> str:
        """What went wrong, in one line ('' for a success)."""
        if self.succeeded:
            return ""
        return f"{self.error_class}: {self.error_message}"[:500] if self.error_class else f"HTTP {self.status_code}"


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop unless WEBHOOK_SENDER_EVENT_LOOP=asyncio (or uvloop is missing): the event loop's own overhead was a
    large part of the sender's CPU per request (docs/profiles/)."""
    if settings.WEBHOOK_SENDER_EVENT_LOOP == "uvloop" and uvloop is not None:
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class WebhookSender:
    def __init__(self) -> None:
        self._loop = _new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="webhook-sender", daemon=True)
        self._thread.start()
        self._session: aiohttp.ClientSession | None = None
        self._in_flight: dict[int, asyncio.Semaphore] = {}
        self._busy: dict[int, int] = {}  # per endpoint: requests queued or in flight
        self._slots = ConcurrencySlots()  # per endpoint: batch slots (see acquire_batch_slot)
        self._busy_lock = threading.Lock()
        self._latency: dict[int, float] = {}  # per endpoint: moving average of request durations (seconds)
        self._pending: dict[int, int] = {}  # per endpoint: requests handed to the loop and not finished
        self._progress: dict[int, float] = {}  # per endpoint: when a request last finished (or work last began)
        self.tokens = TokenCache()  # OAuth2 access tokens of this process (used on the loop only)

    def close(self) -> None:
        if self._session is not None and self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result(5)
            self._session = None

    def endpoint_load(self, subscription_id: int) -> int:
        """Requests queued or in flight for this endpoint in this process."""
        with self._busy_lock:
            return self._busy.get(subscription_id, 0)

    def endpoint_latency(self, subscription_id: int) -> float:
        """Moving average of this endpoint's request durations in this process (0.0 before the first answer)."""
        return self._latency.get(subscription_id, 0.0)

    def endpoint_slowness(self, subscription_id: int) -> float:
        """Seconds this endpoint takes, as far as this process can tell: the moving average of its answers, or, if
        longer, how long its pending requests have gone without any of them finishing (a newly slow endpoint is
        recognised before its first slow answer arrives)."""
        pending = self._pending.get(subscription_id)
        stalled = time.monotonic() - self._progress.get(subscription_id, 0.0) if pending else 0.0
        return max(self.endpoint_latency(subscription_id), stalled)

    def acquire_batch_slot(self, subscription_id: int, slots: int, wait: float, slow_after: float) -> bool:
        """Take one of the endpoint's `slots` batch slots in this process (True), to be given back with
        release_batch_slot. A batch holds a worker thread while its requests are out, so the slots bound the threads
        one endpoint can hold whatever the size of its batches. An endpoint that answers fast frees a slot in moments,
        so the caller waits (up to `wait` seconds) rather than re-queue its work; for a slow one (endpoint_slowness
        >= `slow_after` seconds) it returns False at once."""
        return self._slots.acquire(subscription_id, slots=slots, wait=wait,
                                   is_slow=lambda: self.endpoint_slowness(subscription_id) >= slow_after)

    def release_batch_slot(self, subscription_id: int) -> None:
        self._slots.release(subscription_id)

    def send_many(self, requests: Sequence[OutgoingRequest], timeout: float | None = None) -> list[SendResult]:
        counts = Counter(r.subscription_id for r in requests)
        self._adjust(counts, 1)
        try:
            future = asyncio.run_coroutine_threadsafe(self._send_all(requests), self._loop)
            return future.result(timeout)
        finally:
            self._adjust(counts, -1)

    def _adjust(self, counts: Counter, sign: int) -> None:
        with self._busy_lock:
            for key, n in counts.items():
                self._busy[key] = self._busy.get(key, 0) + sign * n

    async def _send_all(self, requests: Sequence[OutgoingRequest]) -> list[SendResult]:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=0, limit_per_host=0, resolver=GuardedResolver(), ttl_dns_cache=30, enable_cleanup_closed=True
                ),
                auto_decompress=False,
                # Our User-Agent as a session default header replaces aiohttp's on every request: the bytes sent are
                # the same as with skip_auto_headers=("User-Agent",), which made aiohttp build and copy a header
                # multidict for every request (~9 % of the raw-send CPU, docs/profiles/README.md, issue 20).
                headers={"User-Agent": "prepaid-notifications/1.0 (+webhooks)"},
            )
        return await asyncio.gather(*(self._send_one(r) for r in requests))

    async def _send_one(self, request: OutgoingRequest) -> SendResult:
        key = request.subscription_id
        if not self._pending.get(key):
            self._progress[key] = time.monotonic()
        self._pending[key] = self._pending.get(key, 0) + 1
        try:
            result = await self._attempt(request)
        finally:
            self._pending[key] -= 1
            self._progress[key] = time.monotonic()
        previous = self._latency.get(request.subscription_id)
        seconds = result.duration_ms / 1000
        # A short memory: an endpoint that slows down (or recovers) is recognised within a few requests.
        self._latency[request.subscription_id] = seconds if previous is None else 0.7 * previous + 0.3 * seconds
        return result

    async def _attempt(self, request: OutgoingRequest) -> SendResult:
        semaphore = self._in_flight.get(request.subscription_id)
        if semaphore is None:
            semaphore = self._in_flight[request.subscription_id] = asyncio.Semaphore(
                settings.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT
            )
        async with semaphore:
            started_at = datetime.now(UTC)
            t0 = time.perf_counter()
            try:
                headers, token = request.headers, ""
                if request.oauth is not None:
                    token = await self.tokens.token(request.oauth, self._post)
                    headers = {**headers, "Authorization": f"Bearer {token}"}
                ssl_context = (client_ssl_context(request.client_certificate)
                               if request.client_certificate is not None else True)
                status, excerpt, response_headers = await self._post(request.url, headers, request.body, ssl_context)
                if status == 401 and request.oauth is not None:
                    # The endpoint refused the token (revoked, or expired early): one new token, one more try.
                    token = await self.tokens.token(request.oauth, self._post, stale=token)
                    headers = {**headers, "Authorization": f"Bearer {token}"}
                    status, excerpt, response_headers = await self._post(request.url, headers, request.body,
                                                                         ssl_context)
                return SendResult(
                    started_at=started_at,
                    duration_ms=int((time.perf_counter() - t0) * 1000),
                    status_code=status,
                    response_excerpt=excerpt.decode("utf-8", "replace"),
                    retry_after=(
                        parse_retry_after(response_headers.get("Retry-After")) if status in (429, 503) else None
                    ),
                )
            except TokenEndpointError as exc:
                return self._error(started_at, t0, "OAuthTokenError", str(exc))
            except EgressBlocked as exc:
                return self._error(started_at, t0, "EgressBlocked", str(exc))
            except TimeoutError:
                return self._error(started_at, t0, "Timeout", "No answer within the connect/read timeout.")
            except aiohttp.ClientConnectorError as exc:
                cause = exc.os_error if isinstance(getattr(exc, "os_error", None), EgressBlocked) else None
                if cause is not None:
                    return self._error(started_at, t0, "EgressBlocked", str(cause))
                return self._error(started_at, t0, type(exc).__name__, str(exc))
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                return self._error(started_at, t0, type(exc).__name__, str(exc) or repr(exc))

    async def _post(self, url: str, headers: dict[str, str], body: bytes,
                    ssl_context: ssl.SSLContext | bool = True) -> tuple[int, bytes, Mapping[str, str]]:
        """POST through the guarded egress (SSRF checks, proxy pinning, no redirects): the webhook itself and OAuth2
        token requests. Returns the status, the first RESPONSE_EXCERPT_BYTES of the body and the headers."""
        _check_literal_destination(url)
        server_hostname = None
        if proxy := settings.WEBHOOK_EGRESS_PROXY or None:
            # The proxy would resolve the name again: send it to the address checked here (egress.py).
            pinned = await asyncio.wait_for(pin_for_proxy(url), settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS)
            url, headers = pinned.url, {**headers, **pinned.headers}
            server_hostname = pinned.server_hostname
        async with self._session.post(
            url,
            data=body,
            headers=headers,
            allow_redirects=False,
            proxy=proxy,
            server_hostname=server_hostname,
            ssl=ssl_context,
            timeout=_timeout(settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS, settings.WEBHOOK_READ_TIMEOUT_SECONDS),
        ) as response:
            excerpt = await response.content.read(RESPONSE_EXCERPT_BYTES)
            return response.status, excerpt, response.headers

    @staticmethod
    def _error(started_at: datetime, t0: float, error_class: str, message: str) -> SendResult:
        return SendResult(
            started_at=started_at,
            duration_ms=int((time.perf_counter() - t0) * 1000),
            error_class=error_class,
            error_message=message[:500],
        )


@functools.lru_cache(maxsize=8)
def _timeout(connect: float, read: float) -> aiohttp.ClientTimeout:
    """One immutable timeout object per setting values (building one per request showed in the profile)."""
    return aiohttp.ClientTimeout(total=None, connect=connect, sock_read=read)


_literal_checks: dict[tuple[str, tuple[str, ...]], str | None] = {}


def _check_literal_destination(url: str) -> None:
    """egress.check_literal_host for the URL's host, remembered per URL and allow-list: the answer depends on
    nothing else, and working it out (parsing the address and the allow-list) cost more than signing a request."""
    key = (url, tuple(settings.WEBHOOK_DESTINATION_ALLOWLIST or ()))
    if key not in _literal_checks:
        try:
            check_literal_host(urlsplit(url).hostname or "")
            problem = None
        except EgressBlocked as exc:
            problem = str(exc)
        if len(_literal_checks) >= 10_000:
            _literal_checks.clear()
        _literal_checks[key] = problem
    if (problem := _literal_checks[key]) is not None:
        raise EgressBlocked(problem)


_sender: WebhookSender | None = None
_sender_pid: int | None = None
_sender_lock = threading.Lock()


def get_sender() -> WebhookSender:
    """The process's sender; a forked child (Celery prefork) builds its own."""
    global _sender, _sender_pid
    with _sender_lock:
        if _sender is None or _sender_pid != os.getpid():
            _sender, _sender_pid = WebhookSender(), os.getpid()
            atexit.register(_sender.close)
        return _sender
