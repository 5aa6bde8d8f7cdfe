"""Structured logs: every line of the pipeline carries eventId, deliveryId and tenant when they are known.

Use `log_context(event_id=..., delivery_id=..., tenant=...)` around work; the filter copies the context onto each
record. JSON in production (LOG_FORMAT=json), readable key=value lines in development."""

import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime

_CONTEXT: contextvars.ContextVar[dict | None] = contextvars.ContextVar("log_context", default=None)
CONTEXT_KEYS = ("event_id", "delivery_id", "message_id", "tenant", "wallet_id")
# Never let a card number or a bearer token reach a log line, whoever wrote the message.
_PAN_RE = re.compile(r"\b\d{12,19}\b")
_BEARER_RE = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)
_TOKEN_RE = re.compile(r"\b(ppn_|whsec_)[A-Za-z0-9_\-+/=]+")


def redact(text: str) -> str:
    text = _PAN_RE.sub("[REDACTED-NUMBER]", text)
    text = _BEARER_RE.sub(r"\1[REDACTED]", text)
    return _TOKEN_RE.sub(r"\1[REDACTED]", text)


@contextlib.contextmanager
def log_context(**values) -> Iterator[None]:
    token = _CONTEXT.set({**(_CONTEXT.get() or {}), **{k: v for k, v in values.items() if v is not None}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_CONTEXT.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def _context_of(record: logging.LogRecord) -> dict:
    return {k: getattr(record, k) for k in CONTEXT_KEYS if getattr(record, k, None) is not None}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
            **_context_of(record),
        }
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        ctx = " ".join(f"{k}={v}" for k, v in _context_of(record).items())
        line = f"{ts} {record.levelname:<7} {record.name}: {redact(record.getMessage())}" + (f" [{ctx}]" if ctx else "")
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line
