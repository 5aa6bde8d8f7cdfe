"""`make run` (manage.py setup_demo) prints the portal's URL and a demo partner user's login, and that login works."""

import io

from django.core.management import call_command
from django.test import Client

from notifications.ops import demo_data
from tests.subscriptions.portal.conftest import PORTAL, sign_in


def test_setup_demo_prints_the_portal_and_a_working_login(db):
    out = io.StringIO()
    call_command("setup_demo", stdout=out)
    text = out.getvalue()
    assert "Partner portal   http://127.0.0.1:8000/portal/   login demo / demo-portal" in text
    client = Client()
    assert sign_in(client, demo_data.PORTAL_USERNAME, demo_data.PORTAL_PASSWORD).status_code == 302
    page = client.get(PORTAL + "subscriptions/").content.decode()
    assert "Demo Fintech" in page and "ALL_EVENTS" in page
    again = io.StringIO()
    call_command("setup_demo", stdout=again)
    assert "demo (existing user; password 'demo-portal' unless changed)" in again.getvalue()
