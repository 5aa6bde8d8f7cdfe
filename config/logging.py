"""Structured logs: every line of the pipeline carries eventId, deliveryId and tenant when they are known, and no
line of any process shows a card number or a token.

Use `log_context(event_id=..., delivery_id=..., tenant=...)` around work; the filter copies the context onto each
record. JSON in production (LOG_FORMAT=json), readable key=value lines in development.

Masking: `MaskingFilter` masks card numbers (`notifications.guards.mask_card_numbers`: all digits but the last four
become `*`) and redacts bearer tokens, API tokens and signing secrets in everything a record prints: the message with
its arguments, the exception and stack text, the context values. `configure` (Django's LOGGING_CONFIG, also used by
Celery's worker and beat through `config.celery_app`) attaches it to every handler of every logger, so a line is
masked whichever logger wrote it (django.request's `Not Found: …` included) and whichever formatter prints it;
gunicorn's own access and error logs get it from `config/gunicorn.py`."""

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


_PLAIN_FORMATTER = logging.Formatter()


class MaskingFilter(logging.Filter):
    """Redacts the record in place (see the module docstring) and lets it through. On a handler, not a logger: a
    logger's filters do not see the records its children propagate to it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message, unformattable = record.getMessage(), False
        except Exception:
            # Arguments that do not fit the format: print both, masked, not the handler's error report (unmasked).
            message, unformattable = f"{record.msg!s} % {record.args!r}", True
        masked = redact(message)
        if unformattable or masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _PLAIN_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key in CONTEXT_KEYS:
            value = getattr(record, key, None)
            if isinstance(value, str):
                setattr(record, key, redact(value))
        return True


def add_masking(handler: logging.Handler) -> None:
    if not any(isinstance(f, MaskingFilter) for f in handler.filters):
        handler.addFilter(MaskingFilter())


def mask_every_handler() -> None:
    """Attach MaskingFilter to every handler of every logger that exists now (root included)."""
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
    context = {k: getattr(record, k) for k in CONTEXT_KEYS if getattr(record, k, None) is not None}
    # Masked here too, so a formatter used without the filter never prints a card number (an int id stays an int).
    return {k: redact(v) if isinstance(v, str) else v for k, v in context.items()}


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
            entry["exc"] = redact(record.exc_text or self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        ctx = " ".join(f"{k}={v}" for k, v in _context_of(record).items())
        line = f"{ts} {record.levelname:<7} {record.name}: {redact(record.getMessage())}" + (f" [{ctx}]" if ctx else "")
        if record.exc_info:
            line += "\n" + redact(record.exc_text or self.formatException(record.exc_info))
        return line
