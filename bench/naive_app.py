"""Celery app of the naive baseline's worker: the service's app plus the naive task (`celery -A bench.naive_app`)."""

import django

from config.celery_app import app

django.setup()  # the task module imports models; Celery's Django fixup would set Django up only later

from bench import naive_tasks  # noqa: E402, F401 - registers bench.naive_deliver

__all__ = ["app"]
