import pytest


@pytest.fixture(autouse=True)
def _templates_without_quiet_hours(sample_templates, no_default_quiet_hours):
    """Every test here sees the sample templates and no default quiet hours."""
