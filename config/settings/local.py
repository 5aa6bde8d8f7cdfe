"""Development and `make run`: readable logs, console channels, the local allow-list."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")
WEBHOOK_DESTINATION_ALLOWLIST = env.list("WEBHOOK_DESTINATION_ALLOWLIST", default=["127.0.0.1/32", "::1/128"])
# A fixed development key; production must set SECRETS_ENCRYPTION_KEYS.
SECRETS_ENCRYPTION_KEYS = env.list(
    "SECRETS_ENCRYPTION_KEYS", default=["ZGV2LW9ubHktZW5jcnlwdGlvbi1rZXktMDEyMzQ1Njc="]
)
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# `make run` collects static files, but a plain `runserver` should find them without it.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
