"""Partner templates are untrusted code: each finding of issue 15 reproduced as a template, and refused with a
TemplateContentError naming the field and line, quickly and without building anything large (docs/security.md,
"Template limits")."""

import sys
import time
import tracemalloc

import pytest

from templates.limits import MAX_NESTING, NotRendering
from templates.rendering import TemplateContentError, template_content_render, template_content_validate
from templates.sandbox import ENVIRONMENT
from templates.variables import sample_context

EVENT = "CARD_TRANSACTION_APPROVED"
# Sorting (and size-checking) a 1,000-item list costs ~0.6 ms of CPU in a few operations: 40,000 take ~25 s.
SORT = "{% set l = range(1000)|list %}"
SLOW = (SORT + "{% for i in range(200) %}{% for j in range(200) %}{% if l|sort|first %}{% endif %}"
        "{% endfor %}{% endfor %}")
CUBE = ("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
        "{% endfor %}{% endfor %}{% endfor %}")


def _refusal(body: str, subject: str = "") -> TemplateContentError:
    with pytest.raises(TemplateContentError) as info:
        template_content_validate(event_name=EVENT, subject=subject, body=body)
    return info.value


def _render(body: str, **values) -> str:
    return template_content_render(subject="", body=body, context=sample_context(EVENT, overrides=values)).body


def test_a_recursive_macro_is_refused_not_a_recursion_error():
    error = _refusal("Hi\n{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}")
    assert error.field == "body" and error.line == 2
    assert f"nests too deeply: macros, blocks or recursive loops more than {MAX_NESTING} levels" in error.message


@pytest.mark.parametrize("body", [
    "{% block a %}{{ self.a() }}{% endblock %}",
    "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
    "{% macro b() %}{{ caller() }}{% endmacro %}{% macro a() %}{% call b() %}{{ a() }}{% endcall %}{% endmacro %}"
    "{{ a() }}",
])
def test_other_recursion_is_refused(body):
    assert "nests too deeply" in _refusal(body).message


def test_recursion_error_from_a_deep_caller_stack_is_a_content_error():
    # The worker may render deep in its own stack; whatever Python raises still comes back as a refusal.
    def deep(depth: int):
        if depth:
            return deep(depth - 1)
        return _render("{% macro m(n) %}{% if n %}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(15) }}")

    with pytest.raises(TemplateContentError) as info:
        deep(sys.getrecursionlimit() - 60)
    assert "too deeply" in info.value.message


def test_truncate_minus_one_is_refused_with_the_filter_named():
    error = _refusal("{{ kitNo|truncate(-1) }}")
    assert error.message == "Cannot render on line 1: filter truncate: expected length >= 3, got -1"


