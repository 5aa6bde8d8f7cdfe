"""Standard Webhooks signatures (https://www.standardwebhooks.com): the one place that signs and verifies.

- Symmetric: "v1," + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), key = base64-decoded part of `whsec_…`.
- Asymmetric: "v1a," + base64(Ed25519 signature of the same "{id}.{timestamp}.{body}"), signed with the private key
  of a `whsk_…` secret (base64 of its 32-byte seed); receivers verify with the `whpk_…` public key (base64 of the
  raw 32-byte public key).
During a rotation several space-separated signatures are sent, one per active key; the kind of each secret decides
its version, so a change of scheme overlaps like a rotation (a `v1` and a `v1a` signature side by side)."""

import base64
import functools
import hmac
import time
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_VERSION = "v1"
ED25519_SIGNATURE_VERSION = "v1a"
ED25519_SECRET_PREFIX = "whsk_"
ED25519_PUBLIC_PREFIX = "whpk_"
TIMESTAMP_TOLERANCE_SECONDS = 5 * 60


@functools.lru_cache(maxsize=4096)
def _key(secret: str) -> bytes:
    # Decoded once per secret, not once per request: it showed in the worker's profile (docs/profiles/).
    return base64.b64decode(secret.removeprefix("whsec_"))


@functools.lru_cache(maxsize=4096)
def _ed25519_key(secret: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(secret.removeprefix(ED25519_SECRET_PREFIX)))


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.digest(key, f"{msg_id}.{timestamp}.".encode() + body, "sha256")  # one-shot, in C
    return f"{SIGNATURE_VERSION},{base64.b64encode(mac).decode()}"


def _sign_one(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    if secret.startswith(ED25519_SECRET_PREFIX):
        signature = _ed25519_key(secret).sign(f"{msg_id}.{timestamp}.".encode() + body)
        return f"{ED25519_SIGNATURE_VERSION},{base64.b64encode(signature).decode()}"
    return _signature(_key(secret), msg_id, timestamp, body)


def sign(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for `body` under every given secret (`whsec_` or `whsk_`)."""
    return " ".join(_sign_one(s, msg_id, timestamp, body) for s in secrets)


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


def verify_ed25519_signature(
    public_keys: Sequence[str], headers: Mapping[str, str], body: bytes, now: float | None = None
) -> bool:
    """True when one of the header's `v1a` signatures verifies under one of the `whpk_` keys and the timestamp is
    fresh (the demo receiver and tests; partners use any Standard Webhooks library)."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, timestamp, header = lower.get("webhook-id"), lower.get("webhook-timestamp"), lower.get("webhook-signature")
    if not (msg_id and timestamp and header and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS:
        return False
    message = f"{msg_id}.{timestamp}.".encode() + body
    for candidate in header.split():
        version, _, signature = candidate.partition(",")
        if version != ED25519_SIGNATURE_VERSION:
            continue
        for key in public_keys:
            try:
                Ed25519PublicKey.from_public_bytes(base64.b64decode(key.removeprefix(ED25519_PUBLIC_PREFIX))).verify(
                    base64.b64decode(signature), message)
                return True
            except (InvalidSignature, ValueError):
                continue
    return False
