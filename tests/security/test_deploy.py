"""Production settings: `check --deploy` is clean, and responses carry the security headers and secure cookies.

Both run in a subprocess with DJANGO_SETTINGS_MODULE=config.settings.production and the environment production
requires (its secrets have no defaults)."""

import base64
import json
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from tests.fixtures.processes import ROOT


@pytest.fixture(scope="module")
def production_env() -> dict[str, str]:
    db = django_settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRETS_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="notifications.example.com",
        SECRETS_ENCRYPTION_KEYS=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    )
    return env


PROBE = """
import io
import json
import django
django.setup()
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

out = {}
stdout, stderr = io.StringIO(), io.StringIO()
try:
    call_command("check", deploy=True, fail_level="WARNING", stdout=stdout, stderr=stderr)
    out["check"] = stdout.getvalue() + stderr.getvalue()
except SystemCheckError as exc:
    out["check"] = "FAILED: " + str(exc) + stdout.getvalue() + stderr.getvalue()
client = Client(HTTP_HOST="notifications.example.com")
plain = client.get("/admin/login/")
out["redirect"] = [plain.status_code, plain.headers.get("Location")]
out["healthz_over_http"] = client.get("/healthz").status_code
page = client.get("/admin/login/", secure=True)
out["status"] = page.status_code
out["headers"] = dict(page.headers)
out["cookies"] = {name: {k: str(v) for k, v in morsel.items()} | {"value_set": bool(morsel.value)}
                  for name, morsel in page.cookies.items()}
api = client.get("/prepaid/auth/v1/event-subscriptions/", secure=True)
out["api_headers"] = dict(api.headers)
out["api_status"] = api.status_code
out["evil_host"] = Client(HTTP_HOST="evil.example.net").get("/healthz", secure=True).status_code
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def production(production_env) -> dict:
    """Run the probe once (one Django start-up) for both tests."""
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=production_env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_reports_nothing(production):
    """`manage.py check --deploy --fail-level WARNING` with the production settings."""
    assert production["check"].strip() == "System check identified no issues (0 silenced).", production["check"]


def test_production_responses_carry_security_headers_and_secure_cookies(production):
    out = production

    assert out["redirect"] == [301, "https://notifications.example.com/admin/login/"]
    assert out["healthz_over_http"] == 200  # load-balancer probes are exempt from the redirect
    assert out["evil_host"] == 400  # ALLOWED_HOSTS: no Host-header poisoning
    assert out["status"] == 200
    for headers in (out["headers"], out["api_headers"]):
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert out["headers"]["X-Frame-Options"] == "DENY"
    assert out["api_status"] == 401
    csrf = out["cookies"]["__Secure-csrftoken"]
    assert csrf["secure"] == "True" and csrf["httponly"] == "True" and csrf["samesite"] == "Lax"
