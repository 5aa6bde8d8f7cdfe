"""Sandboxed Jinja2 rendering of notification templates.

Templates are written by partners, so rendering is locked down: an `ImmutableSandboxedEnvironment` (no attribute
access to internals, no mutation of the context), `StrictUndefined` (a missing name is an error, never a silent
blank), no loader (so `include`/`extends`/`import` cannot read files), and caps on operators that could build huge
strings. Validation on save = parse + reject unknown names and file tags + a trial render with sample values."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from templates.variables import sample_context, template_variables

# Longest output a single operator may build ("x" * 10**9 would otherwise exhaust memory).
MAX_OPERATOR_RESULT = 10_000
MAX_POWER_EXPONENT = 64
_FILE_TAGS = (nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)


class _NotificationEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**" and isinstance(right, int | float) and abs(right) > MAX_POWER_EXPONENT:
            raise SecurityError("exponent too large")
        if operator_name == "*":
            for seq, count in ((left, right), (right, left)):
                if not (isinstance(seq, str | list | tuple) and isinstance(count, int)):
                    continue
                if len(seq) * count > MAX_OPERATOR_RESULT:
                    raise SecurityError("result of * too large")
        return super().call_binop(context, operator_name, left, right)


_ENV = _NotificationEnvironment(
    undefined=StrictUndefined,
    autoescape=False,  # SMS, push and plain-text email: nothing is HTML
    keep_trailing_newline=False,
    loader=None,
    auto_reload=False,
    cache_size=400,
)
# Only `range` (capped by the sandbox) stays; lipsum, cycler, joiner and namespace have no use in a notification.
_ENV.globals = {"range": _ENV.globals["range"]}


class TemplateContentError(ValueError):
    """A template that cannot be saved or rendered; `field` is "subject" or "body"."""

    def __init__(self, message: str, *, field: str = "body", variable: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.variable = variable
        self.line = line


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def _first_line_of(tree: nodes.Template, name: str) -> int | None:
    for node in tree.find_all(nodes.Name):
        if node.name == name and node.ctx == "load":
            return node.lineno
    return None


def _template_line(exc: BaseException) -> int | None:
    """Line of the template where a render error happened (Jinja rewrites tracebacks to template lines)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _check_source(source: str, *, event_name: str, field: str) -> None:
    try:
        tree = _ENV.parse(source)
        undeclared = meta.find_undeclared_variables(tree)  # compiles, so unknown filters/tests fail here
    except TemplateSyntaxError as exc:
        raise TemplateContentError(
            f"Syntax error on line {exc.lineno}: {exc.message}", field=field, line=exc.lineno
        ) from None
    for node in tree.find_all(_FILE_TAGS):
        raise TemplateContentError(
            f"Line {node.lineno}: include/extends/import are not allowed in notification templates.",
            field=field, line=node.lineno,
        )
    allowed = template_variables(event_name)
    unknown = sorted(undeclared - set(allowed))
    if unknown:
        name = unknown[0]
        line = _first_line_of(tree, name)
        others = f" (also unknown: {', '.join(unknown[1:])})" if len(unknown) > 1 else ""
        raise TemplateContentError(
            f"Unknown variable '{name}' on line {line} for event {event_name}{others}. "
            f"Allowed: {', '.join(sorted(allowed))}.",
            field=field, variable=name, line=line,
        )


@functools.lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    # from_string compiles every call; a batch renders the same few templates hundreds of times.
    return _ENV.from_string(source)


def _render_one(source: str, context: dict[str, Any], *, field: str) -> str:
    try:
        return _compiled(source).render(context).strip()
    except SecurityError as exc:
        line = _template_line(exc)
        where = f" (line {line})" if line else ""
        raise TemplateContentError(f"Not allowed in a template{where}: {exc}", field=field, line=line) from None
    except TemplateError as exc:
        line = getattr(exc, "lineno", None) or _template_line(exc)
        where = f" on line {line}" if line else ""
        raise TemplateContentError(f"Cannot render{where}: {exc.message or exc}", field=field, line=line) from None
    except (ArithmeticError, TypeError, ValueError) as exc:
        line = _template_line(exc)
        where = f" on line {line}" if line else ""
        raise TemplateContentError(f"Cannot render{where}: {exc}", field=field, line=line) from None


def template_content_validate(*, event_name: str, subject: str, body: str) -> None:
    """Raise TemplateContentError naming the field, variable and line if the template cannot be saved."""
    for field, source in (("subject", subject), ("body", body)):
        _check_source(source or "", event_name=event_name, field=field)
    context = sample_context(event_name)
    for field, source in (("subject", subject), ("body", body)):
        _render_one(source or "", context, field=field)


def template_content_render(*, subject: str, body: str, context: dict[str, Any]) -> Rendered:
    """Render subject and body with a context from `templates.variables.template_context`."""
    return Rendered(
        subject=" ".join(_render_one(subject or "", context, field="subject").split()),
        body=_render_one(body, context, field="body"),
    )
