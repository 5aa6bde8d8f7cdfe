import os

from celery import Celery, signals
from django.db import close_old_connections

from config import runtime

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("notification_service")
# All Celery settings live in Django settings under the CELERY_ namespace.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
