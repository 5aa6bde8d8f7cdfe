"""The bounded sandbox renders exactly what the unbounded one did: every sample template (108, each with the sample
values, a declined transaction and all-blank values) and 63 templates using each feature a partner may use (loops,
macros, call blocks, blocks, filters, tests, operators, str methods, formatting). render_golden.json holds the renders
of templates/rendering.py before the limits (commit ef66fc9)."""

import importlib
import json
from pathlib import Path

import pytest

from subscriptions.catalog import EVENT_CATALOG
from templates.rendering import template_content_render
from templates.variables import sample_context

GOLDEN = json.loads((Path(__file__).parent / "render_golden.json").read_text())
SAMPLES = importlib.import_module("templates.migrations.0003_sample_templates").SAMPLES


def _contexts(event_name: str) -> dict[str, dict]:
    base = sample_context(event_name)
    declined = dict(base, status="DECLINED", declineReason="Card blocked", reason="", purpose="", comment="x")
    return {"sample": base, "declined": declined, "blank": dict.fromkeys(base, "")}


def test_every_sample_template_renders_as_before():
    expected = {(g["event"], g["channel"], g["locale"], g["context"]): (g["subject"], g["body"])
                for g in GOLDEN["samples"]}
    assert len(SAMPLES) == 108 and len(expected) == 3 * 108
    for event_name, channel, locale, subject, body in SAMPLES:
        for name, context in _contexts(event_name).items():
            rendered = template_content_render(subject=subject, body=body, context=context)
            assert (rendered.subject, rendered.body) == expected[(event_name, channel, locale, name)], (
                event_name, channel, locale, name)


@pytest.mark.parametrize("golden", GOLDEN["features"], ids=lambda g: g["source"][:40])
def test_every_feature_template_renders_as_before(golden):
    context: dict = {}
    for event_name in sorted(EVENT_CATALOG):
        context.update(sample_context(event_name))
    context["eventName"] = "CARD_TRANSACTION_APPROVED"
    assert template_content_render(subject="", body=golden["source"], context=context).body == golden["body"]
