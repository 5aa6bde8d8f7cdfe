"""Partners write notification templates (Jinja2) through the API, so a template is attacker-controlled input:
server-side template injection must not reach Python internals, settings or other data, nor burn CPU."""

import pytest

from templates.models import NotificationTemplate

pytestmark = pytest.mark.django_db

URL = "/prepaid/auth/v1/notification-templates/"


@pytest.fixture
def client(acme, make_client):
    from tests.factories import ProductFactory

    ProductFactory(partner=acme, code="travel")
    return make_client(acme)


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ amount.__class__.__init__.__globals__ }}",
        "{{ self._TemplateReference__context }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ config }}{{ settings.SECRET_KEY }}",
        "{% for x in range(100000000) %}{% for y in range(100000000) %}.{% endfor %}{% endfor %}",
        "{{ 'a' * 100000000 }}",
        "{% set x = amount.__class__ %}{{ x }}",
    ],
)
def test_template_injection_is_refused(client, body, settings):
    response = client.post(URL, {"productCode": "travel", "eventName": "CARD_TRANSACTION_APPROVED",
                                 "channel": "SMS", "body": body}, format="json")
    preview = client.post(f"{URL}preview", {"eventName": "CARD_TRANSACTION_APPROVED", "body": body}, format="json")
    for answer in (response, preview):
        assert answer.status_code == 400, answer.content[:500]
        text = answer.content.decode()
        assert settings.SECRET_KEY not in text and "uid=" not in text and "<class" not in text
    assert not NotificationTemplate.objects.filter(body=body).exists()
