"""Process-level tuning of the long-running processes (config/runtime.py)."""

import gc
import importlib
from unittest import mock

import pytest
from celery import signals

from config.runtime import freeze_startup_objects


def test_freezing_puts_the_startup_heap_out_of_the_collectors_reach():
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 10_000  # Django, Celery, the app: hundreds of thousands of objects
    finally:
        gc.unfreeze()


def test_a_worker_freezes_once_ready_and_in_each_prefork_child():
    celery_app = importlib.import_module("config.celery_app")  # the module (config.celery_app is the app)
    for signal in (signals.worker_ready, signals.worker_process_init):
        receivers = [ref() if callable(ref) else ref for _, ref in signal.receivers]
        assert celery_app.freeze_startup_objects in receivers


def test_the_bridge_freezes_before_consuming():
    from django.core.management import call_command

    with mock.patch("notifications.management.commands.kafka_bridge.freeze_startup_objects") as freeze, \
         mock.patch("notifications.management.commands.kafka_bridge.KafkaBridge") as bridge:
        bridge.return_value.run.return_value = 0
        with pytest.raises(SystemExit) as exit_:
            call_command("kafka_bridge", "--topic", "t")
    assert exit_.value.code == 0
    freeze.assert_called_once()
    bridge.return_value.run.assert_called_once()
