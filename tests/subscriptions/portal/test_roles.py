"""Roles map onto the API's access levels: viewers read, developers change subscriptions, send tests, resend and
recover (level 2), admins also rotate secrets and manage API tokens (level 3). What a role may not do is 403 and
changes nothing. Every form is CSRF-protected."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from notifications.models import DeliveryStatus
from subscriptions.models import AuditEntry
from subscriptions.portal.models import PortalRole
from tests.factories import EventFactory, EventSubscriptionFactory, WebhookDeliveryFactory
from tests.subscriptions.portal.conftest import PASSWORD, PORTAL, sign_in

VIEWER, DEVELOPER, ADMIN = PortalRole.VIEWER, PortalRole.DEVELOPER, PortalRole.ADMIN


@pytest.fixture
def own(partner):
    subscription = EventSubscriptionFactory(partner=partner, event_name="TRANSACTION_NOTIFICATION",
                                            destination="https://acme.example.com/hooks")
    event = EventFactory(partner=partner, event_id="own-1")
    delivery = WebhookDeliveryFactory(subscription=subscription, event=event, status=DeliveryStatus.FAILED)
    return {"subscription": subscription, "delivery": delivery}


# (method, path, data, the lowest role allowed)
RULES = [
    ("get", "subscriptions/new/", {}, DEVELOPER),
    ("post", "subscriptions/new/", {"eventName": "CARD_ISSUED", "destination": "https://a.example.com/h"}, DEVELOPER),
    ("post", "subscriptions/TRANSACTION_NOTIFICATION/", {"destination": "https://b.example.com/h"}, DEVELOPER),
    ("post", "subscriptions/TRANSACTION_NOTIFICATION/toggle/", {}, DEVELOPER),
    ("post", "subscriptions/TRANSACTION_NOTIFICATION/test/", {}, DEVELOPER),
    ("post", "subscriptions/TRANSACTION_NOTIFICATION/secret/", {"password": PASSWORD}, DEVELOPER),
    ("post", "subscriptions/TRANSACTION_NOTIFICATION/recover/", {"since": "{an_hour_ago}"}, DEVELOPER),
    ("post", "deliveries/{delivery}/resend/", {}, DEVELOPER),
    ("post", "subscriptions/TRANSACTION_NOTIFICATION/secret/rotate/", {}, ADMIN),
    ("get", "tokens/", {}, ADMIN),
    ("post", "tokens/", {"name": "x", "level": "1"}, ADMIN),
    ("post", "subscriptions/TRANSACTION_NOTIFICATION/delete/", {}, DEVELOPER),
]


@pytest.mark.parametrize(("method", "path", "data", "lowest"), RULES)
@pytest.mark.parametrize("role", [VIEWER, DEVELOPER, ADMIN])
def test_role_rules(signed_in, partner, own, method, path, data, lowest, role):
    client = signed_in(partner, role)
    audit_before = AuditEntry.objects.exclude(action="portal_user.signed_in").count()
    an_hour_ago = (timezone.now() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    data = {key: value.format(an_hour_ago=an_hour_ago) for key, value in data.items()}
    response = getattr(client, method)(PORTAL + path.format(delivery=own["delivery"].pk), data)
    if role < lowest:
        assert response.status_code == 403
        assert "needs the" in response.content.decode()
        assert AuditEntry.objects.exclude(action="portal_user.signed_in").count() == audit_before
    else:
        assert response.status_code in (200, 302), response.content[:800]


@pytest.mark.parametrize("path", ["", "subscriptions/", "subscriptions/TRANSACTION_NOTIFICATION/", "deliveries/",
                                  "events/own-1/", "catalog/", "verify/", "audit/", "security/"])
def test_viewers_read_every_page(signed_in, partner, own, path):
    assert signed_in(partner, VIEWER).get(PORTAL + path).status_code == 200


def test_viewers_see_no_write_buttons(signed_in, partner, own):
    body = signed_in(partner, VIEWER).get(PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/").content.decode()
    assert 'id="send-test"' not in body and 'id="rotate-secret"' not in body and 'id="save"' not in body


def test_signed_out_pages_redirect_to_sign_in(db):
    response = Client().get(PORTAL + "deliveries/?status=FAILED")
    assert response.status_code == 302
    assert response["Location"] == "/portal/login/?next=/portal/deliveries/?status=FAILED"
    htmx = Client().get(PORTAL + "deliveries/", HTTP_HX_REQUEST="true")
    assert htmx.headers["HX-Redirect"].startswith("/portal/login/")


def test_forms_are_csrf_protected(make_user, partner, own):
    membership = make_user(partner, ADMIN)
    client = Client(enforce_csrf_checks=True)
    page = client.get(PORTAL + "login/")
    assert page.status_code == 200
    no_token = client.post(PORTAL + "login/", {"username": membership.user.username, "password": PASSWORD})
    assert no_token.status_code == 403
    token = client.cookies["csrftoken"].value
    assert sign_in(client, membership.user.username).status_code == 403  # still no token in the form
    signed = client.post(PORTAL + "login/", {"username": membership.user.username, "password": PASSWORD,
                                             "csrfmiddlewaretoken": token})
    assert signed.status_code == 302
    forged = client.post(PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/toggle/")
    assert forged.status_code == 403
    own["subscription"].refresh_from_db()
    assert own["subscription"].is_enabled
    # htmx sends the token in the X-CSRFToken header the base template configures.
    page = client.get(PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/")
    assert "X-CSRFToken" in page.content.decode()
    token = client.cookies["csrftoken"].value
    toggled = client.post(PORTAL + "subscriptions/TRANSACTION_NOTIFICATION/toggle/", HTTP_X_CSRFTOKEN=token)
    assert toggled.status_code == 302
