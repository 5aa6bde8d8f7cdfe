import json
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.notifications.messaging.fakes import FcmFake, GoogleTokenServer, SmtpSink, TwilioFake


@pytest.fixture(scope="session")
def _smtp_server():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def _twilio_server():
    fake = TwilioFake()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def _fcm_server():
    fake = FcmFake()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def smtp(_smtp_server, settings):
    """The SMTP server, with Django's SMTP backend pointed at it."""
    _smtp_server.reset()
    settings.EMAIL_CHANNEL_BACKEND = "smtp"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _smtp_server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = False, 5
    settings.DEFAULT_FROM_EMAIL = "Acme Cards <cards@acme.example>"
    return _smtp_server


@pytest.fixture
def twilio(_twilio_server, settings):
    _twilio_server.reset()
    settings.SMS_PROVIDER = "twilio"
    settings.SMS_API_BASE_URL = _twilio_server.url
    settings.SMS_ACCOUNT_SID, settings.SMS_AUTH_TOKEN = _twilio_server.account_sid, _twilio_server.auth_token
    settings.SMS_FROM_NUMBER = "+15005550006"
    settings.CUSTOMER_CHANNEL_READ_TIMEOUT_SECONDS = 1.0
    return _twilio_server


@pytest.fixture
def fcm(_fcm_server, settings):
    _fcm_server.reset()
    settings.PUSH_PROVIDER = "fcm"
    settings.PUSH_API_BASE_URL = _fcm_server.url
    settings.PUSH_PROJECT_ID, settings.PUSH_ACCESS_TOKEN = _fcm_server.project_id, _fcm_server.access_token
    settings.CUSTOMER_CHANNEL_READ_TIMEOUT_SECONDS = 1.0
    return _fcm_server


@pytest.fixture(scope="session")
def _service_account_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def _google_token_server(_fcm_server, _service_account_key):
    public_pem = _service_account_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    server = GoogleTokenServer(_fcm_server, public_pem)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def push_service_account(fcm, _google_token_server, _service_account_key, settings):
    """FCM with tokens minted from a service account at the local Google token endpoint (PUSH_ACCESS_TOKEN unset).
    A fresh key id per test, so no test inherits another's cached token."""
    _google_token_server.reset()
    private_pem = _service_account_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    settings.PUSH_ACCESS_TOKEN = ""
    settings.PUSH_PROJECT_ID = ""  # taken from the service account
    settings.PUSH_SERVICE_ACCOUNT_JSON = json.dumps({
        "type": "service_account", "project_id": fcm.project_id, "private_key_id": uuid.uuid4().hex,
        "private_key": private_pem, "client_email": _google_token_server.client_email,
        "client_id": "1234567890", "token_uri": _google_token_server.token_uri,
    })
    return _google_token_server


@pytest.fixture
def providers(smtp, twilio, fcm):
    return smtp, twilio, fcm


@pytest.fixture(autouse=True)
def _templates_without_quiet_hours(sample_templates, no_default_quiet_hours):
    """Every test here sees the sample templates and no default quiet hours."""
