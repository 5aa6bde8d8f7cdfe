import logging
import os

from celery import Celery, signals
from django.conf import settings
from django.db import close_old_connections
from django.utils.log import configure_logging

from config import runtime

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("notification_service")
# All Celery settings live in Django settings under the CELERY_ namespace.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def use_django_logging(loglevel: int | str | None = None, **_kwargs) -> None:
    """Worker and beat log through Django's LOGGING, as every other process does, instead of Celery's own handlers
    on the root logger (which would bypass the card-number and token masking of config/logging.py). Connecting
    this signal is what tells Celery to leave logging alone; `--loglevel` still sets the level."""
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


@signals.worker_ready.connect
@signals.worker_process_init.connect
def freeze_startup_objects(**_kwargs) -> None:
    """Once a worker (or each prefork child) is up: see config/runtime.py."""
    runtime.freeze_startup_objects()


@signals.task_prerun.connect
def close_broken_database_connections(task=None, **_kwargs) -> None:
    """Before each task, what Django does before each request: drop this thread's database connection if it broke
    (PostgreSQL restarted or failed over) or outlived CONN_MAX_AGE. With CELERY_DB_REUSE_MAX set, Celery's own
    fixup closes connections only every few thousand tasks, so a broken one failed every task until then."""
    if task is not None and task.request.is_eager:
        return  # in-process (tests): the caller's connection and transaction are not ours to close
    close_old_connections()
