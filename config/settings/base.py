"""Settings shared by every environment. Every value is read from the environment with django-environ."""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
env.read_env(str(BASE_DIR / ".env"), overwrite=False) if (BASE_DIR / ".env").exists() else None

# GENERAL
DEBUG = env.bool("DJANGO_DEBUG", default=False)
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# DATABASES
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/notifications")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Ten minutes: every worker thread opens its connection at the same moment, so they also expire together, and the
# reconnect (fresh backends, cold caches) stalled deliveries for ~300 ms each time (docs/profiles/). A broken
# connection is dropped before the next task or request whatever its age (CONN_HEALTH_CHECKS, config/celery_app.py).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# URLS
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

# APPS
DJANGO_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django.contrib.postgres",
]
THIRD_PARTY_APPS = ["rest_framework", "drf_spectacular"]
LOCAL_APPS = [
    "subscriptions.apps.SubscriptionsConfig",
    "notifications.apps.NotificationsConfig",
    "wallets.apps.WalletsConfig",
    "templates.apps.TemplatesConfig",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

# SECURITY
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# MIDDLEWARE
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.partner_api.limits.PartnerApiLimitsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# STATIC
STATIC_ROOT = str(BASE_DIR / "staticfiles")
STATIC_URL = "/static/"

# TEMPLATES (Django's HTML templates; notification templates live in the `templates` app's models)
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# EMAIL (customer notifications; SMTP in production)
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Prepaid Notifications <no-reply@localhost>")

# ADMIN
ADMIN_URL = env.str("DJANGO_ADMIN_URL", default="admin/")

# LOGGING: JSON in production (LOG_FORMAT=json), readable lines in development; every handler masks card numbers
# and tokens (config/logging.py). Django's own loggers lose the handlers of its DEFAULT_LOGGING (unmasked console
# and admin e-mails) and propagate to the root's, like every other logger.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING_CONFIG = "config.logging.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logging.ContextFilter"}},
    "formatters": {
        "text": {"()": "config.logging.TextFormatter"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"level": LOG_LEVEL, "handlers": ["console"]},
    "loggers": {
        "django": {"level": "NOTSET", "handlers": [], "propagate": True},
        "django.server": {"level": "NOTSET", "handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        "kafka": {"level": "WARNING"},
    },
}

# CELERY
CELERY_BROKER_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=4)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=5 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=4 * 60)
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The visibility timeout must exceed the longest task (and any countdown), else Redis re-delivers it early.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 60 * 60)}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "notifications.tasks.deliver_webhooks": {"queue": "webhooks"},
    "notifications.tasks.send_customer_messages": {"queue": "messages"},
    "notifications.tasks.plan_customer_messages": {"queue": "messages"},
}
NOTIFICATION_SWEEP_HOUR = env.int("ADVANCE_SWEEP_HOUR", default=2)
NOTIFICATION_SWEEP_MINUTE = env.int("ADVANCE_SWEEP_MINUTE", default=0)
CELERY_BEAT_SCHEDULE = {
    # every 15 s: re-enqueue due deliveries/messages that no worker holds (Redis lost them, a worker died)
    "requeue-due-work": {
        "task": "notifications.tasks.requeue_due_work",
        "schedule": timedelta(seconds=env.int("REQUEUE_INTERVAL_SECONDS", default=15)),
        "options": {"expires": 14},
    },
    # every 5 s: publish outbox rows whose after-commit publish did not happen
    "publish-outbox": {
        "task": "notifications.tasks.publish_outbox",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 4},
    },
    # daily (crontab "0 2 * * *" by default): advance notifications, expiry and dormancy
    "advance-notification-sweep": {
        "task": "notifications.tasks.run_advance_sweep",
        "schedule": crontab(hour=NOTIFICATION_SWEEP_HOUR, minute=NOTIFICATION_SWEEP_MINUTE),
        "options": {"expires": 6 * 60 * 60},
    },
}

