"""Structured logs: every line of the pipeline carries eventId, deliveryId and tenant when they are known, and no
line of any process shows a card number or a token.

Use `log_context(event_id=..., delivery_id=..., tenant=...)` around work; the filter copies the context onto each
record. JSON in production (LOG_FORMAT=json), readable key=value lines in development.

Masking: every line a handler writes has card numbers masked (`notifications.guards.mask_card_numbers`: all digits
but the last four become `*`) and bearer tokens, API tokens and signing secrets redacted: the message with its
arguments, the exception and stack text, the context values. Our formatters mask what they print; any other
formatter is wrapped in `MaskingFormatter`, which masks the finished line. `configure` (Django's LOGGING_CONFIG, also
used by Celery's worker and beat through `config.celery_app`) does this for every handler of every logger, so a line
is masked whichever logger wrote it (django.request's `Not Found: …` included); gunicorn's own access and error logs
get it from `config/gunicorn.py`. Records themselves are left as logged (the formatter masks, not a filter): another
handler, or a test's log capture, still sees what the code wrote."""

import contextlib
import contextvars
import json
import logging
import logging.config
import re
from collections.abc import Iterator
from datetime import UTC, datetime

from notifications.guards import mask_card_numbers

_CONTEXT: contextvars.ContextVar[dict | None] = contextvars.ContextVar("log_context", default=None)
CONTEXT_KEYS = ("event_id", "delivery_id", "message_id", "tenant", "wallet_id")
_BEARER_RE = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)
_TOKEN_RE = re.compile(r"\b(ppn_|whsec_)[A-Za-z0-9_\-+/=]+")


def redact(text: str) -> str:
    """`text` with card numbers masked and bearer tokens, API tokens and signing secrets replaced."""
    text = mask_card_numbers(text)
    text = _BEARER_RE.sub(r"\1[REDACTED]", text)
    return _TOKEN_RE.sub(r"\1[REDACTED]", text)


class MaskingFormatter(logging.Formatter):
    """A handler's formatter, wrapped: the line it writes, masked."""

    masks = True

    def __init__(self, inner: logging.Formatter | None = None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        try:
            line = self.inner.format(record)
        except Exception:
            # Arguments that do not fit the format: print both, masked, not the handler's error report (unmasked).
            line = f"{record.msg!s} % {record.args!r}"
        return redact(line)


def add_masking(handler: logging.Handler) -> None:
    """Make `handler` write masked lines (its formatter wrapped unless it masks already)."""
    if not getattr(handler.formatter, "masks", False):
        handler.setFormatter(MaskingFormatter(handler.formatter))


def mask_every_handler() -> None:
    """Make every handler of every logger that exists now (root included) write masked lines."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):  # placeholders have none
            add_masking(handler)


def configure(logging_settings: dict) -> None:
    """Django's LOGGING_CONFIG: apply LOGGING, then make sure no handler anywhere prints an unmasked line."""
    logging.config.dictConfig(logging_settings)
    mask_every_handler()


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
    """One JSON object per line; each value masked before it is encoded (an int id stays an int)."""

    masks = True

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
            **{k: redact(v) if isinstance(v, str) else v for k, v in _context_of(record).items()},
        }
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`HH:MM:SS LEVEL logger: message [context]`, the whole line masked."""

    masks = True

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        ctx = " ".join(f"{k}={v}" for k, v in _context_of(record).items())
        line = f"{ts} {record.levelname:<7} {record.name}: {record.getMessage()}" + (f" [{ctx}]" if ctx else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)
