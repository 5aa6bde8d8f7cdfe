"""The real beat schedule entry: due daily at the configured time, and the task it names runs the sweep."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone

from config.celery_app import app
from notifications.models import AdvanceNotice, OutboxMessage
from tests.notifications.sweep.conftest import EXPIRY_ADVANCE, make_card


def _entry() -> dict:
    return settings.CELERY_BEAT_SCHEDULE["advance-notification-sweep"]


def test_the_entry_is_a_daily_crontab_at_the_configured_time(monkeypatch):
    schedule = _entry()["schedule"]
    assert isinstance(schedule, crontab)
    tz = ZoneInfo(settings.CELERY_TIMEZONE)
    hour, minute = settings.NOTIFICATION_SWEEP_HOUR, settings.NOTIFICATION_SWEEP_MINUTE
    last_run = datetime.combine(date(2026, 6, 1), time(hour, minute), tzinfo=tz)
    next_run = last_run + timedelta(days=1)

    monkeypatch.setattr(schedule, "nowfun", lambda: next_run - timedelta(minutes=1))
    due, next_check = schedule.is_due(last_run)
    assert not due
    assert 0 < next_check <= 60
    assert schedule.remaining_estimate(last_run) == timedelta(minutes=1)

    monkeypatch.setattr(schedule, "nowfun", lambda: next_run + timedelta(seconds=5))
    due, next_check = schedule.is_due(last_run)
    assert due
    # Then the next run is a day later.
    assert timedelta(hours=23) < timedelta(seconds=next_check) <= timedelta(days=1)


@pytest.mark.django_db
def test_the_task_named_by_the_entry_runs_the_sweep_for_today(sweep_partner, product):
    today = timezone.localdate()
    card = make_card(sweep_partner, product=product, expiry=today + timedelta(days=30), last_active=today)
    entry = _entry()

    app.loader.import_default_modules()  # what a worker does at start: import every app's tasks module
    result = app.tasks[entry["task"]].apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))

    assert result.successful()
    report = result.get()
    assert report["runDate"] == today.isoformat()
    assert {(r["eventName"], r["daysBefore"]): r["sent"] for r in report["rows"]}[EXPIRY_ADVANCE, 30] == 1
    notice = AdvanceNotice.objects.get(card=card)
    assert (notice.days_before, notice.target_date, notice.sent_on) == (30, card.expiry_date, today)
    assert OutboxMessage.objects.filter(event_id=notice.event_id).exists()
    assert entry["options"]["expires"] > 0
