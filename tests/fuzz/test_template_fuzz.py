"""Hypothesis-generated partner templates (random combinations of tags, filters, tests, operators, str methods, loops,
macros, call blocks and literals, sizes biased towards the limits) rendered with the limits of templates/limits.py.

Every template either renders or is refused with a TemplateContentError (no other exception ever escapes, so the
process rendering it never stops), every render stays within its CPU budget plus a small slack, rendered fields are
never longer than the output limit, and the process does not grow by what a bomb would allocate.

A short run is part of `make test`; `make fuzz` (FUZZ_FULL=1) runs many more examples."""

import contextlib
import os
import resource
import time
from collections import Counter

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscriptions.catalog import EVENT_CATALOG
from templates.rendering import TemplateContentError, template_content_render, template_content_validate
from templates.sandbox_callables import ALLOWED_FILTERS
from templates.variables import sample_context

FULL = os.environ.get("FUZZ_FULL") == "1"
EXAMPLES = 3000 if FULL else 40
# Between two reads of the clock a render runs one operation (well under 1 ms); a garbage collection pass Python
# starts meanwhile (up to ~0.2 s in a large process) and the compile of the template come on top.
SLACK_SECONDS = 0.3
TOTALS: Counter = Counter()

CONTEXT: dict = {}
for _event in sorted(EVENT_CATALOG):
    CONTEXT.update(sample_context(_event))
CONTEXT.update(x="x", i=3, v=[1, "a", {"k": 2}])  # names the generated loops and sets also bind
NAMES = [*sorted(CONTEXT)[:12], "amount", "merchantName", "kitNo", "daysLeft", "late"]
# Most generated templates call m() and r(): define them up front (a generated macro may redefine them).
PRELUDE = ("{% macro m(x=1) %}[{{ x }}{{ caller() if caller else '' }}]{% endmacro %}"
           "{% macro r(n=3) %}{{ n }}{% endmacro %}")

numbers = st.sampled_from([0, 1, 2, 3, -1, 7, 64, 100, 1000, 4096, 10_000, 100_000, 10**6, 10**9])
texts = st.sampled_from([
    "", "x", "ab c", "%s", "%d", "%999999999d", "%.9999f", "%(a)s", "{}", "{:999999999}", "{0:{1}}", "\t", "a\nb",
    "<b>", "'", "é", "x" * 200,
])
FILTERS = [*sorted(ALLOWED_FILTERS), "urlize", "tojson", "nofilter"]
METHODS = ["upper", "lower", "split", "replace", "join", "ljust", "rjust", "center", "zfill", "expandtabs", "format",
           "format_map", "count", "startswith", "strip", "items", "keys", "get", "encode", "translate", "to_bytes",
           "__class__", "mro"]
TESTS = ["defined", "number", "string", "divisibleby", "even", "odd", "in", "sameas", "upper", "iterable", "gt"]
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "~", "==", "<", "in", "and", "or"]


atoms = st.one_of(
    numbers.map(str),
    texts.map(repr),  # a Python string literal is a Jinja one
    st.sampled_from(NAMES),
    st.sampled_from(NAMES),
    numbers.map(lambda n: f"range({n})"),
    st.sampled_from(["[1, 2, 3]", "{'a': 1, 'b': 'x'}", "loop.index", "caller()", "x", "i", "v"]),
)


def _extend(inner):
    args = st.lists(inner, max_size=3).map(", ".join)
    return st.one_of(
        st.tuples(inner, st.sampled_from(OPERATORS), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, st.sampled_from(FILTERS), args).map(lambda t: f"({t[0]})|{t[1]}({t[2]})"),
        st.tuples(inner, st.sampled_from(FILTERS)).map(lambda t: f"({t[0]})|{t[1]}"),
        st.tuples(inner, st.sampled_from(METHODS), args).map(lambda t: f"({t[0]}).{t[1]}({t[2]})"),
        st.tuples(inner, st.sampled_from(TESTS)).map(lambda t: f"({t[0]} is {t[1]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]})[{t[1]}]"),
        st.lists(inner, max_size=4).map(lambda items: f"[{', '.join(items)}]"),
        st.tuples(st.sampled_from(["m", "r", "range"]), args).map(lambda t: f"{t[0]}({t[1]})"),
    )


expressions = st.recursive(atoms, _extend, max_leaves=8)


