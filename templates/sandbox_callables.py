"""What partner templates may call, and the size checks of each: the curated filters, tests and globals (every one
ticks the render budget and checks what it would build BEFORE building it), the methods of str, list, dict, int and
float a template may call, `str.format` with size-checked fields, and the checks of `*` (templates/sandbox.py wires
them into the environment)."""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

from jinja2.exceptions import SecurityError, TemplateError, TemplateRuntimeError
from jinja2.filters import FILTERS, make_attrgetter
from jinja2.runtime import BlockReference, LoopContext, Macro
from jinja2.sandbox import SandboxedEscapeFormatter, SandboxedFormatter
from jinja2.tests import TESTS

from templates.limits import (
    MAX_INT_BITS,
    MAX_RANGE_ITEMS,
    NotRendering,
    RenderLimits,
    TemplateLimitError,
    check_format_spec,
    check_int_bits,
    check_join,
    check_padding,
    check_printf,
    check_replace,
    check_result,
    check_size,
    current_budget,
    value_size,
)

# --- filters, tests, globals --------------------------------------------------------------------------------------

ALLOWED_FILTERS = frozenset({
    "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
    "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "items", "join", "last",
    "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "safe",
    "select", "selectattr", "slice", "sort", "string", "striptags", "sum", "title", "trim", "truncate", "unique",
    "upper", "urlencode", "wordcount", "wordwrap",
})


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _check_center(limits: RenderLimits, value: Any, width: Any = 80, *_: Any, **__: Any) -> None:
    check_padding(_text(value), width, limits, "center")


def _check_indent(limits: RenderLimits, s: Any, width: Any = 4, *_: Any, **__: Any) -> None:
    text = _text(s)
    indent = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    check_size(len(text) + (text.count("\n") + 2) * max(indent, 0), limits, "indent")


def _check_format(limits: RenderLimits, value: Any, *_: Any, **__: Any) -> None:
    check_printf(_text(value), limits)


def _check_replace(limits: RenderLimits, s: Any, old: Any, new: Any, count: Any = None, *_: Any, **__: Any) -> None:
    check_replace(_text(s), _text(old), _text(new), count, limits)


def _check_wordwrap(
    limits: RenderLimits, s: Any, width: Any = 79, break_long_words: Any = True, wrapstring: Any = None, *_: Any,
    **__: Any,
) -> None:
    text, joiner = _text(s), _text("\n" if wrapstring is None else wrapstring)
    if isinstance(width, int) and width > 0:
        lines = min(len(text), 2 * len(text) // width) + text.count("\n") + 1
        check_size(len(text) + lines * len(joiner), limits, "wordwrap")


def _check_count(what: str, name: str) -> Callable[..., None]:
    """batch/slice: `count` lists (or fill items) are built by a plain Python loop, without ticks."""

    def check(limits: RenderLimits, value: Any, count: Any = None, *_: Any, **__: Any) -> None:
        if isinstance(count, int) and count > limits.max_chars:
            raise TemplateLimitError(f"asks {what} for {count:,} {name}; at most {limits.max_chars:,}")

    return check


def _check_sum(limits: RenderLimits, iterable: Any, attribute: Any = None, start: Any = 0, *_: Any, **__: Any) -> None:
    if not isinstance(start, int | float):  # sum(start=[]) concatenates lists: quadratic, and a memory bomb
        raise TemplateLimitError("uses sum with a start that is not a number; sum adds numbers only")


def _check_round(limits: RenderLimits, value: Any, precision: Any = 0, *_: Any, **__: Any) -> None:
    # round(12, -10**7) computes 10**(10**7) inside one C call, out of reach of the ticks.
    if isinstance(precision, int) and abs(precision) > MAX_INT_BITS:
        raise TemplateLimitError(f"rounds to {precision:,} digits; at most {MAX_INT_BITS} either way")


def _check_modulo_test(limits: RenderLimits, value: Any, *_: Any, **__: Any) -> None:
    # odd, even and divisibleby compute `value % n`: on a text that is printf formatting ('%999999999d' is even).
    if isinstance(value, str):
        check_printf(value, limits)


# Jinja's own errors and the limits keep their message; MemoryError and RecursionError keep their type.
_KEEP_AS_IS = (TemplateError, TemplateLimitError, NotRendering, MemoryError, RecursionError)

PRECHECKS: dict[str, Callable[..., None]] = {
    "center": _check_center,
    "indent": _check_indent,
    "format": _check_format,
    "replace": _check_replace,
    "wordwrap": _check_wordwrap,
    "batch": _check_count("batch", "items per batch"),
    "slice": _check_count("slice", "slices"),
    "sum": _check_sum,
    "round": _check_round,
}


def bounded(
    kind: str, name: str, func: Callable[..., Any], precheck: Callable[..., None] | None = None
) -> Callable[..., Any]:
    passes_first = getattr(func, "jinja_pass_arg", None) is not None  # context, eval context or environment

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.tick()
        if precheck is not None:
            precheck(budget.limits, *(args[1:] if passes_first else args), **kwargs)
        try:
            result = func(*args, **kwargs)
        except _KEEP_AS_IS:
            raise
        except Exception as exc:  # e.g. truncate(-1)'s AssertionError: say which filter or test refused what
            raise TemplateRuntimeError(f"{kind} {name}: {exc or type(exc).__name__}") from exc
        return check_result(result, budget.limits, name)

    return wrapper


def bounded_join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    budget = current_budget()
    budget.tick()
    items = list(value)  # a generator can be read once: the check and the join read the list
    parts = list(map(make_attrgetter(eval_ctx.environment, attribute), items)) if attribute is not None else items
    check_join(parts, d, budget.limits)
    return FILTERS["join"](eval_ctx, items, d, attribute)


bounded_join.jinja_pass_arg = FILTERS["join"].jinja_pass_arg  # type: ignore[attr-defined]


def bounded_range(*args: int) -> range:
    items = range(*args)
    if len(items) > MAX_RANGE_ITEMS:
        raise OverflowError(f"Range too big: range() gives at most {MAX_RANGE_ITEMS:,} numbers")
    return items


bounded_range.template_callable = True  # type: ignore[attr-defined]

# --- calls --------------------------------------------------------------------------------------------------------

_SAFE_STR_METHODS = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isascii", "isdecimal",
    "isdigit", "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "lower",
    "lstrip", "partition", "removeprefix", "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip",
    "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper",
    "center", "expandtabs", "join", "ljust", "replace", "rjust", "zfill",  # size-checked in _check_str_method
})
_ALLOWED_METHODS: tuple[tuple[type, frozenset[str]], ...] = (
    (str, _SAFE_STR_METHODS),
    (list, frozenset({"count", "index", "copy"})),
    (tuple, frozenset({"count", "index"})),
    (dict, frozenset({"get", "items", "keys", "values", "copy"})),
    (bool, frozenset()),
    (int, frozenset({"bit_length"})),
    (float, frozenset({"is_integer"})),
    (LoopContext, frozenset({"cycle", "changed"})),
)


