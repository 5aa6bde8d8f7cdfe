"""The resource limits of partner templates: one render's budget (operations, CPU time, text produced, nesting) and
the size checks that run BEFORE a template builds a string, list or number, so that no single step of a render can
allocate more than the limit.

Numbers (docs/security.md, "Template limits"): TEMPLATE_RENDER_CPU_MS of CPU time, TEMPLATE_RENDER_MAX_OPERATIONS
loop iterations + calls + filters + operators, and TEMPLATE_MAX_OUTPUT_CHARS characters per rendered field and per
value built; the fixed ones are below. A template is untrusted code: none of this relies on its good behaviour."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings

MAX_RANGE_ITEMS = 10_000  # range() in a template
MAX_NESTING = 20  # macros, call blocks, blocks and recursive loops inside each other
MAX_INT_BITS = 4096  # results of * and ** on whole numbers (about 1,233 digits)
PRODUCED_FACTOR = 4  # text written by one render, macro and {% set %} buffers included, per allowed output


class TemplateLimitError(Exception):
    """A template went over one of its limits. The message speaks to the partner (rendering adds field and line).

    Deliberately not a ValueError/TypeError: filters such as `int` swallow those."""


class NotRendering(Exception):
    """A budgeted operation ran outside `render_budget()`: Jinja's compile-time constant folding, which then leaves
    the expression to run time (and its checks) instead of computing it unbudgeted."""


@dataclass(frozen=True)
class RenderLimits:
    cpu_seconds: float
    max_operations: int
    max_chars: int

    @classmethod
    def from_settings(cls) -> RenderLimits:
        return cls(
            cpu_seconds=settings.TEMPLATE_RENDER_CPU_MS / 1000,
            max_operations=settings.TEMPLATE_RENDER_MAX_OPERATIONS,
            max_chars=settings.TEMPLATE_MAX_OUTPUT_CHARS,
        )

    @property
    def max_produced(self) -> int:
        return self.max_chars * PRODUCED_FACTOR


class RenderBudget:
    """What one render of one field may still spend. Kept in a ContextVar, never in the template's context, so that
    template code cannot see or reset it."""

    __slots__ = ("cpu_deadline", "depth", "limits", "max_produced", "next_clock_check", "operations", "produced")

    def __init__(self, limits: RenderLimits):
        self.limits = limits
        self.operations = 0
        self.produced = 0
        self.max_produced = limits.max_produced
        self.depth = 0
        self.cpu_deadline = time.thread_time() + limits.cpu_seconds
        # thread_time() costs ~0.7 µs, perf_counter() ~0.05 µs: CPU time cannot run ahead of the wall clock, so the
        # CPU clock is read only once the wall clock says the budget could be spent.
        self.next_clock_check = time.perf_counter() + limits.cpu_seconds

    def tick(self) -> None:
        self.operations += 1
        if self.operations > self.limits.max_operations:
            raise TemplateLimitError(
                f"does too much work: more than {self.limits.max_operations:,} loop iterations, calls, filters "
                "and operators in one render"
            )
        if time.perf_counter() >= self.next_clock_check:
            left = self.cpu_deadline - time.thread_time()
            if left <= 0:
                raise TemplateLimitError(
                    f"takes too long: more than {self.limits.cpu_seconds * 1000:g} ms of CPU time to render"
                )
            self.next_clock_check = time.perf_counter() + left

    def enter(self) -> None:
        self.tick()
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise TemplateLimitError(
                f"nests too deeply: macros, blocks or recursive loops more than {MAX_NESTING} levels inside each other"
            )

    def leave(self) -> None:
        self.depth -= 1

    def produce(self, size: int) -> None:
        self.produced += size
        if self.produced > self.max_produced:
            raise TemplateLimitError(
                f"writes too much text: more than {self.max_produced:,} characters in one render, macros "
                "and {% set %} blocks included"
            )


_CURRENT: ContextVar[RenderBudget | None] = ContextVar("template_render_budget", default=None)


def current_budget() -> RenderBudget:
    budget = _CURRENT.get()
    if budget is None:
        raise NotRendering("template operations run only inside a budgeted render")
    return budget


def budget_start(limits: RenderLimits) -> tuple[RenderBudget, Any]:
    """Start a budget for this thread's render; pass the token to `budget_end`."""
    budget = RenderBudget(limits)
    return budget, _CURRENT.set(budget)


