"""Standard Webhooks signatures (https://www.standardwebhooks.com): the one place that signs and verifies.

signature = "v1," + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), key = base64-decoded part of `whsec_…`.
During a secret rotation several space-separated signatures are sent, one per active secret."""

import base64
import functools
import hmac
import time
from collections.abc import Mapping, Sequence

SIGNATURE_VERSION = "v1"
TIMESTAMP_TOLERANCE_SECONDS = 5 * 60


@functools.lru_cache(maxsize=4096)
def _key(secret: str) -> bytes:
    # Decoded once per secret, not once per request: it showed in the worker's profile (docs/profiles/).
    return base64.b64decode(secret.removeprefix("whsec_"))


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.digest(key, f"{msg_id}.{timestamp}.".encode() + body, "sha256")  # one-shot, in C
    return f"{SIGNATURE_VERSION},{base64.b64encode(mac).decode()}"


def sign(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for `body` under every given secret."""
    return " ".join(_signature(_key(s), msg_id, timestamp, body) for s in secrets)


def webhook_headers(secrets: Sequence[str], msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secrets, msg_id, timestamp, body),
    }


def verify_signature(
    secrets: Sequence[str], headers: Mapping[str, str], body: bytes, now: float | None = None
) -> bool:
    """True when one of the header's signatures matches one of `secrets` and the timestamp is fresh."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, timestamp, header = lower.get("webhook-id"), lower.get("webhook-timestamp"), lower.get("webhook-signature")
    if not (msg_id and timestamp and header):
        return False
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - ts) > TIMESTAMP_TOLERANCE_SECONDS:
        return False
    offered = header.split()
    for secret in secrets:
        expected = _signature(_key(secret), msg_id, ts, body)
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return True
    return False