@pytest.mark.parametrize(("body", "reason"), [
    ("{{ '%999999999d'|format(1) }}", "a % format field would be longer than 16,384 characters"),
    ("{{ '%999999999s' % amount }}", "a % format field would be longer than 16,384 characters"),
    ("{{ '%999999999d' is even }}", "a % format field would be longer"),  # found by tests/fuzz
    ("{{ ['%999999999d']|select('divisibleby', 3)|list }}", "a % format field would be longer"),
    ("{{ '%*d' % (999999999, 1) }}", "'*' width"),
    ("{{ kitNo|indent(10**9) }}", "indent would be longer"),
    ("{{ 'a\\nb\\nc'|indent('x' * 6000) }}", "indent would be longer"),
    ("{{ kitNo|center(1000000000) }}", "center would be longer"),
    ("{{ ('x ' * 8000)|wordwrap(1, wrapstring='--') }}", "wordwrap would be longer"),
    ("{{ ('a' * 10000)|replace('a', 'bb') }}", "replace would be longer"),
    ("{{ ['x' * 9000, 'y' * 9000]|join }}", "would be longer"),
    ("{{ ['a', 'b', 'c', 'd', 'e']|join('x' * 5000) }}", "join would be longer"),
    ("{{ kitNo.ljust(10**9) }}", "ljust would be longer"),
    ("{{ kitNo.rjust(10**9) }}", "rjust would be longer"),
    ("{{ kitNo.center(10**9) }}", "center would be longer"),
    ("{{ kitNo.zfill(10**9) }}", "zfill would be longer"),
    ("{{ '\t'.expandtabs(10**9) }}", "expandtabs would be longer"),
    ("{{ ('x' * 5000).join(['a', 'b', 'c', 'd', 'e']) }}", "join would be longer"),
    ("{{ ('a' * 9000).replace('a', 'bbb') }}", "replace would be longer"),
    ("{{ '{:999999999}'.format(1) }}", "a format field would be longer"),
    ("{{ '{0:{1}}'.format(1, 10**9) }}", "a format field would be longer"),
    ("{{ '{:9000}{:9000}'.format(1, 2) }}", "would be longer"),
    ("{{ 'x' * 100000000 }}", "* would be longer"),
    ("{{ [amount] * 100000000 }}", "* would be longer"),
    ("{% set a = 'x' * 9000 %}{{ a ~ a }}", "~ would be longer"),
    ("{% set a = 'x' * 9000 %}{{ a + a }}", "+ would be longer"),
    ("{% set a = 'x' * 9000 %}{% set b = [a, a, a, a, a, a, a, a] %}{{ b }}", "a list or dict literal"),
    ("{{ 2 ** 100000 }}", "a number too large"),
    ("{{ (10 ** 1000) * (10 ** 1000) }}", "a number too large"),
    ("{{ 12|round(-10000000) }}", "rounds to"),
    ("{{ range(10000)|batch(1)|sum(start=[]) }}", "sum adds numbers only"),
    ("{{ [1]|batch(1000000000, 0)|list }}", "items per batch"),
    ("{{ [1]|slice(1000000000)|list }}", "slices"),
    ("{% for i in range(10000000) %}{% endfor %}", "Range too big"),
])
def test_a_bomb_is_refused_before_it_is_built(body, reason):
    tracemalloc.start()
    started = time.perf_counter()
    try:
        error = _refusal(body)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reason in error.message
    assert error.field == "body" and error.line == 1
    assert peak < 8 * 1024 * 1024, f"{peak:,} bytes allocated"  # what was refused was never built (1 GB before)
    assert elapsed < 1.0


@pytest.mark.parametrize("body", [
    "{{ (1).to_bytes(1000000000, 'big') }}",
    "{{ kitNo.encode() }}",
    "{{ kitNo.translate({107: 'x' * 10000}) }}",
    "{{ {}.setdefault('a', 1) }}",
    "{{ ''.join(range(3)|map('string')) }}",
])
def test_only_listed_methods_may_be_called(body):
    message = _refusal(body).message
    assert any(text in message for text in ("may not be called", "is unsafe", "not a list"))


@pytest.mark.parametrize("body", ["{{ lipsum() }}", "{{ cycler(1) }}", "{{ namespace() }}", "{{ dict(a=1) }}"])
def test_only_range_is_a_global(body):
    assert "Unknown variable" in _refusal(body).message


@pytest.mark.parametrize("name", ["urlize", "xmlattr", "pprint", "random", "tojson"])
def test_filters_outside_the_curated_set_do_not_exist(name):
    assert f"No filter named '{name}'" in _refusal(f"{{{{ kitNo|{name} }}}}").message


def test_a_1000_cubed_loop_is_refused_well_under_a_second():
    started = time.perf_counter()
    error = _refusal(CUBE)
    assert time.perf_counter() - started < 1.0  # it was saved with 201 after 59 s
    assert "does too much work: more than 50,000 loop iterations, calls, filters and operators" in error.message


def test_the_operation_budget_is_a_setting(settings):
    loop = "{% for i in range(200) %}{% endfor %}ok"
    assert _render(loop) == "ok"
    settings.TEMPLATE_RENDER_MAX_OPERATIONS = 100
    with pytest.raises(TemplateContentError, match="more than 100 loop iterations"):
        _render(loop)


def test_a_slow_template_is_stopped_by_the_time_budget(settings):
    settings.TEMPLATE_RENDER_MAX_OPERATIONS = 10_000_000  # so that only the clock can stop it
    _refusal(SLOW)  # the first refusal in a process also loads Jinja's traceback rewriting
    started_cpu, started = time.thread_time(), time.perf_counter()
    error = _refusal(SLOW)
    cpu = time.thread_time() - started_cpu
    assert "takes too long: more than 50 ms of CPU time to render" in error.message
    assert error.line == 1
    # The clock is read between operations: the render stops within one operation (< 1 ms here) of its budget, or
    # within a garbage collection pass if Python runs one meanwhile (up to ~0.2 s in a process this size).
    assert cpu < 0.050 + 0.250
    assert time.perf_counter() - started < 2.0  # ~2 s per render before, and unbounded


