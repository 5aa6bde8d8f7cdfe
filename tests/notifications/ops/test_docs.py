"""docs/operations.md documents every environment variable the settings read (so the table cannot go stale)."""

import re

from tests.fixtures.processes import ROOT

ENV_READ = re.compile(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def test_every_setting_is_in_the_configuration_table():
    settings_source = "".join(path.read_text() for path in (ROOT / "config" / "settings").glob("*.py"))
    # PYTEST_* are set by the test runner itself (e.g. pytest-xdist's worker id), not by an operator.
    variables = {name for name in ENV_READ.findall(settings_source) if not name.startswith("PYTEST_")}
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (ROOT / "docs" / "operations.md").read_text()))

    assert len(variables) > 40
    assert sorted(variables - documented) == []