# DRF
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["config.partner_api.authentication.TenantTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["config.partner_api.permissions.HasTokenLevel"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.partner_api.limits.PartnerJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.partner_api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"failed_auth": env.str("FAILED_AUTH_THROTTLE_RATE", default="20/min")},
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Prepaid Event Notification API",
    "DESCRIPTION": "Event subscriptions, event inspection and replay, wallets and cards for partners.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}

# PRODUCT SETTINGS
KAFKA_BOOTSTRAP_SERVERS = env.str("KAFKA_BOOTSTRAP_SERVERS", default="127.0.0.1:9092")
KAFKA_NOTIFICATION_TOPIC = env.str("KAFKA_NOTIFICATION_TOPIC", default="pp_initiate_notification")
KAFKA_CONSUMER_GROUP = env.str("KAFKA_CONSUMER_GROUP", default="notification-bridge")
KAFKA_SESSION_TIMEOUT_MS = env.int("KAFKA_SESSION_TIMEOUT_MS", default=10000)
KAFKA_MAX_MESSAGE_BYTES = env.int("KAFKA_MAX_MESSAGE_BYTES", default=256 * 1024)
WEBHOOK_DESTINATION_ALLOWLIST = env.list("WEBHOOK_DESTINATION_ALLOWLIST", default=[])
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_READ_TIMEOUT_SECONDS = env.float("WEBHOOK_READ_TIMEOUT_SECONDS", default=15.0)
WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT = env.int("WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT", default=32)
WEBHOOK_DEFAULT_MAX_RETRIES = env.int("WEBHOOK_DEFAULT_MAX_RETRIES", default=5)
WEBHOOK_DEFAULT_RETRY_INTERVAL_SECONDS = env.int("WEBHOOK_DEFAULT_RETRY_INTERVAL_SECONDS", default=60)
WEBHOOK_MAX_RETRY_DELAY_SECONDS = env.int("WEBHOOK_MAX_RETRY_DELAY_SECONDS", default=6 * 60 * 60)
WEBHOOK_EGRESS_PROXY = env.str("WEBHOOK_EGRESS_PROXY", default="")
WEBHOOK_SECRET_ROTATION_OVERLAP_HOURS = env.int("WEBHOOK_SECRET_ROTATION_OVERLAP_HOURS", default=24)
# Fernet keys, comma separated; the first encrypts, all decrypt (so the key can be rotated).
SECRETS_ENCRYPTION_KEYS = env.list("SECRETS_ENCRYPTION_KEYS", default=[])
DELIVERY_LEASE_SECONDS = env.int("DELIVERY_LEASE_SECONDS", default=120)
SIMULATE_API_ENABLED = env.bool("SIMULATE_API_ENABLED", default=True)
SMS_PROVIDER = env.str("SMS_PROVIDER", default="console")
SMS_API_BASE_URL = env.str("SMS_API_BASE_URL", default="https://api.twilio.com")
SMS_ACCOUNT_SID = env.str("SMS_ACCOUNT_SID", default="")
SMS_AUTH_TOKEN = env.str("SMS_AUTH_TOKEN", default="")
SMS_FROM_NUMBER = env.str("SMS_FROM_NUMBER", default="")
PUSH_PROVIDER = env.str("PUSH_PROVIDER", default="console")
PUSH_API_BASE_URL = env.str("PUSH_API_BASE_URL", default="https://fcm.googleapis.com")
PUSH_PROJECT_ID = env.str("PUSH_PROJECT_ID", default="")
PUSH_ACCESS_TOKEN = env.str("PUSH_ACCESS_TOKEN", default="")
EMAIL_CHANNEL_BACKEND = env.str("EMAIL_CHANNEL", default="smtp")

# PIPELINE (endpoint health)
WEBHOOK_DISABLE_AFTER_FAILING_SECONDS = env.int("WEBHOOK_DISABLE_AFTER_FAILING_SECONDS", default=5 * 24 * 60 * 60)

# ADVANCE NOTIFICATIONS (daily sweep, notifications/sweep/run.py; docs/advance-notifications.md)
# Periods (days before the expiry/inactivation date) for subscriptions that carry none, e.g. ALL_EVENTS.
ADVANCE_DEFAULT_PERIODS = env.list("ADVANCE_DEFAULT_PERIODS", cast=int, default=[30, 15, 7])
# How many past days a sweep looks back for notices a missed run did not send (they go out with late=true).
ADVANCE_CATCHUP_DAYS = env.int("ADVANCE_CATCHUP_DAYS", default=7)
# Cards per transaction: bounds memory and lock time of one step of the sweep.
ADVANCE_SWEEP_CHUNK_SIZE = env.int("ADVANCE_SWEEP_CHUNK_SIZE", default=2000)

# PARTNER API LIMITS (config/partner_api/limits.py; docs/security.md)
PARTNER_API_MAX_BODY_BYTES = env.int("PARTNER_API_MAX_BODY_BYTES", default=1024 * 1024)
PARTNER_API_MAX_JSON_DEPTH = env.int("PARTNER_API_MAX_JSON_DEPTH", default=32)
# Django's own cap on a body read without a Content-Length (chunked): the same limit, answered 413 by the API.
DATA_UPLOAD_MAX_MEMORY_SIZE = PARTNER_API_MAX_BODY_BYTES

# SUBSCRIPTIONS (partner API)
# Shared cache: the failed-authentication throttle counts per client IP across every web process.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env.str("CACHE_URL", default="redis://127.0.0.1:6379/1"),
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="notif"),
        "TIMEOUT": 300,
    }
}
# Adds the X-TENANT-ID header and the shared 401/403/429 error responses to every partner endpoint's schema.
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "config.partner_api.openapi.PartnerAutoSchema"

