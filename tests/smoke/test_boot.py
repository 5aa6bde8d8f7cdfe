import pytest
from django.core.management import call_command

from wallets.state_machine import Actor, WalletStatus, allowed_targets


def test_healthz_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_migrations_are_complete():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_terminal_statuses_have_no_way_out():
    for actor in Actor:
        assert allowed_targets(WalletStatus.CLOSED, actor) == frozenset()
        assert allowed_targets(WalletStatus.EXPIRED, actor) == frozenset()
