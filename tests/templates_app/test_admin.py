import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from subscriptions.models import AuditEntry
from templates.models import NotificationTemplate, ProductChannelSetting, QuietHoursPolicy
from tests.templates_app.factories import NotificationTemplateFactory, ProductChannelSettingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "a-long-admin-password")
    client.force_login(user)
    return client


def _template_form(product, **overrides):
    data = {
        "event_name": "CARD_TRANSACTION_APPROVED", "channel": "SMS", "locale": "en", "product": product.pk,
        "subject": "", "body": "{{ currency }} {{ amount }} at {{ merchantName }}", "is_active": "on",
    }
    data.update(overrides)
    return data


def test_admin_refuses_a_template_with_an_unknown_variable(admin_client, product):
    url = reverse("admin:templates_notificationtemplate_add")
    response = admin_client.post(url, _template_form(product, body="Hi {{ cardholderName }}\n{{ pan }}"))
    assert response.status_code == 200  # the form again, with the error
    assert "Unknown variable &#x27;pan&#x27; on line 2" in response.content.decode()
    assert not NotificationTemplate.objects.filter(product=product).exists()


def test_admin_refuses_a_syntax_error_naming_the_line(admin_client, product):
    url = reverse("admin:templates_notificationtemplate_add")
    response = admin_client.post(url, _template_form(product, body="ok\n{{ amount "))
    assert response.status_code == 200
    assert "Syntax error on line 2" in response.content.decode()


def test_admin_saves_a_valid_template_and_audits_it(admin_client, product):
    url = reverse("admin:templates_notificationtemplate_add")
    response = admin_client.post(url, _template_form(product))
    assert response.status_code == 302
    template = NotificationTemplate.objects.get(product=product)
    entry = AuditEntry.objects.get(action="template.create", object_id=str(template.pk))
    assert (entry.channel, entry.actor, entry.partner_id) == ("ADMIN", "ops", product.partner_id)
    assert entry.after["body"] == template.body

    change_url = reverse("admin:templates_notificationtemplate_change", args=[template.pk])
    response = admin_client.post(change_url, _template_form(product, body="Paid {{ amount }}"))
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.body == "Paid {{ amount }}"
    update = AuditEntry.objects.get(action="template.update", object_id=str(template.pk))
    assert (update.before["body"], update.after["body"]) == (entry.after["body"], "Paid {{ amount }}")


def test_admin_duplicate_template_is_a_form_error(admin_client, product):
    NotificationTemplateFactory(product=product)
    response = admin_client.post(reverse("admin:templates_notificationtemplate_add"), _template_form(product))
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_admin_delete_is_audited(admin_client, product):
    template = NotificationTemplateFactory(product=product)
    url = reverse("admin:templates_notificationtemplate_delete", args=[template.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not NotificationTemplate.objects.filter(pk=template.pk).exists()
    assert AuditEntry.objects.filter(action="template.delete", object_id=str(template.pk)).exists()


def test_change_page_has_the_live_preview(admin_client):
    template = NotificationTemplate.objects.filter(product__isnull=True, event_name="CARD_BLOCKED").first()
    response = admin_client.get(reverse("admin:templates_notificationtemplate_change", args=[template.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="template-preview"' in html
    assert reverse("admin:templates_notificationtemplate_preview") in html
    assert "templates/admin/template_preview.js" in html


def test_preview_endpoint_renders_a_sample_and_reports_errors(admin_client):
    url = reverse("admin:templates_notificationtemplate_preview")
    ok = admin_client.post(url, {"event_name": "CARD_TRANSACTION_APPROVED", "subject": "Paid {{ amount }}",
                                 "body": "{{ maskedCardNumber }} at {{ merchantName }}"}).json()
    assert ok["ok"] is True
    assert ok["subject"] == "Paid 125.50"
    assert ok["body"] == "XXXX XXXX XXXX 1234 at Chai Point"
    assert any(v["name"] == "merchantName" for v in ok["variables"])

    bad = admin_client.post(url, {"event_name": "CARD_TRANSACTION_APPROVED", "body": "{{ pan }}"}).json()
    assert (bad["ok"], bad["field"], bad["variable"], bad["line"]) == (False, "body", "pan", 1)

    no_event = admin_client.post(url, {"event_name": "NOPE", "body": "x"}).json()
    assert no_event["ok"] is False and no_event["field"] == "event_name"


def test_preview_endpoint_requires_staff(client):
    response = client.post(reverse("admin:templates_notificationtemplate_preview"), {"body": "x"})
    assert response.status_code == 302  # to the admin login
    assert "/login/" in response["Location"]


def _settings_form(admin_client, product) -> dict:
    """The settings form as the browser would post it, from the rendered page."""
    response = admin_client.get(reverse("admin:templates_productnotificationsettings_change", args=[product.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="channel-matrix"' in html
    assert 'name="switch__CARD_BLOCKED__SMS"' in html
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if name.startswith("switch__"):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    return data


def test_product_settings_matrix_switches_channels_off_and_on(admin_client, product):
    ProductChannelSettingFactory(product=product, event_name="CARD_ACTIVATED", channel="EMAIL")
    data = _settings_form(admin_client, product)
    assert "switch__CARD_ACTIVATED__EMAIL" not in data  # rendered unticked
    data["switch__CARD_ACTIVATED__EMAIL"] = "on"
    del data["switch__CARD_BLOCKED__SMS"]
    data.update(fallback_order="push, sms", quiet_mode="custom", quiet_start="21:30", quiet_end="07:00")
    url = reverse("admin:templates_productnotificationsettings_change", args=[product.pk])
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    off = set(ProductChannelSetting.objects.filter(product=product, enabled=False)
              .values_list("event_name", "channel"))
    assert off == {("CARD_BLOCKED", "SMS")}
    product.refresh_from_db()
    assert product.channel_fallback_order == ["PUSH", "SMS"]
    policy = QuietHoursPolicy.objects.get(product=product)
    assert (policy.enabled, policy.start.isoformat(), policy.end.isoformat()) == (True, "21:30:00", "07:00:00")
    entry = AuditEntry.objects.get(action="product.notification_settings.update", object_id=str(product.pk))
    assert entry.before["switchedOff"] == ["CARD_ACTIVATED/EMAIL"]
    assert entry.after["switchedOff"] == ["CARD_BLOCKED/SMS"]


def test_product_settings_refuse_an_unknown_fallback_channel(admin_client, product):
    data = _settings_form(admin_client, product)
    data["fallback_order"] = "PUSH, FAX"
    url = reverse("admin:templates_productnotificationsettings_change", args=[product.pk])
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "Unknown channel(s): FAX" in response.content.decode()
    product.refresh_from_db()
    assert product.channel_fallback_order == []
