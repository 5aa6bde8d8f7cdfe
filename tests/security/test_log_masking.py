"""No log line of any process shows a card number: Django's loggers (django.request's `Not Found:` included), the
Celery worker and beat, the Kafka bridge (its dead-letter line) and gunicorn's access and error logs. The process
tests run the real programs with the commands of the Procfile and read what they print."""

import io
import json
import logging
import sys
import urllib.error
import urllib.request

import pytest
from gunicorn.config import Config

from config.gunicorn import MaskingLogger
from config.logging import ContextFilter, JsonFormatter, MaskingFormatter, TextFormatter, add_masking, log_context
from notifications.models import DeadLetter
from tests.factories import PartnerFactory
from tests.fixtures.processes import free_port, wait_until
from tests.notifications.helpers import kafka_message

PAN = "4111 1111 1111 1111"
RAW_FORMS = (PAN, "4111111111111111", "4111-1111-1111-1111", "4111%201111%201111%201111", "4111+1111+1111+1111")


def assert_masked(output: str) -> None:
    """The test's card number is in no line, in any of the forms the tests wrote it nor with other separators.
    (Not "no line holds any card number": a process banner such as `glibc2.36 2026-12-03 13:10` holds 13 digits
    in one run, which pass Luhn on some days: docs/security.md's false positives.)"""
    for form in RAW_FORMS:
        assert form not in output
    for line in output.splitlines():
        assert "4111111111111111" not in "".join(c for c in line if c.isdigit() or c == "*")


def _record(msg: str, *args, exc: bool = False, **extra) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"no card {PAN} here")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("notifications.test", logging.WARNING, __file__, 1, msg, args, exc_info)
    record.__dict__.update(extra)
    return record


# --- the formatters --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("formatter", [MaskingFormatter(), MaskingFormatter(logging.Formatter("%(message)s")),
                                       TextFormatter(), JsonFormatter()])
def test_every_formatter_masks_message_arguments_exception_and_context(formatter):
    record = _record("Unknown eventName %r for %s", PAN, {"kit": "Shop4111111111111111x"}, exc=True,
                     event_id="4111-1111-1111-1111", delivery_id=4242)
    line = formatter.format(record)
    assert_masked(line)
    assert "'**** **** **** 1111'" in line and "Shop************1111x" in line and "no card **** **** **** 1111" in line
    assert record.getMessage().startswith(f"Unknown eventName '{PAN}'")  # the record itself is left as logged
    if isinstance(formatter, TextFormatter):
        assert "event_id=****-****-****-1111" in line
    if isinstance(formatter, JsonFormatter):
        entry = json.loads(line)
        assert entry["event_id"] == "****-****-****-1111" and entry["delivery_id"] == 4242  # an int stays an int


def test_the_log_context_is_masked():
    with log_context(event_id="4111 1111 1111 1111"):
        record = _record("card %s", "4111-1111-1111-1111")
        ContextFilter().filter(record)
    line = TextFormatter().format(record)
    assert "card ****-****-****-1111 [event_id=**** **** **** 1111]" in line
    assert_masked(line)


def test_arguments_that_do_not_fit_the_format_are_printed_masked():
    record = _record("two %s %s", PAN)  # one argument short: the handler would print the raw args in its report
    line = MaskingFormatter().format(record)
    assert "**** **** **** 1111" in line
    assert_masked(line)


def test_tokens_are_still_redacted():
    record = _record("Authorization: Bearer abc.def and ppn_secretvalue and whsec_c2VjcmV0")
    assert MaskingFormatter().format(record) == (
        "Authorization: Bearer [REDACTED] and ppn_[REDACTED] and whsec_[REDACTED]")


def test_wrapping_a_handler_twice_wraps_it_once():
    handler = logging.StreamHandler(io.StringIO())
    add_masking(handler)
    add_masking(handler)
    assert isinstance(handler.formatter, MaskingFormatter) and not isinstance(handler.formatter.inner,
                                                                               MaskingFormatter)


def _ours(handler: logging.Handler) -> bool:
    """A handler that prints: not pytest's capture handlers (they come and go per test), not a NullHandler."""
    return not type(handler).__module__.startswith("_pytest") and not isinstance(handler, logging.NullHandler)


def test_every_handler_of_every_logger_masks_and_django_uses_the_root_handlers():
    loggers = {"root": logging.getLogger(), **{
        name: logger for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }}
    unmasked = [(name, h) for name, logger in loggers.items() for h in logger.handlers
                if _ours(h) and not getattr(h.formatter, "masks", False)]
    assert unmasked == []
    assert [h for h in logging.getLogger().handlers if _ours(h)]  # the root writes somewhere
    for name in ("django", "django.server", "django.request"):
        logger = logging.getLogger(name)
        assert [h for h in logger.handlers if _ours(h)] == [] and logger.propagate, name


