"""Rendering of partner templates: the one place that compiles and renders them (notifications/messaging and the
templates app call `template_content_render` and `template_content_validate`).

Templates are written by partners, so they are untrusted code: they run in the bounded sandbox of templates/sandbox.py
(no attribute access to internals, no mutation, no file tags, curated filters, and limits on time, work, size and
nesting from templates/limits.py), with `StrictUndefined` (a missing name is an error, never a silent blank). ANY
exception while compiling or rendering becomes a `TemplateContentError` naming the field and, when known, the line:
nothing a template does can raise anything else into the caller. Validation on save = parse + reject unknown names and
file tags + a trial render with the event's sample values, within the same limits."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from jinja2 import Template, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError

from templates.html_text import html_to_text, text_to_html
from templates.limits import RenderLimits, TemplateLimitError
from templates.sandbox import ENVIRONMENT, HTML_ENVIRONMENT, render_bounded
from templates.variables import sample_context, template_variables

_FILE_TAGS = (nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)
_MAX_REASON = 300  # an exception's text can quote a huge value back: keep the partner's message short


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
    html: str = ""  # emails only: the HTML alternative (escaped variables)


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


def _reason(exc: BaseException) -> str:
    text = (getattr(exc, "message", None) if isinstance(exc, TemplateError) else None) or str(exc)
    text = text or type(exc).__name__
    return text if len(text) <= _MAX_REASON else text[:_MAX_REASON] + "…"


def _content_error(exc: Exception, *, field: str) -> TemplateContentError:
    """The partner-readable refusal for anything raised while compiling or rendering one field."""
    if isinstance(exc, TemplateSyntaxError):
        return TemplateContentError(f"Syntax error on line {exc.lineno}: {_reason(exc)}", field=field, line=exc.lineno)
    line = getattr(exc, "lineno", None) if isinstance(exc, TemplateError) else None
    line = line or _template_line(exc)
    where = f" (line {line})" if line else ""
    name = {"subject": "subject", "html_body": "HTML body"}.get(field, "body")
    if isinstance(exc, TemplateLimitError):
        message = f"The {name}{where} {exc}."
    elif isinstance(exc, RecursionError):
        message = f"The {name}{where} nests or recurses too deeply."
    elif isinstance(exc, MemoryError):
        message = f"The {name}{where} needs too much memory to render."
    elif isinstance(exc, SecurityError):
        message = f"Not allowed in a template{where}: {_reason(exc)}"
    else:
        message = f"Cannot render{f' on line {line}' if line else ''}: {_reason(exc)}"
    return TemplateContentError(message, field=field, line=line)


def _environment(field: str):
    return HTML_ENVIRONMENT if field == "html_body" else ENVIRONMENT


def _check_source(source: str, *, event_name: str, field: str) -> None:
    try:
        tree = _environment(field).parse(source)
        undeclared = meta.find_undeclared_variables(tree)  # compiles, so unknown filters/tests fail here
    except Exception as exc:  # syntax errors, and e.g. RecursionError for thousands of nested brackets
        raise _content_error(exc, field=field) from None
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
def _compiled(source: str, html: bool = False) -> Template:
    # from_string compiles every call; a batch renders the same few templates hundreds of times.
    return (HTML_ENVIRONMENT if html else ENVIRONMENT).from_string(source)


def _render_one(source: str, context: dict[str, Any], *, field: str, limits: RenderLimits) -> str:
    try:
        return render_bounded(_compiled(source, field == "html_body"), context, limits).strip()
    except Exception as exc:
        raise _content_error(exc, field=field) from None


def template_content_validate(*, event_name: str, subject: str, body: str, html_body: str = "") -> None:
    """Raise TemplateContentError naming the field, variable and line if the template cannot be saved: it does not
    compile, uses a name the event does not provide, or does not render the event's sample within the limits."""
    fields = (("subject", subject), ("body", body), ("html_body", html_body))
    for field, source in fields:
        _check_source(source or "", event_name=event_name, field=field)
    context = sample_context(event_name)
    limits = RenderLimits.from_settings()
    for field, source in fields:
        if field != "html_body" or source:
            _render_one(source or "", context, field=field, limits=limits)


def template_content_render(
    *, subject: str, body: str, context: dict[str, Any], html_body: str = "", email: bool = False
) -> Rendered:
    """Render subject and body with a context from `templates.variables.template_context`, each within the limits
    (templates/limits.py); raises only TemplateContentError.

    `email`: both alternatives, always: the HTML part from `html_body` (variables escaped) or, without one, built
    from the text; the text part from `body` or, when the template has none, generated from the HTML."""
    limits = RenderLimits.from_settings()
    text = _render_one(body or "", context, field="body", limits=limits) if (body or "").strip() else ""
    html = _render_one(html_body, context, field="html_body", limits=limits) if (html_body or "").strip() else ""
    if email:
        text = text or html_to_text(html)
        html = html or text_to_html(text)
    return Rendered(
        subject=" ".join(_render_one(subject or "", context, field="subject", limits=limits).split()),
        body=text,
        html=html if email else "",
    )