def budget_end(token: Any) -> None:
    _CURRENT.reset(token)


# --- sizes --------------------------------------------------------------------------------------------------------


def value_size(value: Any, limit: int) -> int:
    """An upper estimate of len(str(value)), counted only until it passes `limit` (so it costs at most ~limit steps
    however large or shared the value is: [a, a, a] counts `a` three times, as str() would print it)."""
    if isinstance(value, str):
        return len(value)
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, float):
            total += 24
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            if total > limit:
                return total
            stack.extend(item)
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            if total > limit:
                return total
            stack.extend(item.keys())
            stack.extend(item.values())
        else:  # range, generators, macros, loop objects: str() gives a short description
            total += 80
        if total > limit:
            return total
    return total


def too_large(what: str, limit: int) -> TemplateLimitError:
    return TemplateLimitError(f"builds a value too large: {what} would be longer than {limit:,} characters")


def check_size(size: int, limits: RenderLimits, what: str) -> None:
    if size > limits.max_chars:
        raise too_large(what, limits.max_chars)


def check_result(value: Any, limits: RenderLimits, what: str) -> Any:
    """A text or collection just built by a filter, method or operator that does not amplify its input."""
    if isinstance(value, str | list | tuple | dict | set | frozenset):
        check_size(value_size(value, limits.max_chars), limits, what)
    return value


def check_int_bits(bits: int, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateLimitError(f"builds a number too large: {what} would have more than {MAX_INT_BITS} bits")


# printf-style conversions as Python parses them: %[(key)][flags][width][.precision][length]type
_PRINTF = re.compile(r"%(?:\((?:[^()]|\([^()]*\))*\))?[-+ #0]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?(.?)", re.DOTALL)


def check_printf(fmt: str, limits: RenderLimits) -> None:
    """`fmt % args` (the `%` operator and the `format` filter): the widths and precisions are what can make the
    result huge ('%999999999d'), so their sum must fit before the text is built."""
    total = len(fmt)
    for match in _PRINTF.finditer(fmt):
        width, precision = match.group(1), match.group(2) or ""
        if "*" in (width, precision):
            raise TemplateLimitError("uses a '*' width or precision in a % format, which templates do not support")
        # int() of a long digit run would itself be slow: anything longer than the limit's digits is too large.
        for digits in (width, precision):
            if len(digits) > len(str(limits.max_chars)):
                raise too_large("a % format field", limits.max_chars)
            total += int(digits or 0)
    check_size(total, limits, "a % format")


# str.format specs: [[fill]align][sign][z][#][0][width][grouping][.precision][type]
_FORMAT_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[,_]?(?:\.(\d*))?.?", re.DOTALL)


def check_format_spec(spec: str, limits: RenderLimits, already: int) -> None:
    """One replacement field of str.format ('{:999999999}'): its width and precision must fit, together with the
    text already formatted, before the field is built."""
    match = _FORMAT_SPEC.fullmatch(spec)
    if match is None:
        return  # not a valid spec: format() itself refuses it
    total = already
    for digits in match.groups():
        if digits and len(digits) > len(str(limits.max_chars)):
            raise too_large("a format field", limits.max_chars)
        total += int(digits or 0)
    check_size(total, limits, "a format field")


def check_replace(text: str, old: str, new: str, count: Any, limits: RenderLimits) -> None:
    occurrences = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        occurrences = min(occurrences, count)
    check_size(len(text) + occurrences * max(len(new) - len(old), 0), limits, "replace")


def check_padding(text: str, width: Any, limits: RenderLimits, what: str) -> None:
    """center/ljust/rjust/zfill: the result is max(len(text), width) long."""
    if isinstance(width, int):
        check_size(max(len(text), width), limits, what)


def check_join(parts: list[Any], separator: Any, limits: RenderLimits) -> None:
    size = value_size(separator, limits.max_chars) * max(len(parts) - 1, 0)
    for part in parts:
        if size > limits.max_chars:
            break
        size += value_size(part, limits.max_chars)
    check_size(size, limits, "join")