def _method_owner(obj: Any) -> tuple[Any, str] | None:
    if isinstance(obj, types.BuiltinMethodType | types.MethodType | types.MethodWrapperType):
        return getattr(obj, "__self__", None), getattr(obj, "__name__", "")
    return None


def _check_str_method(name: str, text: str, args: tuple, kwargs: dict, limits: RenderLimits) -> None:
    if name in ("center", "ljust", "rjust", "zfill"):
        check_padding(text, args[0] if args else kwargs.get("width"), limits, name)
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int):
            check_size(len(text) + text.count("\t") * max(size, 0), limits, "expandtabs")
    elif name == "replace" and len(args) >= 2:
        check_replace(text, _text(args[0]), _text(args[1]), args[2] if len(args) > 2 else kwargs.get("count"), limits)
    elif name == "join" and args and isinstance(args[0], list | tuple):
        check_join(list(args[0]), text, limits)
    elif name == "join":
        # A generator could be read only once (the check would empty it): join takes a list or tuple here.
        raise TemplateLimitError("calls join() with something that is not a list; use the join filter")


class _BoundedFormatting:
    """str.format / format_map: each replacement field is size-checked before it is formatted, and so is the total."""

    def __init__(self, *args: Any, limits: RenderLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.total = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        current_budget().tick()
        check_format_spec(format_spec, self.limits, self.total + value_size(value, self.limits.max_chars))
        text = super().format_field(value, format_spec)
        self.total += len(text)
        check_size(self.total, self.limits, "format")
        return text


class BoundedFormatter(_BoundedFormatting, SandboxedFormatter):
    pass


class BoundedEscapeFormatter(_BoundedFormatting, SandboxedEscapeFormatter):
    pass


def check_multiply(left: Any, right: Any, limits: RenderLimits) -> None:
    if type(left) is int and type(right) is int:
        check_int_bits(abs(left).bit_length() + abs(right).bit_length(), "*")
        return
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(count, int) and count > 0:
            check_size(value_size(seq, limits.max_chars) * count, limits, "*")


def check_callable(obj: Any, args: tuple, kwargs: dict, limits: RenderLimits) -> None:
    if isinstance(obj, Macro | LoopContext | BlockReference) or getattr(obj, "template_callable", False):
        return
    owned = _method_owner(obj)
    if owned is not None:
        owner, name = owned
        for owner_type, names in _ALLOWED_METHODS:
            if isinstance(owner, owner_type):
                if name not in names:
                    break
                if isinstance(owner, str):
                    _check_str_method(name, owner, args, kwargs, limits)
                return
    name = owned[1] if owned else getattr(obj, "__name__", type(obj).__name__)
    raise SecurityError(f"{name}() may not be called in a template")


def bounded_filters() -> dict[str, Callable[..., Any]]:
    filters = {name: bounded("filter", name, FILTERS[name], PRECHECKS.get(name)) for name in ALLOWED_FILTERS}
    filters["join"] = bounded_join
    return filters


def bounded_tests() -> dict[str, Callable[..., Any]]:
    modulo = {"odd", "even", "divisibleby"}
    return {
        name: bounded("test", name, test, _check_modulo_test if name in modulo else None)
        for name, test in TESTS.items()
    }