# CUSTOMER NOTIFICATIONS (templates, routing, SMS/Email/Push channels; docs/customer-notifications.md)
CUSTOMER_CHANNEL_CONNECT_TIMEOUT_SECONDS = env.float("CUSTOMER_CHANNEL_CONNECT_TIMEOUT_SECONDS", default=5.0)
CUSTOMER_CHANNEL_READ_TIMEOUT_SECONDS = env.float("CUSTOMER_CHANNEL_READ_TIMEOUT_SECONDS", default=10.0)
# Attempts in all (first send + retries) before a transiently failing message is given up (and falls back).
CUSTOMER_MESSAGE_MAX_ATTEMPTS = env.int("CUSTOMER_MESSAGE_MAX_ATTEMPTS", default=5)
CUSTOMER_MESSAGE_LEASE_SECONDS = env.int("CUSTOMER_MESSAGE_LEASE_SECONDS", default=120)
# Messages claimed per transaction inside one message_send_batch call (keeps each lease short).
CUSTOMER_MESSAGE_CLAIM_CHUNK = env.int("CUSTOMER_MESSAGE_CLAIM_CHUNK", default=20)
# Default quiet hours in the cardholder's local time for products without a policy; "" = none.
CUSTOMER_QUIET_HOURS = env.str("CUSTOMER_QUIET_HOURS", default="22:00-08:00")
# SMS/EMAIL/PUSH appears in several serializers (templates, fallback order); one enum component for all.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})["CustomerChannelEnum"] = ["SMS", "EMAIL", "PUSH"]

# WALLETS AND CARDS
# A reissued card's new expiry: the end of the month this many months ahead.
WALLETS_CARD_VALIDITY_MONTHS = env.int("WALLETS_CARD_VALIDITY_MONTHS", default=60)
# Open work must be overdue this long before the periodic sweep re-enqueues it (it normally has its own task).
REQUEUE_GRACE_SECONDS = env.int("REQUEUE_GRACE_SECONDS", default=30)
# INSTANT/ADVANCE appears in several serializers; one enum component for all of them.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})["EventTypeEnum"] = ["INSTANT", "ADVANCE"]

