"""Signing in: password, then a TOTP code when the user has an authenticator app; lockout after repeated failures
(django-axes); sessions that expire; staff accounts and inactive partners refused; `next` never leaves the site."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from subscriptions.models import AuditEntry
from subscriptions.portal import auth
from subscriptions.portal.models import PortalRole
from tests.subscriptions.portal.conftest import PASSWORD, PORTAL, sign_in


def code_for(device: TOTPDevice, offset: int = 0) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + offset):06d}"


@pytest.fixture
def member(make_user, partner):
    return make_user(partner, PortalRole.DEVELOPER, username="dev")


def test_password_sign_in_opens_the_portal_and_is_audited(member):
    client = Client()
    response = sign_in(client, "dev")
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert client.get(PORTAL).status_code == 200
    entry = AuditEntry.objects.get(action="portal_user.signed_in")
    assert entry.actor == "acme/user:dev" and entry.channel == "PORTAL" and entry.after == {"totp": False}


@pytest.mark.parametrize(("username", "password"), [("dev", "wrong"), ("nobody", PASSWORD), ("", ""), ("dev", "")])
def test_wrong_credentials_are_refused_with_one_message(member, username, password):
    response = sign_in(Client(), username, password)
    assert response.status_code == 400
    assert "Wrong username or password." in response.content.decode()


def test_staff_accounts_have_no_portal_access(db):
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    response = sign_in(Client(), "root")
    assert response.status_code == 400
    assert "Wrong username or password." in response.content.decode()


def test_inactive_partner_cannot_sign_in_and_open_sessions_end(member, partner):
    client = Client()
    sign_in(client, "dev")
    partner.is_active = False
    partner.save()
    assert client.get(PORTAL).status_code == 302
    assert sign_in(Client(), "dev").status_code == 400


def test_lockout_after_repeated_failures(member, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(2):
        assert sign_in(client, "dev", "wrong").status_code == 400
    locked = sign_in(client, "dev", "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    # Even the right password is refused while locked.
    assert sign_in(client, "dev").status_code == 429


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com/", "/admin/"])
def test_next_never_leaves_the_portal(member, target):
    response = Client().post(PORTAL + "login/", {"username": "dev", "password": PASSWORD, "next": target})
    assert response["Location"] == "/portal/"


def test_next_inside_the_portal_is_followed(member):
    response = Client().post(PORTAL + "login/", {"username": "dev", "password": PASSWORD,
                                                 "next": "/portal/deliveries/?status=FAILED"})
    assert response["Location"] == "/portal/deliveries/?status=FAILED"


@pytest.fixture
def totp_member(member):
    device = TOTPDevice.objects.create(user=member.user, name="app", confirmed=True)
    return member, device


@pytest.fixture
def no_otp_throttle(settings):
    # django-otp makes a device wait (1 s, 2 s, 4 s…) after each wrong code; these tests send the right one next.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def test_totp_is_asked_for_after_the_password(totp_member, no_otp_throttle):
    _, device = totp_member
    client = Client()
    first = sign_in(client, "dev")
    assert first["Location"] == "/portal/login/code/"
    assert client.get(PORTAL).status_code == 302  # not signed in until the code
    assert client.post(PORTAL + "login/code/", {"token": "000000" if code_for(device) != "000000" else "111111"}
                       ).status_code == 400
    done = client.post(PORTAL + "login/code/", {"token": code_for(device)})
    assert done.status_code == 302 and done["Location"] == "/portal/"
    assert client.get(PORTAL).status_code == 200
    assert AuditEntry.objects.get(action="portal_user.signed_in").after == {"totp": True}


def test_wrong_totp_codes_count_towards_the_lockout(totp_member, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    sign_in(client, "dev")
    assert client.post(PORTAL + "login/code/", {"token": "12345x"}).status_code == 400
    assert client.post(PORTAL + "login/code/", {"token": "12345y"}).status_code == 429


def test_the_code_step_needs_the_password_step_first(totp_member):
    assert Client().post(PORTAL + "login/code/", {"token": "123456"})["Location"] == "/portal/login/"


def test_adding_and_removing_an_authenticator_app(signed_in, partner, no_otp_throttle):
    client = signed_in(partner)
    started = client.post(PORTAL + "security/", {"action": "start"})
    assert "<svg" in started.content.decode()
    device = TOTPDevice.objects.get(confirmed=False)
    assert client.post(PORTAL + "security/", {"action": "confirm", "token": "xxxxxx"}).status_code == 400
    assert client.post(PORTAL + "security/", {"action": "confirm", "token": code_for(device)}).status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEntry.objects.filter(action="portal_user.totp_enabled").exists()
    # The next sign-in asks for a code.
    assert sign_in(Client(), client.membership.user.username)["Location"] == "/portal/login/code/"
    removed = client.post(PORTAL + "security/", {"action": "remove", "token": code_for(device, offset=1)})
    assert removed.status_code == 200
    assert not TOTPDevice.objects.exists()


def _age_session(client: Client, **shift: float) -> None:
    session = client.session
    record = session[auth.SESSION_KEY]
    for key, seconds in shift.items():
        record[key] -= seconds
    session[auth.SESSION_KEY] = record
    session.save()


def test_sessions_end_after_idle_time(signed_in, partner, settings):
    client = signed_in(partner)
    _age_session(client, seen=settings.PORTAL_SESSION_IDLE_MINUTES * 60 + 1)
    response = client.get(PORTAL)
    assert response.status_code == 302 and response["Location"].startswith("/portal/login/")
    assert client.get(PORTAL).status_code == 302  # signed out for good


def test_sessions_end_after_their_maximum_age_even_when_used(signed_in, partner, settings):
    client = signed_in(partner)
    _age_session(client, ends=settings.PORTAL_SESSION_MAX_HOURS * 3600 + 1)
    assert client.get(PORTAL).status_code == 302


def test_use_keeps_a_session_alive(signed_in, partner):
    client = signed_in(partner)
    _age_session(client, seen=auth.SEEN_WRITE_INTERVAL_SECONDS + 5)
    assert client.get(PORTAL).status_code == 200
    assert time.time() - client.session[auth.SESSION_KEY]["seen"] < 5


def test_sign_out(signed_in, partner):
    client = signed_in(partner)
    assert client.post(PORTAL + "logout/").status_code == 302
    assert client.get(PORTAL).status_code == 302


def test_a_role_change_applies_at_once(signed_in, partner):
    client = signed_in(partner, PortalRole.ADMIN)
    assert client.get(PORTAL + "tokens/").status_code == 200
    client.membership.role = PortalRole.VIEWER
    client.membership.save()
    assert client.get(PORTAL + "tokens/").status_code == 403


def test_next_survives_the_code_step(totp_member):
    _, device = totp_member
    client = Client()
    client.post(PORTAL + "login/", {"username": "dev", "password": PASSWORD, "next": "/portal/audit/"})
    done = client.post(PORTAL + "login/code/", {"token": code_for(device)})
    assert done["Location"] == "/portal/audit/"
