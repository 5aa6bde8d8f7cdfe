"""`POST /prepaid/auth/v1/portal-sessions` (admin-level token) returns a one-time link into the portal: valid for
minutes, for one use, opening a session with the requested role for the token's partner only."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from subscriptions.models import AuditEntry
from subscriptions.portal.models import PortalLink
from tests.factories import EventSubscriptionFactory
from tests.subscriptions.portal.conftest import PORTAL

URL = "/prepaid/auth/v1/portal-sessions"


@pytest.fixture
def admin_api(partner, make_client):
    return make_client(partner, level=3)


def _link_path(url: str) -> str:
    return url.split("testserver", 1)[1]


def test_an_admin_token_gets_a_link_that_opens_the_portal_once(admin_api, partner):
    response = admin_api.post(URL, {"role": "viewer"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["role"] == "viewer" and body["sessionMinutes"] == 60
    assert body["url"].startswith("http://testserver/portal/link/ppl_")
    path = _link_path(body["url"])
    browser = Client()
    landing = browser.get(path)  # a GET (a link preview) does not spend it
    assert landing.status_code == 200 and "data-autosubmit" in landing.content.decode()
    opened = browser.post(path)
    assert opened.status_code == 302 and opened["Location"] == PORTAL
    overview = browser.get(PORTAL)
    assert overview.status_code == 200
    assert "Signed in by link" in overview.content.decode() and "Acme Fintech" in overview.content.decode()
    assert browser.get(PORTAL + "tokens/").status_code == 403  # a viewer session
    again = Client().post(path)
    assert again.status_code == 410 and "not valid" in again.content.decode()
    assert AuditEntry.objects.filter(action="portal_link.issued").count() == 1
    assert AuditEntry.objects.filter(action="portal_link.used").count() == 1


def test_the_raw_link_token_is_not_stored(admin_api):
    url = admin_api.post(URL, {}, format="json").json()["url"]
    raw = url.rstrip("/").rsplit("/", 1)[1]
    link = PortalLink.objects.get()
    assert raw not in (link.token_hash, link.prefix) and link.role == 2


def test_an_expired_link_is_refused(admin_api):
    path = _link_path(admin_api.post(URL, {}, format="json").json()["url"])
    PortalLink.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert Client().post(path).status_code == 410


def test_an_unknown_link_is_refused(db):
    assert Client().post(PORTAL + "link/ppl_madeup/").status_code == 410


@pytest.mark.parametrize("level", [1, 2])
def test_lower_token_levels_are_refused(partner, make_client, level):
    response = make_client(partner, level=level).post(URL, {}, format="json")
    assert response.status_code == 403
    assert "access level 3" in response.json()["error"]["message"]
    assert not PortalLink.objects.exists()


@pytest.mark.parametrize("body", [{"role": "owner"}, {"sessionMinutes": 1}, {"sessionMinutes": "60"},
                                  {"rolle": "viewer"}])
def test_bad_input_is_a_400_with_field_errors(admin_api, body):
    response = admin_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert set(response.json()["error"]["fields"]) == set(body)


def test_a_link_session_ends_after_its_minutes(admin_api):
    path = _link_path(admin_api.post(URL, {"sessionMinutes": 5}, format="json").json()["url"])
    browser = Client()
    browser.post(path)
    session = browser.session
    session["portal"]["ends"] = 0
    session.save()
    assert browser.get(PORTAL).status_code == 302


def test_a_link_session_reveals_secrets_only_while_fresh(admin_api, partner, settings):
    EventSubscriptionFactory(partner=partner, event_name="CARD_ISSUED")
    path = _link_path(admin_api.post(URL, {"role": "developer"}, format="json").json()["url"])
    browser = Client()
    browser.post(path)
    fresh = browser.post(PORTAL + "subscriptions/CARD_ISSUED/secret/")
    assert "whsec_" in fresh.content.decode()
    settings.PORTAL_REAUTH_MINUTES = 0
    stale = browser.post(PORTAL + "subscriptions/CARD_ISSUED/secret/", {"password": "anything"})
    assert stale.status_code == 403 and "whsec_" not in stale.content.decode()
    assert "ask for a new link" in stale.content.decode()


def test_a_link_replaces_whoever_was_signed_in(admin_api, signed_in, other_partner):
    browser = signed_in(other_partner)
    browser.post(_link_path(admin_api.post(URL, {}, format="json").json()["url"]))
    assert "Acme Fintech" in browser.get(PORTAL).content.decode()
