"""Webhook HTTP client: one asyncio loop per worker process, running in a background thread, with one pooled
aiohttp session (keep-alive per destination) and a bound on in-flight requests per endpoint.

Celery task threads hand it a batch and wait for the results; the I/O of every batch of the process is multiplexed
on the one loop, so a slow endpoint costs sockets, not threads or CPU. See docs/delivery.md for why."""

import asyncio
import atexit
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
from django.conf import settings

from notifications.egress import EgressBlocked, GuardedResolver, check_literal_host
from notifications.retry import parse_retry_after

RESPONSE_EXCERPT_BYTES = 2048


@dataclass(frozen=True)
class OutgoingRequest:
    endpoint_key: str  # requests to one endpoint share its in-flight bound
    url: str
    headers: dict[str, str]
    body: bytes


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


class WebhookSender:
    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="webhook-sender", daemon=True)
        self._thread.start()
        self._session: aiohttp.ClientSession | None = None
        self._in_flight: dict[str, asyncio.Semaphore] = {}
        self._busy: dict[str, int] = {}
        self._busy_lock = threading.Lock()

    def close(self) -> None:
        if self._session is not None and self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result(5)
            self._session = None

    def endpoint_load(self, endpoint_key: str) -> int:
        """Requests queued or in flight for this endpoint in this process."""
        with self._busy_lock:
            return self._busy.get(endpoint_key, 0)

    def send_many(self, requests: Sequence[OutgoingRequest], timeout: float | None = None) -> list[SendResult]:
        for r in requests:
            self._adjust(r.endpoint_key, 1)
        try:
            future = asyncio.run_coroutine_threadsafe(self._send_all(requests), self._loop)
            return future.result(timeout)
        finally:
            for r in requests:
                self._adjust(r.endpoint_key, -1)

    def _adjust(self, key: str, delta: int) -> None:
        with self._busy_lock:
            self._busy[key] = self._busy.get(key, 0) + delta

    async def _send_all(self, requests: Sequence[OutgoingRequest]) -> list[SendResult]:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=0, limit_per_host=0, resolver=GuardedResolver(), ttl_dns_cache=30, enable_cleanup_closed=True
                ),
                auto_decompress=False,
                skip_auto_headers=("User-Agent",),
                headers={"User-Agent": "prepaid-notifications/1.0 (+webhooks)"},
            )
        return await asyncio.gather(*(self._send_one(r) for r in requests))

    async def _send_one(self, request: OutgoingRequest) -> SendResult:
        semaphore = self._in_flight.get(request.endpoint_key)
        if semaphore is None:
            semaphore = self._in_flight[request.endpoint_key] = asyncio.Semaphore(
                settings.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT
            )
        async with semaphore:
            started_at = datetime.now(UTC)
            t0 = time.perf_counter()
            try:
                check_literal_host(urlsplit(request.url).hostname or "")
                async with self._session.post(
                    request.url,
                    data=request.body,
                    headers=request.headers,
                    allow_redirects=False,
                    proxy=settings.WEBHOOK_EGRESS_PROXY or None,
                    timeout=aiohttp.ClientTimeout(
                        total=None,
                        connect=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
                        sock_read=settings.WEBHOOK_READ_TIMEOUT_SECONDS,
                    ),
                ) as response:
                    excerpt = await response.content.read(RESPONSE_EXCERPT_BYTES)
                    return SendResult(
                        started_at=started_at,
                        duration_ms=int((time.perf_counter() - t0) * 1000),
                        status_code=response.status,
                        response_excerpt=excerpt.decode("utf-8", "replace"),
                        retry_after=(
                            parse_retry_after(response.headers.get("Retry-After"))
                            if response.status in (429, 503)
                            else None
                        ),
                    )
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

    @staticmethod
    def _error(started_at: datetime, t0: float, error_class: str, message: str) -> SendResult:
        return SendResult(
            started_at=started_at,
            duration_ms=int((time.perf_counter() - t0) * 1000),
            error_class=error_class,
            error_message=message[:500],
        )


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
