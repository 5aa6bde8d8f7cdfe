"""Tests: real PostgreSQL and Redis, fast hashing, fixed encryption key."""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="test-only-insecure-key-0123456789abcdefghijklmnopqrstuvwxyz")
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WEBHOOK_DESTINATION_ALLOWLIST = env.list("WEBHOOK_DESTINATION_ALLOWLIST", default=["127.0.0.1/32", "::1/128"])
SECRETS_ENCRYPTION_KEYS = env.list(
    "SECRETS_ENCRYPTION_KEYS", default=["dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTAxMjM0NTY="]
)
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
KAFKA_SESSION_TIMEOUT_MS = env.int("KAFKA_SESSION_TIMEOUT_MS", default=6000)
WEBHOOK_READ_TIMEOUT_SECONDS = env.float("WEBHOOK_READ_TIMEOUT_SECONDS", default=3.0)
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Tests use their own Redis database so a test worker never sees `make run`'s queue; under pytest-xdist each
# test process (gw0, gw1, …) gets its own, as pytest-django gives each its own test database.
_XDIST_INDEX = int(env.str("PYTEST_XDIST_WORKER", default="gw0").removeprefix("gw") or 0)
CELERY_BROKER_URL = env.str("REDIS_URL", default=f"redis://127.0.0.1:6379/{9 + _XDIST_INDEX}")
# The rate limiter's Redis follows this run's broker database (base.py reads the default before it is set here).
WEBHOOK_RATE_LIMIT_REDIS_URL = env.str("WEBHOOK_RATE_LIMIT_REDIS_URL", default=CELERY_BROKER_URL)
# whitenoise serves static files straight from the apps' folders: no collectstatic before the tests.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
