"""`manage.py run_advance_sweep`: JSON and table output, dry run, progress bar, exit codes and bad input."""

import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from notifications.models import AdvanceNotice
from notifications.sweep import on_the_day
from tests.fixtures.processes import ROOT
from tests.notifications.sweep.conftest import EXPIRY, EXPIRY_ADVANCE, RUN_DAY, day, make_card

pytestmark = pytest.mark.django_db


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(*args: str, stderr: io.StringIO | None = None) -> str:
    out = io.StringIO()
    call_command("run_advance_sweep", *args, stdout=out, stderr=stderr or io.StringIO())
    return out.getvalue()


def test_json_output_is_the_report(sweep_partner, product):
    make_card(sweep_partner, product=product, expiry=day(30))
    make_card(sweep_partner, product=product, expiry=day(-1))

    report = json.loads(_run("--date", RUN_DAY.isoformat(), "--json"))

    assert report["runDate"] == "2026-06-01"
    assert report["dryRun"] is False
    assert report["tenantId"] is None
    assert report["totals"] == {"due": 2, "sent": 2, "failures": 0}
    rows = {(r["eventName"], r["daysBefore"]): r for r in report["rows"]}
    assert rows[EXPIRY_ADVANCE, 30] == {
        "eventName": EXPIRY_ADVANCE,
        "daysBefore": 30,
        "due": 1,
        "sent": 1,
        "late": 0,
        "skipped": {},
    }
    assert rows[EXPIRY, 0]["sent"] == 1
    assert AdvanceNotice.objects.count() == 2

    again = json.loads(_run("--date", RUN_DAY.isoformat(), "--json"))
    assert {(r["eventName"], r["daysBefore"]): r["skipped"] for r in again["rows"]}[EXPIRY_ADVANCE, 30] == {
        "already_sent": 1
    }


def test_table_output_and_dry_run(sweep_partner, product):
    make_card(sweep_partner, product=product, expiry=day(30))

    text = _run("--date", RUN_DAY.isoformat(), "--dry-run", "--tenant", "acme")

    lines = text.splitlines()
    assert lines[0] == "Advance sweep for 2026-06-01 · tenant acme · DRY RUN"
    assert lines[1].split() == ["EVENT", "DAYS", "DUE", "SENT", "LATE", "SKIPPED"]
    row = next(line for line in lines if line.startswith(EXPIRY_ADVANCE) and line.split()[1] == "30")
    assert row.split()[2:] == ["1", "0", "0", "dry_run=1"]
    assert lines[-1].startswith("Total: 1 due, 0 sent, 0 failed state changes")
    assert AdvanceNotice.objects.count() == 0


def test_progress_bar_is_drawn_on_a_terminal_only(sweep_partner, product):
    make_card(sweep_partner, product=product, expiry=day(30))
    terminal, pipe = _Terminal(), io.StringIO()

    _run("--date", RUN_DAY.isoformat(), "--dry-run", stderr=terminal)
    _run("--date", RUN_DAY.isoformat(), "--dry-run", stderr=pipe)

    assert "[" + "#" * 30 + "] 100%  1/1" in terminal.getvalue()
    assert pipe.getvalue() == ""


def test_unknown_tenant_is_a_clear_error_with_exit_code_2(sweep_partner):
    with pytest.raises(CommandError, match="Unknown tenant 'nope'") as excinfo:
        _run("--tenant", "nope")
    assert excinfo.value.returncode == 2


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday", "01/06/2026"])
def test_a_bad_date_is_a_clear_error(bad):
    with pytest.raises(CommandError, match=f"invalid date '{bad}': expected YYYY-MM-DD"):
        _run("--date", bad)


def test_a_bad_date_exits_with_code_2_from_the_shell():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(
        [sys.executable, "manage.py", "run_advance_sweep", "--date", "2026-02-30"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "invalid date '2026-02-30'" in result.stderr


def test_failed_state_changes_give_exit_code_1_after_the_report(sweep_partner, product, monkeypatch):
    make_card(sweep_partner, product=product, expiry=day(-1))

    def refuse(*, cards):
        raise ValueError("refused")

    monkeypatch.setattr(on_the_day, "cards_expire", refuse)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as excinfo:
        call_command("run_advance_sweep", "--date", RUN_DAY.isoformat(), "--json", stdout=out, stderr=err)
    assert excinfo.value.code == 1
    assert json.loads(out.getvalue())["totals"]["failures"] == 1
    assert "1 card(s) could not change state" in err.getvalue()