def _block(inner):
    return st.one_of(
        st.tuples(expressions, inner).map(lambda t: f"{{% for i in {t[0]} %}}{t[1]}{{% endfor %}}"),
        st.tuples(expressions, expressions, inner).map(
            lambda t: f"{{% for i in {t[0]} if {t[1]} %}}{t[2]}{{% else %}}-{{% endfor %}}"),
        st.tuples(expressions, inner, inner).map(lambda t: f"{{% if {t[0]} %}}{t[1]}{{% else %}}{t[2]}{{% endif %}}"),
        st.tuples(expressions, inner).map(lambda t: f"{{% set v = {t[0]} %}}{t[1]}{{{{ v }}}}"),
        inner.map(lambda body: f"{{% set b %}}{body}{{% endset %}}{{{{ b }}}}{{{{ b }}}}"),
        st.tuples(st.sampled_from(FILTERS), inner).map(lambda t: f"{{% filter {t[0]} %}}{t[1]}{{% endfilter %}}"),
        inner.map(lambda body: f"{{% macro m(x=1) %}}{body}{{% endmacro %}}{{{{ m() }}}}{{{{ m(2) }}}}"),
        inner.map(lambda body: f"{{% macro r(n=3) %}}{body}{{{{ r(n - 1) }}}}{{% endmacro %}}{{{{ r() }}}}"),
        inner.map(lambda body: f"{{% macro r(n=3) %}}{body}{{% if n > 0 %}}{{{{ r(n - 1) }}}}{{% endif %}}"
                               f"{{% endmacro %}}{{{{ r() }}}}"),
        inner.map(lambda body: f"{{% call m() %}}{body}{{% endcall %}}"),
        inner.map(lambda body: f"{{% for x in [[1, [2]]] recursive %}}{body}{{{{ loop(x) }}}}{{% endfor %}}"),
        inner.map(lambda body: f"{{% block b{len(body)} %}}{body}{{% endblock %}}"),
        st.lists(inner, min_size=2, max_size=4).map("".join),
    )


leaves = st.one_of(
    expressions.map(lambda e: f"{{{{ {e} }}}}"),
    expressions.map(lambda e: f"{{{{ {e} }}}}"),
    st.sampled_from(["text ", "\n", "{% raw %}{{ x }}{% endraw %}", "{# c #}"]),
    st.sampled_from(["{{", "{% if %}", "{% endfor %}"]),  # broken syntax now and then
)
templates = st.recursive(leaves, _block, max_leaves=10).map(lambda body: PRELUDE + body)


@pytest.fixture(scope="module", autouse=True)
def report():
    """Print what the run covered (visible with -s, as `make fuzz` runs it)."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    yield
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    if TOTALS:
        print(f"\ntemplate fuzz: {TOTALS['templates']} templates: {TOTALS['rendered']} rendered, "
              f"{TOTALS['refused']} refused ({TOTALS['limit']} by a limit); slowest render "
              f"{TOTALS['max_cpu_us'] / 1000:.1f} ms CPU; peak memory grew {growth_mb:.0f} MB; 0 other exceptions")
    assert growth_mb < 300  # one bomb that got through would allocate ~1 GB


def _render(source: str, subject: str) -> tuple[str | None, float]:
    started = time.thread_time()
    try:
        rendered = template_content_render(subject=subject, body=source, context=CONTEXT)
    except TemplateContentError as exc:
        refusal = exc
    else:
        refusal = None
    if refusal is not None:
        assert refusal.field in ("subject", "body") and refusal.message
        TOTALS["limit"] += any(word in refusal.message for word in ("too", "more than", "at most"))
        return None, time.thread_time() - started
    assert len(rendered.subject) <= django_settings.TEMPLATE_MAX_OUTPUT_CHARS
    assert len(rendered.body) <= django_settings.TEMPLATE_MAX_OUTPUT_CHARS
    return rendered.body, time.thread_time() - started


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # reprs of the recursive strategy
@settings(max_examples=EXAMPLES, deadline=None, derandomize=not FULL,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(source=templates)
def test_every_template_renders_or_is_refused_within_the_limits(source):
    TOTALS["templates"] += 1
    with contextlib.suppress(TemplateContentError):
        template_content_validate(event_name="CARD_TRANSACTION_APPROVED", subject="", body=source)
    subject = source if len(source) < 400 else "Paid {{ amount }}"  # short ones are a subject too
    _render(source, subject)  # compiles (once: compiled templates are cached) and renders
    body, cpu = _render(source, subject)  # the render alone, for the budget
    TOTALS["rendered" if body is not None else "refused"] += 1
    TOTALS["max_cpu_us"] = max(TOTALS["max_cpu_us"], int(cpu * 1e6))
    budget = django_settings.TEMPLATE_RENDER_CPU_MS / 1000
    assert cpu < 2 * budget + SLACK_SECONDS, f"{cpu:.3f} s CPU for {source!r}"  # subject and body: a budget each
