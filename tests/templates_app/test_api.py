import pytest

from subscriptions.models import AuditEntry
from templates.models import NotificationTemplate
from tests.factories import PartnerFactory, ProductFactory
from tests.templates_app.factories import NotificationTemplateFactory

pytestmark = pytest.mark.django_db

URL = "/prepaid/auth/v1/notification-templates/"


def _payload(**overrides):
    body = {
        "productCode": "travel", "eventName": "CARD_TRANSACTION_APPROVED", "channel": "SMS", "locale": "en",
        "body": "Travel Card: {{ currency }} {{ amount }} at {{ merchantName }} on {{ maskedCardNumber }}",
    }
    body.update(overrides)
    return body


def test_create_returns_the_template_and_audits_it(api_client, product):
    response = api_client.post(URL, _payload(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["productCode"] == "travel"
    assert (body["eventName"], body["channel"], body["locale"], body["isActive"]) == (
        "CARD_TRANSACTION_APPROVED", "SMS", "en", True)
    template = NotificationTemplate.objects.get(pk=body["id"])
    assert template.product == product
    entry = AuditEntry.objects.get(action="template.create", object_id=str(template.pk))
    assert entry.channel == "PARTNER_API"
    assert entry.partner_id == product.partner_id


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"body": "Hi {{ cardholderName }}\nPAN {{ cardNumber }}"}, "body", "Unknown variable 'cardNumber' on line 2"),
        ({"body": "{% if amount %}"}, "body", "Syntax error on line 1"),
        ({"channel": "EMAIL", "subject": "Paid {{ amout }}", "body": "x"}, "subject", "Unknown variable 'amout'"),
        ({"channel": "EMAIL", "subject": "", "body": "x"}, "subject", "needs a subject"),
        ({"eventName": "CARD_TRANSACTION_CLEARED"}, "eventName", "not customer-facing"),
        ({"eventName": "NOPE"}, "eventName", "Unknown event"),
        ({"channel": "FAX"}, "channel", "not a valid choice"),
        ({"locale": "english!"}, "locale", "language code"),
        ({"productCode": "nope"}, "productCode", "No product 'nope'"),
        ({"isActive": "yes"}, "isActive", "JSON boolean"),
        ({"body": 42}, "body", "JSON string"),
        ({"bodyy": "x"}, "bodyy", "Unknown field"),
    ],
)
def test_invalid_templates_are_a_400_naming_the_problem(api_client, product, overrides, field, text):
    response = api_client.post(URL, _payload(**overrides), format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert text in " ".join(error["fields"][field]), error
    assert not NotificationTemplate.objects.filter(product=product).exists()


def test_another_tenants_product_is_unknown(api_client, product):
    other = PartnerFactory(tenant_id="other")
    ProductFactory(partner=other, code="theirs")
    response = api_client.post(URL, _payload(productCode="theirs"), format="json")
    assert response.status_code == 400
    assert "productCode" in response.json()["error"]["fields"]


def test_duplicate_is_a_409_naming_the_existing_template(api_client, product):
    existing = NotificationTemplateFactory(product=product)
    response = api_client.post(URL, _payload(), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["templateId"] == existing.pk


def test_read_only_token_cannot_create(partner, make_client, product):
    response = make_client(partner, level=1).post(URL, _payload(), format="json")
    assert response.status_code == 403


def test_list_shows_own_templates_and_optionally_the_defaults(api_client, partner, product):
    mine = NotificationTemplateFactory(product=product)
    NotificationTemplateFactory(product=ProductFactory(partner=PartnerFactory(tenant_id="other")))
    response = api_client.get(URL)
    assert response.status_code == 200
    assert [t["id"] for t in response.json()["results"]] == [mine.pk]

    response = api_client.get(URL, {"includeDefaults": "true", "eventName": "CARD_TRANSACTION_APPROVED",
                                    "channel": "SMS"})
    results = response.json()["results"]
    assert {(t["productCode"], t["locale"]) for t in results} == {("travel", "en"), (None, "en"), (None, "hi")}
    assert api_client.get(URL, {"channel": "FAX"}).status_code == 400


def test_get_update_and_delete_own_template(api_client, product):
    template = NotificationTemplateFactory(product=product)
    url = f"{URL}{template.pk}"
    assert api_client.get(url).json()["body"] == template.body

    read_back = api_client.get(url).json()
    response = api_client.put(url, {**read_back, "body": "Paid {{ amount }}", "isActive": False}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["body"], response.json()["isActive"]) == ("Paid {{ amount }}", False)
    assert AuditEntry.objects.filter(action="template.update", object_id=str(template.pk)).exists()

    bad = api_client.put(url, {"body": "{{ pan }}"}, format="json")
    assert bad.status_code == 400
    assert "Unknown variable 'pan'" in bad.json()["error"]["fields"]["body"][0]
    template.refresh_from_db()
    assert template.body == "Paid {{ amount }}"

    assert api_client.delete(url).status_code == 204
    assert not NotificationTemplate.objects.filter(pk=template.pk).exists()
    assert AuditEntry.objects.filter(action="template.delete", object_id=str(template.pk)).exists()


def test_update_to_a_taken_locale_is_a_409(api_client, product):
    NotificationTemplateFactory(product=product, locale="hi")
    template = NotificationTemplateFactory(product=product, locale="en")
    response = api_client.put(f"{URL}{template.pk}", {"locale": "hi"}, format="json")
    assert response.status_code == 409


def test_defaults_and_other_tenants_templates_are_404(api_client, product):
    default = NotificationTemplate.objects.filter(product__isnull=True).first()
    theirs = NotificationTemplateFactory(product=ProductFactory(partner=PartnerFactory(tenant_id="other")))
    for template in (default, theirs):
        url = f"{URL}{template.pk}/"
        assert api_client.get(url).status_code == 404
        assert api_client.put(url, {"body": "x"}, format="json").status_code == 404
        assert api_client.delete(url).status_code == 404
    assert NotificationTemplate.objects.filter(pk__in=[default.pk, theirs.pk]).count() == 2


def test_preview_renders_with_sample_data_and_overrides(partner, make_client):
    client = make_client(partner, level=2)  # a preview runs partner code: level 2, like saving (test_api_limits.py)
    response = client.post(f"{URL}preview", {
        "eventName": "CARD_TRANSACTION_APPROVED", "subject": "", "data": {"amount": "99.00", "last4": "9999"},
        "body": "{{ currency }} {{ amount }} at {{ merchantName }} on {{ maskedCardNumber }}",
    }, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["body"] == "INR 99.00 at Chai Point on XXXX XXXX XXXX 9999"
    assert any(v["name"] == "maskedCardNumber" for v in body["variables"])


def test_preview_of_an_invalid_template_is_a_400(api_client):
    response = api_client.post(f"{URL}preview/", {"eventName": "CUSTOMER_OTP", "body": "{{ otp }} {{ kitNo }}"},
                               format="json")
    assert response.status_code == 400
    assert "Unknown variable 'kitNo'" in response.json()["error"]["fields"]["body"][0]
    response = api_client.post(f"{URL}preview/", {"eventName": "CUSTOMER_OTP", "body": "x", "data": [1]},
                               format="json")
    assert response.status_code == 400
    assert "data" in response.json()["error"]["fields"]


def test_variables_endpoint(api_client):
    response = api_client.get(f"{URL}variables/WALLET_LOADED")
    assert response.status_code == 200
    names = {v["name"] for v in response.json()["variables"]}
    assert {"amount", "balance", "cardholderName", "walletId"} <= names
    assert "maskedCardNumber" not in names
    assert api_client.get(f"{URL}variables/CARD_TRANSACTION_CLEARED").status_code == 404


def test_requests_without_a_token_are_401(client):
    assert client.get(URL).status_code == 401