def test_the_time_budget_is_a_setting(settings):
    settings.TEMPLATE_RENDER_MAX_OPERATIONS = 10_000_000
    moderate = SORT + "{% for i in range(10) %}{% if l|sort|first %}{% endif %}{% endfor %}ok"  # ~6 ms
    assert _render(moderate) == "ok"
    settings.TEMPLATE_RENDER_CPU_MS = 1
    with pytest.raises(TemplateContentError, match="more than 1 ms of CPU time"):
        _render(moderate)


def test_output_is_capped_per_field(settings):
    long = "{% for i in range(2000) %}0123456789{% endfor %}"  # 20,000 characters
    with pytest.raises(TemplateContentError) as info:
        template_content_render(subject=long, body="ok", context=sample_context(EVENT))
    assert info.value.field == "subject"
    assert info.value.message == "The subject renders to more than 16,384 characters."
    settings.TEMPLATE_MAX_OUTPUT_CHARS = 32_768
    assert len(_render(long)) == 20_000


def test_text_written_into_buffers_is_capped_too():
    # A macro's or {% set %} block's text is built before it is output: it counts as it is written.
    body = ("{% macro big() %}{% for i in range(1000) %}" + "y" * 100 + "{% endfor %}{% endmacro %}"
            "{{ big()|length }}")
    assert "writes too much text: more than 65,536 characters in one render" in _refusal(body).message
    assert "writes too much text" in _refusal(
        "{% set x %}{% for i in range(1000) %}" + "y" * 100 + "{% endfor %}{% endset %}{{ x|length }}"
    ).message


def test_the_reason_names_field_and_line():
    error = _refusal("ok", subject="fine {{ amount }}\n\n{{ 'x' * 100000 }}")
    assert (error.field, error.line) == ("subject", 3)
    assert error.message.startswith("The subject (line 3) builds a value too large")


class _Raises:
    """A value whose text conversion fails the way a broken value could: with any exception at all."""

    def __init__(self, exc: BaseException):
        self.exc = exc

    def __str__(self):
        raise self.exc


@pytest.mark.parametrize(("exc", "text"), [
    (KeyError("x"), "Cannot render on line 1: 'x'"),
    (OSError("disk"), "Cannot render on line 1: disk"),
    (AssertionError(), "Cannot render on line 1: AssertionError"),
    (MemoryError(), "needs too much memory"),
    (RecursionError(), "nests or recurses too deeply"),
    (OverflowError("big"), "Cannot render on line 1: big"),
])
def test_any_exception_while_rendering_becomes_a_content_error(exc, text):
    with pytest.raises(TemplateContentError) as info:
        template_content_render(subject="", body="{{ amount }}", context={"amount": _Raises(exc)})
    assert text in info.value.message


def test_compile_errors_are_content_errors_too():
    nested = "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}"  # RecursionError in Jinja's parser
    assert _refusal(nested).message == "The body nests or recurses too deeply."
    with pytest.raises(TemplateContentError, match="nests or recurses too deeply"):
        _render(nested)


def test_budgeted_operations_do_not_run_outside_a_budgeted_render():
    # Jinja folds constant expressions at compile time; with no budget they are left to run time, where they are
    # checked. Rendering without render_bounded is refused outright.
    template = ENVIRONMENT.from_string("{{ 'a'|upper }}{% for i in range(3) %}{% endfor %}")
    with pytest.raises(NotRendering):
        template.render()
    assert _render("{{ 'a'|upper }}{{ 'x' * 3 }}{{ [1, 2] }}") == "Axxx[1, 2]"


def test_limits_do_not_carry_over_between_renders(settings):
    settings.TEMPLATE_RENDER_MAX_OPERATIONS = 300
    loop = "{% for i in range(250) %}{% endfor %}ok"
    for _ in range(5):  # 5 x 250 operations in all, each render within its own budget
        assert _render(loop) == "ok"
