"""The bounded Jinja2 environment that runs partner templates (templates/rendering.py is its only user).

Jinja2 compiles a template to Python, so the limits are compiled in, where template code cannot avoid them:

- Before code generation (`_BoundedCodeGenerator.visit_Template`) the parsed tree is rewritten: every `for` body and
  loop filter ticks the budget; every macro, call block, block and recursive loop body enters and leaves a nesting
  level; output written to a buffer (macros, {% set %} and {% filter %} blocks) is counted; every list, tuple and
  dict literal is size-checked. `~` joins are size-checked before the join (`visit_Concat`). The inserted nodes
  call this module's `hook_*` functions through ImportedName nodes, which the parser never creates: template code
  can neither name nor skip them.
- Every operator goes through `call_binop`, every call (methods, macros, `range`) through `call`, every filter and
  test through a wrapper (templates/sandbox_callables.py): each one ticks the budget, checks the size of what it
  would build BEFORE building it (`'%999999999d'|format(1)`, `indent(10**9)`, `'x'.ljust(10**9)`, `2 ** 10**6`),
  and checks what it built.
- Only a curated set of filters, tests and globals exists (no `lipsum`, `cycler`, `namespace`, `urlize`, `xmlattr`,
  `pprint`, `random`, `tojson`), and only listed methods of str, list, dict, int and float may be called.
- `render_bounded` streams the output (`Template.generate`) and stops as soon as it is longer than allowed.

The budget lives in a ContextVar set by `render_bounded` (templates/limits.py)."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from typing import Any

from jinja2 import StrictUndefined, Template, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from templates.limits import (
    RenderLimits,
    TemplateLimitError,
    budget_end,
    budget_start,
    check_int_bits,
    check_printf,
    check_result,
    check_size,
    current_budget,
    value_size,
)
from templates.sandbox_callables import (
    BoundedEscapeFormatter,
    BoundedFormatter,
    bounded_filters,
    bounded_range,
    bounded_tests,
    check_callable,
    check_multiply,
)

# --- the tree rewrite ---------------------------------------------------------------------------------------------


_HOOK_MODULE = "templates.sandbox"
_CONCAT = f"{_HOOK_MODULE}.hook_concat"


def _hook(name: str, *args: nodes.Expr, lineno: int) -> nodes.Call:
    """A call of one of this module's `hook_*` functions. The parser never creates ImportedName nodes, so template
    code cannot name, shadow or skip these calls; they compile to a direct Python call (`visit_Call` below)."""
    return nodes.Call(nodes.ImportedName(f"{_HOOK_MODULE}.{name}", lineno=lineno), list(args), [], None, None,
                      lineno=lineno)


def _statement(name: str, lineno: int) -> nodes.ExprStmt:
    return nodes.ExprStmt(_hook(name, lineno=lineno), lineno=lineno)


def _nested(body: list[nodes.Node], lineno: int) -> list[nodes.Node]:
    return [_statement("hook_enter", lineno), *body, _statement("hook_leave", lineno)]


class _Instrument(NodeTransformer):
    def __init__(self) -> None:
        self.buffered = 0  # inside a macro, call block, {% set %} or {% filter %} block: output goes to a buffer

    def visit_Output(self, node: nodes.Output) -> nodes.Output:
        self.generic_visit(node)
        if self.buffered:  # top-level output is streamed and capped by render_bounded itself
            node.nodes = [_hook("hook_emit", child, lineno=child.lineno) for child in node.nodes]
        return node

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        if node.recursive:
            node.body = _nested(node.body, node.lineno)
        else:
            node.body = [_statement("hook_tick", node.lineno), *node.body]
        if node.test is not None:  # items the filter skips cost a tick too
            node.test = nodes.And(_hook("hook_tick_true", lineno=node.lineno), node.test, lineno=node.lineno)
        return node

    def _buffered(self, node: nodes.Node) -> nodes.Node:
        self.buffered += 1
        try:
            self.generic_visit(node)
        finally:
            self.buffered -= 1
        if not isinstance(node, nodes.AssignBlock | nodes.FilterBlock):
            node.body = _nested(node.body, node.lineno)
        return node

    visit_Macro = visit_CallBlock = visit_AssignBlock = visit_FilterBlock = _buffered

    def visit_Block(self, node: nodes.Block) -> nodes.Block:
        self.generic_visit(node)
        node.body = _nested(node.body, node.lineno)  # self.block() can call a block from inside itself
        return node

    def _literal(self, node: nodes.List | nodes.Dict | nodes.Tuple) -> nodes.Expr:
        self.generic_visit(node)
        if getattr(node, "ctx", "load") != "load":  # an assignment target, not a value
            return node
        return _hook("hook_literal", node, lineno=node.lineno)

    visit_List = visit_Dict = visit_Tuple = _literal


class _BoundedCodeGenerator(CodeGenerator):
    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        _Instrument().visit(node)
        # visit_Concat writes a call of hook_concat: an ImportedName anywhere in the tree makes Jinja import it.
        node.body.insert(0, nodes.ExprStmt(nodes.ImportedName(_CONCAT, lineno=1), lineno=1))
        node.set_environment(self.environment)
        super().visit_Template(node, frame)

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        target = node.node
        if isinstance(target, nodes.ImportedName) and target.importname.startswith(f"{_HOOK_MODULE}.hook_"):
            self.write(f"{self.import_aliases[target.importname]}(")
            for arg in node.args:
                self.visit(arg, frame)
                self.write(", ")
            self.write(")")
            return
        super().visit_Call(node, frame, forward_caller=forward_caller)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # Jinja's own, with the parts size-checked before they are joined.
        if frame.eval_ctx.volatile:
            func_name = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            func_name = "markup_join"
        else:
            func_name = "str_join"
        self.write(f"{func_name}({self.import_aliases[_CONCAT]}((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(")))")


# --- the hooks the rewritten tree calls -----------------------------------------------------------------------------


def hook_tick() -> None:
    current_budget().tick()


def hook_tick_true() -> bool:
    current_budget().tick()
    return True


def hook_enter() -> None:
    current_budget().enter()


def hook_leave() -> None:
    current_budget().leave()


def hook_emit(value: Any) -> Any:
    budget = current_budget()
    budget.produce(len(value) if type(value) is str else value_size(value, budget.max_produced))
    return value


def hook_literal(value: Any) -> Any:
    budget = current_budget()
    check_size(value_size(value, budget.limits.max_chars), budget.limits, "a list or dict literal")
    return value


def hook_concat(parts: tuple) -> tuple:
    budget = current_budget()
    budget.tick()
    size = 0
    for part in parts:
        size += value_size(part, budget.limits.max_chars)
        check_size(size, budget.limits, "~")
    return parts


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = bounded_filters()
        self.tests = bounded_tests()
        self.globals = {"range": bounded_range}

    # Operators and calls.
    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = current_budget()
        budget.tick()
        limits = budget.limits
        if operator == "%" and isinstance(left, str):
            check_printf(left, limits)
        elif operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            check_size(value_size(left, limits.max_chars) + value_size(right, limits.max_chars), limits, "+")
        elif operator == "*":
            check_multiply(left, right, limits)
        elif operator == "**" and type(left) is int and type(right) is int and right > 0 and abs(left) > 1:
            check_int_bits(abs(left).bit_length() * right, "**")
        return check_result(super().call_binop(context, operator, left, right), limits, operator)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.tick()
        if not isinstance(__obj, Undefined):  # calling an undefined name raises Jinja's own error
            check_callable(__obj, args, kwargs, budget.limits)
        result = super().call(__context, __obj, *args, **kwargs)
        return check_result(result, budget.limits, getattr(__obj, "__name__", "a call"))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`'...'.format(...)` and `format_map`: Jinja's sandboxed formatter, with each field size-checked."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or value.__name__ not in (
            "format", "format_map"
        ):
            return None
        owner = value.__self__
        if not isinstance(owner, str):
            return None
        is_format_map = value.__name__ == "format_map"

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            limits = current_budget().limits
            if isinstance(owner, Markup):
                formatter: Any = BoundedEscapeFormatter(self, escape=owner.escape, limits=limits)
            else:
                formatter = BoundedFormatter(self, limits=limits)
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            return type(owner)(formatter.vformat(owner, args, kwargs))

        bounded_format.template_callable = True  # type: ignore[attr-defined]
        return bounded_format


# --- rendering ----------------------------------------------------------------------------------------------------

ENVIRONMENT = BoundedEnvironment(
    undefined=StrictUndefined,
    autoescape=False,  # SMS, push, in-app and plain-text email: nothing is HTML
    keep_trailing_newline=False,
    loader=None,  # include/extends/import cannot read anything
    auto_reload=False,
    cache_size=400,
)
# The HTML part of an email: every variable is escaped (a merchant name such as `<b>Eve</b>` arrives as text, never
# as markup), with the same limits; `|safe` is not among the curated filters.
HTML_ENVIRONMENT = BoundedEnvironment(
    undefined=StrictUndefined, autoescape=True, keep_trailing_newline=False, loader=None, auto_reload=False,
    cache_size=400,
)
del HTML_ENVIRONMENT.filters["safe"]  # `{{ merchantName|safe }}` would let a value through as markup


def render_bounded(template: Template, context: dict[str, Any], limits: RenderLimits) -> str:
    """Render within the limits, streaming the output and stopping as soon as it is longer than allowed."""
    _, token = budget_start(limits)
    try:
        chunks: list[str] = []
        size = 0
        stream: Iterator[str] = template.generate(context)
        try:
            for chunk in stream:
                size += len(chunk)
                if size > limits.max_chars:
                    raise TemplateLimitError(f"renders to more than {limits.max_chars:,} characters")
                chunks.append(chunk)
        finally:
            stream.close()  # type: ignore[attr-defined]
        return "".join(chunks)
    finally:
        budget_end(token)