# OPERATIONS (health, metrics, dashboard, demo receiver; docs/operations.md)
# Beat sends the heartbeat task this often; /readyz fails a worker or beat not seen for OPS_HEARTBEAT_MAX_AGE_SECONDS.
OPS_HEARTBEAT_INTERVAL_SECONDS = env.int("OPS_HEARTBEAT_INTERVAL_SECONDS", default=10)
OPS_HEARTBEAT_MAX_AGE_SECONDS = env.int("OPS_HEARTBEAT_MAX_AGE_SECONDS", default=60)
# Each network check of /readyz (PostgreSQL connect, Redis PING, Kafka metadata) gives up after this long.
OPS_CHECK_TIMEOUT_SECONDS = env.float("OPS_CHECK_TIMEOUT_SECONDS", default=2.0)
# Open work due longer ago than this counts as overdue (metrics, dashboard, `status`).
OPS_OVERDUE_GRACE_SECONDS = env.int("OPS_OVERDUE_GRACE_SECONDS", default=60)
# `manage.py status` reports "degraded" above this total consumer lag.
OPS_LAG_WARNING_THRESHOLD = env.int("OPS_LAG_WARNING_THRESHOLD", default=10000)
# /metrics counts rows older than this, so ids of still-open transactions are not skipped
# (notifications/ops/metrics.py).
METRICS_SETTLE_SECONDS = env.int("METRICS_SETTLE_SECONDS", default=30)
# When set, /metrics requires `Authorization: Bearer <token>` (configure Prometheus' bearer_token).
METRICS_BEARER_TOKEN = env.str("METRICS_BEARER_TOKEN", default="")
# The demo webhook receiver (/demo/) of `make run`; unset means "on when DEBUG is on".
DEMO_RECEIVER_ENABLED = env.bool("DEMO_RECEIVER_ENABLED", default=None)
DEMO_RECEIVER_KEEP = env.int("DEMO_RECEIVER_KEEP", default=50)
# Where `setup_demo` points the demo subscriptions (this server's own /demo/webhooks/).
DEMO_BASE_URL = env.str("DEMO_BASE_URL", default="http://127.0.0.1:8000")
# every 10 s: the worker and beat heartbeats that /readyz checks
CELERY_BEAT_SCHEDULE["worker-heartbeat"] = {
    "task": "notifications.tasks.heartbeat",
    "schedule": timedelta(seconds=OPS_HEARTBEAT_INTERVAL_SECONDS),
    "kwargs": {"source": "beat"},
    "options": {"expires": max(OPS_HEARTBEAT_INTERVAL_SECONDS - 1, 1)},
}
# OpenAPI enum names for the wallet choice sets used by several components.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "WalletStatusEnum": "wallets.state_machine.WalletStatus",
        "CardTransactionTypeEnum": "wallets.models.CardTransaction.Type",
    }
)
# Imported by every worker and by beat, so the heartbeat task is registered and beat's publish hook is connected.
CELERY_IMPORTS = ("notifications.tasks",)

# SECURITY (reliability and security; docs/security.md)
# Reverse proxies in front of the web processes that append to X-Forwarded-For. DRF's default (None) believes the
# header from anyone, which would let a client dodge the failed-authentication throttle by inventing addresses.
REST_FRAMEWORK["NUM_PROXIES"] = env.int("TRUSTED_PROXY_COUNT", default=0)

# THROUGHPUT (bench/, docs/benchmarks.md)
# The bridge waits this long for more messages once the first of a batch arrived (latency vs. batch size).
KAFKA_BRIDGE_LINGER_MS = env.int("KAFKA_BRIDGE_LINGER_MS", default=10)
# Celery's Django fixup closes every database connection before and after each task unless this is set, which cost a
# PostgreSQL backend fork per task (docs/profiles/). Connections now live CONN_MAX_AGE; a broken one is dropped
# before the next task (config/celery_app.py), and the fixup also recycles them after about this many tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# The webhook sender's event loop: "uvloop" (falls back to asyncio's when not installed) or "asyncio".
WEBHOOK_SENDER_EVENT_LOOP = env.str("WEBHOOK_SENDER_EVENT_LOOP", default="uvloop")
# Deliveries per Celery task (one claim, one record, one commit each).
WEBHOOK_DELIVERY_BATCH_SIZE = env.int("WEBHOOK_DELIVERY_BATCH_SIZE", default=100)
# Batches of one endpoint a worker process sends at once (more wait for room, or are deferred if it is slow).
WEBHOOK_ENDPOINT_BATCHES_PER_PROCESS = env.int("WEBHOOK_ENDPOINT_BATCHES_PER_PROCESS", default=2)
# How long the broker may hold the bridge's fetch request when there is nothing new (librdkafka fetch.wait.max.ms).
KAFKA_FETCH_WAIT_MAX_MS = env.int("KAFKA_FETCH_WAIT_MAX_MS", default=50)
KAFKA_FETCH_MIN_BYTES = env.int("KAFKA_FETCH_MIN_BYTES", default=1)

