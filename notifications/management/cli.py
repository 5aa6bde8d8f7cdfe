"""Shared pieces of the ops commands (status, prune_history, replay_deliveries, redrive_dead_letters,
run_advance_sweep, rotate_secrets…): a `--json` switch, a tty-aware progress bar, tables, duration parsing and
exit codes, so every command behaves the same way.

Conventions:
- the human summary goes to stdout; with `--json`, stdout carries exactly one JSON document and nothing else;
- progress bars are drawn on stderr, and only when stderr is a terminal (never in CI logs or pipes);
- exit codes: 0 success / healthy, 1 partial failure / degraded, 2 bad usage / down.
"""

import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError

EXIT_OK = 0
EXIT_PARTIAL = 1  # also "degraded" for status
EXIT_USAGE = 2  # also "down" for status

_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '12h', '30d', '2w' -> timedelta. Raises ValueError with a readable message."""
    match = _DURATION_RE.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a duration: use a number and a unit s, m, h, d or w (e.g. 30d)")
    amount, unit = int(match.group(1)), match.group(2).lower()
    if amount <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return timedelta(seconds=amount * _UNIT_SECONDS[unit])


class ProgressBar:
    """`[#######.......]  45%  450/1000  label` redrawn in place on a terminal; silent elsewhere.

    Use as a context manager; `advance(n)` after each batch. With an unknown total it shows a running count."""

    def __init__(
        self,
        total: int | None,
        label: str = "",
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        width: int = 30,
    ) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = _is_tty(self.stream) if enabled is None else enabled
        self.width = width
        self._last_draw = 0.0
        self._started = time.monotonic()

    def __enter__(self) -> "ProgressBar":
        self._draw(force=True)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def advance(self, n: int = 1, *, label: str | None = None) -> None:
        self.done += n
        if label is not None:
            self.label = label
        self._draw()

    def close(self) -> None:
        if self.enabled:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()
            self.enabled = False  # closing twice draws nothing more

    def render(self) -> str:
        elapsed = time.monotonic() - self._started
        rate = f"{self.done / elapsed:,.0f}/s" if elapsed > 0.5 else ""
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            filled = round(fraction * self.width)
            bar = "#" * filled + "." * (self.width - filled)
            return f"[{bar}] {fraction:4.0%}  {self.done:,}/{self.total:,}  {rate}  {self.label}".rstrip()
        return f"{self.done:,} done  {rate}  {self.label}".rstrip()

    def _draw(self, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        # At most ten redraws a second: a fast loop must not spend its time writing to the terminal.
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        self.stream.write("\r\x1b[2K" + self.render())
        self.stream.flush()


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain, aligned text table (no dependency, readable in any log)."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def dumps(payload: Any) -> str:
    return json.dumps(payload, indent=2, sort_keys=False, default=str)


class OpsCommand(BaseCommand):
    """Base class of the ops commands: adds `--json`, `self.progress(...)` and `self.finish(...)`.

    Subclasses implement `add_command_arguments(parser)` and `handle(**options)`, and end with
    `self.finish(payload, human=..., exit_code=...)`."""

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="Print one JSON document on stdout instead of the human summary.",
        )
        self.add_command_arguments(parser)

    def add_command_arguments(self, parser) -> None:
        """Override to add the command's own arguments."""

    def execute(self, *args, **options):
        self.as_json = bool(options.get("as_json"))
        return super().execute(*args, **options)

    def progress(self, total: int | None, label: str = "") -> ProgressBar:
        # stderr, so a --json stdout stays parseable even when the bar is drawn.
        return ProgressBar(total, label, stream=getattr(self.stderr, "_out", sys.stderr))

    def finish(self, payload: dict, *, human: str | Callable[[], str], exit_code: int = EXIT_OK) -> None:
        """Print the JSON document or the human summary, then exit with `exit_code` (when not 0)."""
        if self.as_json:
            self.stdout.write(dumps(payload))
        else:
            self.stdout.write(human() if callable(human) else human)
        if exit_code != EXIT_OK:
            self.stdout.flush()
            # SystemExit rather than CommandError: a degraded status is an answer, not an error with a traceback.
            raise SystemExit(exit_code)

    def fail_usage(self, message: str) -> CommandError:
        return CommandError(message, returncode=EXIT_USAGE)