def test_gunicorns_logger_masks_its_access_and_error_handlers():
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("errorlog", "-")
    logger = MaskingLogger(cfg)
    handlers = logger.error_log.handlers + logger.access_log.handlers
    assert len(handlers) >= 2
    assert all(isinstance(h.formatter, MaskingFormatter) for h in handlers)


def test_a_404_url_holding_a_card_number_is_logged_masked(client, settings):
    """django.request's `Not Found: <path>` goes through the root's (masking) handler, in-process."""
    (handler,) = [h for h in logging.getLogger().handlers if _ours(h)]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        assert client.get("/Shop4111111111111111x/4111-1111-1111-1111").status_code == 404
    finally:
        handler.setStream(previous)
    assert "Not Found: /Shop************1111x/****-****-****-1111" in stream.getvalue()
    assert_masked(stream.getvalue())


# --- real processes --------------------------------------------------------------------------------------------


def _get(url: str, **headers: str) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.e2e
def test_gunicorn_access_log_and_djangos_not_found_lines_are_masked(start_process):
    port = free_port()
    web = start_process("gunicorn", [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", "config.wsgi",
                                     "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60"])
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: "Booting worker" in web.output() or not web.alive(), 60, message="gunicorn booting")
    wait_until(lambda: _get(f"{base}/healthz") == 200, 60, 0.3, "gunicorn answering")

    assert _get(f"{base}/Shop4111111111111111x") == 404
    assert _get(f"{base}/cards/4111-1111-1111-1111?pan=4111+1111+1111+1111",
                Referer="https://partner.example/4111%201111%201111%201111") == 404
    assert _get(f"{base}/prepaid/auth/v1/cards/4111%201111%201111%201111") == 401
    wait_until(lambda: web.output().count('" 40') >= 3, 10, message="three access-log lines")
    web.stop()

    output = web.output()
    assert_masked(output)
    assert '"GET /Shop************1111x HTTP/1.1" 404' in output  # the access log
    assert '"GET /cards/****-****-****-1111?pan=****+****+****+1111 HTTP/1.1" 404' in output
    assert '"https://partner.example/****%20****%20****%201111"' in output
    assert '"GET /prepaid/auth/v1/cards/****%20****%20****%201111 HTTP/1.1" 401' in output
    assert "Not Found: /Shop************1111x" in output  # django.request
    assert "Not Found: /cards/****-****-****-1111" in output
    assert "Unauthorized: /prepaid/auth/v1/cards/**** **** **** 1111" in output


@pytest.mark.e2e
def test_celery_worker_log_lines_are_masked(start_worker, settings):
    from config.celery_app import app

    worker = start_worker(concurrency=1, queues="default")
    app.send_task(f"notify {PAN}", args=["4111-1111-1111-1111"], kwargs={"merchant": "Shop4111111111111111x"},
                  queue="default")
    wait_until(lambda: "unregistered task" in worker.output(), 30, message="the worker to log the message")
    worker.stop()
    output = worker.output()
    assert "Received unregistered task of type 'notify **** **** **** 1111'" in output
    assert "****-****-****-1111" in output and "Shop************1111x" in output  # the body it quotes
    assert_masked(output)


@pytest.mark.e2e
def test_celery_beat_log_lines_are_masked(start_process, tmp_path):
    schedule = tmp_path / f"beat {PAN}"
    schedule.write_bytes(b"not a schedule database")  # beat logs the file name when it replaces a corrupted one
    beat = start_process("celery-beat", [sys.executable, "-m", "celery", "-A", "config.celery_app", "beat",
                                         "-s", str(schedule), "-l", "INFO"])
    wait_until(lambda: "Removing corrupted schedule file" in beat.output() or not beat.alive(), 30,
               message="beat to log the corrupted schedule file")
    beat.stop()
    log_lines = [line for line in beat.output().splitlines() if " celery.beat: " in line]  # not the banner
    assert any("beat **** **** **** 1111" in line for line in log_lines)
    assert_masked("\n".join(log_lines))


@pytest.mark.e2e
def test_the_bridge_dead_letter_line_and_stored_reason_are_masked(kafka_topic, tansu_broker, start_bridge):
    PartnerFactory(tenant_id="acme")
    message = kafka_message(event_name=PAN)
    tansu_broker.produce(kafka_topic, [message])
    bridge = start_bridge()
    wait_until(lambda: DeadLetter.objects.exists(), 60, message="the message to be dead-lettered")
    letter = DeadLetter.objects.get()
    assert letter.reason_code == "unknown_event_name"
    assert letter.reason.startswith("Unknown eventName '**** **** **** 1111'")
    assert json.loads(bytes(letter.raw_value))["eventName"] == PAN  # the evidence stays as it came
    wait_until(lambda: "Dead-lettered" in bridge.output(), 10, message="the dead-letter log line")
    bridge.stop()
    output = bridge.output()
    assert "Unknown eventName '**** **** **** 1111'" in output
    assert_masked(output)
