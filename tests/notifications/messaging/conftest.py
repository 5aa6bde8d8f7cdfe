import pytest

from tests.notifications.messaging.fakes import FcmFake, SmtpSink, TwilioFake


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


@pytest.fixture
def providers(smtp, twilio, fcm):
    return smtp, twilio, fcm


@pytest.fixture(autouse=True)
def _templates_without_quiet_hours(sample_templates, no_default_quiet_hours):
    """Every test here sees the sample templates and no default quiet hours."""
