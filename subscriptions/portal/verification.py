"""The signature-verification helper: does a pasted webhook (body + headers) verify against a subscription's
secrets, and if not, why not. The verdict is `notifications.webhooks.signing.verify_signature`, the same code a
partner's receiver is compared against; this module only explains it."""

import json
import time
from dataclasses import dataclass, field

from notifications.webhooks.signing import SIGNATURE_VERSION, TIMESTAMP_TOLERANCE_SECONDS, sign, verify_signature

REQUIRED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


@dataclass
class Verdict:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    matched: str = ""


def parse_headers(text: str) -> dict[str, str]:
    """Headers pasted as `Name: value` lines (as curl -v or a request log shows them) or as a JSON object."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return {str(k).lower(): str(v) for k, v in data.items()}
    headers = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers[name.strip().lstrip("<> ").lower()] = value.strip()
    return headers


def _matching_secret(secrets: list[tuple[str, str]], msg_id: str, ts: int, body: bytes, offered: list[str]) -> str:
    for label, secret in secrets:
        if sign([secret], msg_id, ts, body) in offered:
            return label
    return ""


def signature_explain(
    *, secrets: list[tuple[str, str]], headers_text: str, body: str, now: float | None = None
) -> Verdict:
    """`secrets` are (label, whsec_ secret) pairs, e.g. ("current secret", …), ("previous secret", …)."""
    now = time.time() if now is None else now
    headers = parse_headers(headers_text)
    missing = [name for name in REQUIRED_HEADERS if not headers.get(name)]
    if missing:
        return Verdict(False, [f"Missing header(s): {', '.join(missing)}. Paste every header of the request."])
    msg_id, stamp, offered = headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"].split()
    reasons: list[str] = []
    try:
        ts = int(stamp)
    except ValueError:
        return Verdict(False, [f"webhook-timestamp must be Unix seconds (an integer); got {stamp[:40]!r}."])
    skew = now - ts
    if abs(skew) > TIMESTAMP_TOLERANCE_SECONDS:
        when = "old" if skew > 0 else "in the future"
        reasons.append(f"The timestamp is {abs(int(skew))} s {when}; receivers reject more than "
                       f"{TIMESTAMP_TOLERANCE_SECONDS} s either way (replay protection). Check the receiver's clock, "
                       "or verify a fresh request.")
    versions = {part.split(",", 1)[0] for part in offered}
    if f"{SIGNATURE_VERSION}" not in versions:
        reasons.append(f"No {SIGNATURE_VERSION} signature in webhook-signature (found {', '.join(sorted(versions))}).")
    raw = body.encode()
    matched = _matching_secret(secrets, msg_id, ts, raw, offered)
    if not matched:
        for variant, why in _body_variants(body):
            if _matching_secret(secrets, msg_id, ts, variant.encode(), offered):
                reasons.append(f"The body is not the one that was signed, but it matches {why}. Verify the raw "
                               "request bytes as received, before any parsing or re-serialisation.")
                break
        else:
            reasons.append("No signature matches this subscription's secrets for this id, timestamp and body: the "
                           "secret is another one (another subscription's, or rotated out), or the id, timestamp or "
                           "body was changed on the way.")
    ok = verify_signature([secret for _, secret in secrets], headers, raw, now=now)
    return Verdict(ok, reasons, matched)


def _body_variants(body: str) -> list[tuple[str, str]]:
    variants = [(body.rstrip("\r\n"), "once the trailing line break is removed"),
                (body.strip(), "once surrounding whitespace is removed"),
                (body.replace("\r\n", "\n"), "once Windows line endings are replaced")]
    try:
        parsed = json.loads(body)
    except ValueError:
        return variants
    variants.append((json.dumps(parsed, separators=(",", ":"), ensure_ascii=False),
                     "when re-serialised compactly (the body was reformatted)"))
    return [(text, why) for text, why in variants if text != body]