# FAULT ISOLATION (issue 15; docs/security.md)
# Threads of one worker process that one tenant's batches (webhooks and messages, running or waiting) may hold; keep
# it below the worker's concurrency (8 by default) so the rest always serve the other tenants.
WORKER_TENANT_MAX_THREADS = env.int("WORKER_TENANT_MAX_THREADS", default=6)

# TEMPLATE LIMITS (templates/limits.py, templates/sandbox.py; docs/security.md "Template limits")
# Partner templates are untrusted code. Each rendered field (subject, body) may use this much CPU time, this many
# loop iterations + calls + filters + operators, and produce this many characters (no value it builds may be longer).
TEMPLATE_RENDER_CPU_MS = env.int("TEMPLATE_RENDER_CPU_MS", default=50)
TEMPLATE_RENDER_MAX_OPERATIONS = env.int("TEMPLATE_RENDER_MAX_OPERATIONS", default=50_000)
TEMPLATE_MAX_OUTPUT_CHARS = env.int("TEMPLATE_MAX_OUTPUT_CHARS", default=16_384)
# Template previews per partner (partner API), so one partner's previews cannot starve the others' requests.
TEMPLATE_PREVIEW_THROTTLE_RATE = env.str("TEMPLATE_PREVIEW_THROTTLE_RATE", default="30/min")
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["template_preview"] = TEMPLATE_PREVIEW_THROTTLE_RATE

# ENDPOINT DELIVERY OPTIONS (custom headers, rate limits, endpoint auth, Ed25519, recover; docs/partner-api.md)
# The Redis that holds every endpoint's rate-limit window, shared by all workers on all hosts (default: the broker).
WEBHOOK_RATE_LIMIT_REDIS_URL = env.str("WEBHOOK_RATE_LIMIT_REDIS_URL", default=CELERY_BROKER_URL)
WEBHOOK_RATE_LIMIT_KEY_PREFIX = env.str("WEBHOOK_RATE_LIMIT_KEY_PREFIX", default="webhook-rate")
# Added to the one-second window: absorbs the time between granting a request and its arrival at the endpoint.
WEBHOOK_RATE_LIMIT_MARGIN_MS = env.int("WEBHOOK_RATE_LIMIT_MARGIN_MS", default=100)
# An OAuth2 access token is fetched again this many seconds before it expires.
WEBHOOK_OAUTH_TOKEN_LEEWAY_SECONDS = env.int("WEBHOOK_OAUTH_TOKEN_LEEWAY_SECONDS", default=30)
# POST …/recover: the longest window one request may cover.
RECOVER_MAX_WINDOW_DAYS = env.int("RECOVER_MAX_WINDOW_DAYS", default=14)
# `auth.type` (request and response) is one enum component.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})["EndpointAuthTypeEnum"] = ["oauth2", "mtls", "basic"]

# CARD STATUS AND THE SUPPORT CONSOLE (issue 16; docs/wallets.md)
# Where partners ask for a support-only wallet status move (an email address or URL), named in the 409 that refuses
# such a move through the API; empty: "the platform's support team".
WALLETS_SUPPORT_CONTACT = env.str("WALLETS_SUPPORT_CONTACT", default="")

