"""Templates as untrusted code, through the partner API and the admin: a template is test-rendered with its event's
sample values within the limits before it is saved (bombs are a 400 giving the reason, nothing is stored), and a
preview needs a writing token and is rate-limited per tenant."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from templates.models import NotificationTemplate
from tests.factories import PartnerFactory
from tests.templates_app.factories import NotificationTemplateFactory
from tests.templates_app.test_limits import CUBE, SLOW

pytestmark = pytest.mark.django_db

URL = "/prepaid/auth/v1/notification-templates/"
PREVIEW = f"{URL}preview"

BOMBS = [
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "nests too deeply"),
    ("{{ kitNo|truncate(-1) }}", "filter truncate: expected length >= 3, got -1"),
    ("{{ '%999999999d'|format(1) }}", "a % format field would be longer than 16,384 characters"),
    ("{{ kitNo|indent(10**9) }}", "indent would be longer than 16,384 characters"),
    ("{{ kitNo|center(10**9) }}", "center would be longer than 16,384 characters"),
    (CUBE, "does too much work"),
    (SLOW, "takes too long"),
    ("{% for i in range(2000) %}0123456789{% endfor %}", "renders to more than 16,384 characters"),
]


def _create(**overrides):
    body = {"productCode": "travel", "eventName": "CARD_TRANSACTION_APPROVED", "channel": "SMS", "locale": "en",
            "body": "{{ currency }} {{ amount }}"}
    body.update(overrides)
    return body


@pytest.mark.parametrize(("body", "reason"), BOMBS, ids=[reason for _, reason in BOMBS])
def test_create_refuses_a_bomb_with_400_and_the_reason(api_client, product, body, reason):
    started = time.perf_counter()
    response = api_client.post(URL, _create(body=body), format="json")
    assert time.perf_counter() - started < 2.0
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert reason in error["fields"]["body"][0]
    assert not NotificationTemplate.objects.filter(product=product).exists()


def test_a_bomb_in_the_subject_is_reported_on_the_subject(api_client, product):
    response = api_client.post(URL, _create(channel="EMAIL", subject="{{ kitNo|center(10**9) }}"), format="json")
    assert response.status_code == 400
    assert "The subject (line 1) builds a value too large" in response.json()["error"]["fields"]["subject"][0]


@pytest.mark.parametrize(("body", "reason"), BOMBS[:3], ids=[reason for _, reason in BOMBS[:3]])
def test_update_refuses_a_bomb_and_keeps_the_template(api_client, product, body, reason):
    template = NotificationTemplateFactory(product=product, body="{{ amount }}")
    response = api_client.put(f"{URL}{template.pk}/", {"body": body}, format="json")
    assert response.status_code == 400
    assert reason in response.json()["error"]["fields"]["body"][0]
    template.refresh_from_db()
    assert template.body == "{{ amount }}"


def test_preview_refuses_a_bomb_quickly(api_client):
    started = time.perf_counter()
    response = api_client.post(PREVIEW, {"eventName": "CARD_TRANSACTION_APPROVED", "body": CUBE}, format="json")
    assert time.perf_counter() - started < 2.0
    assert response.status_code == 400
    assert "does too much work" in response.json()["error"]["fields"]["body"][0]


def test_preview_needs_a_writing_token(partner, make_client):
    response = make_client(partner, level=1).post(
        PREVIEW, {"eventName": "CARD_TRANSACTION_APPROVED", "body": "{{ amount }}"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "permission_denied",
        "message": "This operation requires an API token of access level 2 (Standard); this token has level 1.",
    }
    response = make_client(partner, level=2).post(
        PREVIEW, {"eventName": "CARD_TRANSACTION_APPROVED", "body": "{{ amount }}"}, format="json")
    assert response.status_code == 200


@pytest.fixture
def three_previews_a_minute(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "template_preview": "3/min"},
    }


def test_previews_are_rate_limited_per_tenant(three_previews_a_minute, partner, make_client):
    draft = {"eventName": "CARD_TRANSACTION_APPROVED", "body": "{{ amount }}"}
    # Every token of the tenant shares the count.
    first, second = make_client(partner), make_client(partner)
    assert [first.post(PREVIEW, draft, format="json").status_code for _ in range(2)] == [200, 200]
    assert second.post(PREVIEW, draft, format="json").status_code == 200
    throttled = second.post(PREVIEW, draft, format="json")
    assert throttled.status_code == 429
    assert 1 <= int(throttled["Retry-After"]) <= 60
    error = throttled.json()["error"]
    assert error["code"] == "throttled"
    assert error["message"].startswith("Too many template previews for this tenant; try again later.")
    assert error["retryAfter"] == int(throttled["Retry-After"])

    # Another tenant's previews, and this tenant's other requests, are not affected.
    other = make_client(PartnerFactory(tenant_id="other"))
    assert other.post(PREVIEW, draft, format="json").status_code == 200
    assert first.get(URL).status_code == 200
    assert first.get(f"{URL}variables/CARD_TRANSACTION_APPROVED").status_code == 200


def test_the_preview_rate_and_level_are_documented_in_the_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    operation = schema.json()["paths"]["/prepaid/auth/v1/notification-templates/preview"]["post"]
    assert "429" in operation["responses"]
    assert "Requires token level 2" in operation["description"]
    assert "rate-limited per tenant" in operation["description"]


# --- the admin ------------------------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "a-long-admin-password")
    client.force_login(user)
    return client


@pytest.mark.parametrize(("body", "reason"), BOMBS[:4], ids=[reason for _, reason in BOMBS[:4]])
def test_admin_refuses_a_bomb_on_save(admin_client, product, body, reason):
    response = admin_client.post(reverse("admin:templates_notificationtemplate_add"), {
        "event_name": "CARD_TRANSACTION_APPROVED", "channel": "SMS", "locale": "en", "product": product.pk,
        "subject": "", "body": body, "is_active": "on",
    })
    assert response.status_code == 200  # the form again, with the error
    assert reason.replace("'", "&#x27;").replace(">", "&gt;") in response.content.decode()
    assert not NotificationTemplate.objects.filter(product=product).exists()


def test_admin_preview_reports_a_bomb(admin_client):
    response = admin_client.post(reverse("admin:templates_notificationtemplate_preview"), {
        "event_name": "CARD_TRANSACTION_APPROVED", "subject": "", "body": CUBE,
    })
    body = response.json()
    assert body["ok"] is False and body["field"] == "body" and "does too much work" in body["error"]