# PARTNER PORTAL (subscriptions/portal/; docs/portal.md)
INSTALLED_APPS += [
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_htmx",
    "drf_spectacular_sidecar",
    "subscriptions.portal.apps.PortalConfig",
]
# whitenoise serves /static/ from every process (gunicorn included), right after the security middleware.
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "whitenoise.middleware.WhiteNoiseMiddleware")
# django-otp marks request.user verified once a TOTP code was accepted in this session.
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "django_otp.middleware.OTPMiddleware")
# django-axes must come last: it turns a locked-out sign-in into its lockout page.
MIDDLEWARE += ["django_htmx.middleware.HtmxMiddleware", "axes.middleware.AxesMiddleware"]
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# Compressed copies, no manifest: templates render even where collectstatic has not run (tests, `check --deploy`).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Swagger UI and ReDoc from drf-spectacular-sidecar's static files: /api/docs/ works offline, pinned versions.
SPECTACULAR_SETTINGS.update({"SWAGGER_UI_DIST": "SIDECAR", "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
                             "REDOC_DIST": "SIDECAR"})
# Lockout (django-axes): this many failed sign-ins of one username from one address lock it for PORTAL_LOCKOUT_MINUTES.
AXES_FAILURE_LIMIT = env.int("PORTAL_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("PORTAL_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
# The client address the same way as the API's throttle (TRUSTED_PROXY_COUNT hops of X-Forwarded-For).
AXES_CLIENT_IP_CALLABLE = "subscriptions.portal.auth.client_ip"
# A portal session ends after this long without a request, and in any case this long after sign-in.
PORTAL_SESSION_IDLE_MINUTES = env.int("PORTAL_SESSION_IDLE_MINUTES", default=30)
PORTAL_SESSION_MAX_HOURS = env.int("PORTAL_SESSION_MAX_HOURS", default=12)
# Revealing a signing secret asks for the password (and TOTP code) again unless it was given this recently.
PORTAL_REAUTH_MINUTES = env.int("PORTAL_REAUTH_MINUTES", default=5)
# One-time links of POST /portal-sessions: valid this long, and the session they open lasts this long.
PORTAL_LINK_TTL_SECONDS = env.int("PORTAL_LINK_TTL_SECONDS", default=5 * 60)
PORTAL_LINK_SESSION_MINUTES = env.int("PORTAL_LINK_SESSION_MINUTES", default=60)
# The name authenticator apps show next to a TOTP code.
OTP_TOTP_ISSUER = env.str("PORTAL_TOTP_ISSUER", default="Prepaid Notifications")

# CUSTOMER MESSAGES THAT CLOSE THE LOOP (issue 19: receipts, dead destinations, preferences, inbox, email, push auth;
# docs/customer-notifications.md)
# This service's public address (scheme and host, no trailing slash): the Twilio StatusCallback, the preference-centre
# links and emails' List-Unsubscribe are built on it. Empty: no status callbacks and no List-Unsubscribe header; the
# partner API builds preference links from the request's own address.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").rstrip("/")
# How long a preference-centre link a partner asked for stays valid.
PREFERENCE_LINK_MAX_AGE_SECONDS = env.int("PREFERENCE_LINK_MAX_AGE_SECONDS", default=7 * 24 * 60 * 60)
# How long an email's unsubscribe link works (emails are read long after they were sent).
UNSUBSCRIBE_LINK_MAX_AGE_DAYS = env.int("UNSUBSCRIBE_LINK_MAX_AGE_DAYS", default=180)
# FCM HTTP v1 credentials: a service-account JSON, as the file's path or as the JSON itself (a secret); access tokens
# are minted from it with google-auth and refreshed before they expire. Without one, PUSH_ACCESS_TOKEN is used as is.
PUSH_SERVICE_ACCOUNT_FILE = env.str("PUSH_SERVICE_ACCOUNT_FILE", default="")
PUSH_SERVICE_ACCOUNT_JSON = env.str("PUSH_SERVICE_ACCOUNT_JSON", default="")
# The IN_APP channel joins SMS/EMAIL/PUSH in the channel enum of the OpenAPI schema.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["CustomerChannelEnum"] = ["SMS", "EMAIL", "PUSH", "IN_APP"]
