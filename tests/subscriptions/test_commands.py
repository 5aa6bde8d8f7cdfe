"""Ops commands: create_tenant, issue_token, revoke_token, rotate_secrets, reencrypt_secrets."""

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError

from subscriptions.crypto import encrypt_secret
from subscriptions.models import ApiToken, AuditChannel, AuditEntry, EventSubscription, Partner, hash_token
from tests.factories import EventSubscriptionFactory


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def run_failing(*args) -> CommandError:
    with pytest.raises(CommandError) as exc_info:
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
    return exc_info.value


@pytest.mark.parametrize("name", ["create_tenant", "issue_token", "revoke_token", "rotate_secrets",
                                  "reencrypt_secrets"])
def test_every_command_has_help_with_exit_codes(name):
    command = load_command_class("subscriptions", name)
    text = " ".join(command.create_parser("manage.py", name).format_help().split())

    assert " ".join(command.help.split()) in text
    assert "Exit" in command.help


@pytest.mark.django_db
def test_create_tenant():
    output = run("create_tenant", "acme", "--name", "Acme Fintech")

    assert "Created partner acme" in output
    partner = Partner.objects.get(tenant_id="acme")
    assert partner.name == "Acme Fintech"
    assert AuditEntry.objects.get(action="partner.created").channel == AuditChannel.COMMAND


@pytest.mark.django_db
def test_create_tenant_that_exists_exits_1(partner):
    error = run_failing("create_tenant", "acme", "--name", "Again")

    assert error.returncode == 1
    assert "already exists" in str(error)


@pytest.mark.django_db
def test_create_tenant_exists_ok(partner):
    assert "already exists" in run("create_tenant", "acme", "--name", "Again", "--exists-ok")
    assert Partner.objects.get(tenant_id="acme").name == "Acme Fintech"


@pytest.mark.django_db
@pytest.mark.parametrize("tenant_id", ["bad id", "x" * 65, "acme/../x"])
def test_create_tenant_invalid_id_exits_1(tenant_id):
    error = run_failing("create_tenant", tenant_id, "--name", "Bad")

    assert error.returncode == 1
    assert "Invalid tenant" in str(error)
    assert not Partner.objects.exists()


@pytest.mark.django_db
def test_issue_token_prints_token_as_last_line_and_it_works(partner, client):
    output = run("issue_token", "acme", "--level", "3", "--name", "ops")

    raw = output.strip().splitlines()[-1]
    token = ApiToken.objects.get(token_hash=hash_token(raw))
    assert (token.level, token.name, token.partner) == (3, "ops", partner)
    response = client.get("/prepaid/auth/v1/event-subscriptions/", HTTP_AUTHORIZATION=f"Bearer {raw}",
                          HTTP_X_TENANT_ID="acme")
    assert response.status_code == 200


@pytest.mark.django_db
def test_issue_token_defaults_to_level_2(partner):
    raw = run("issue_token", "acme").strip().splitlines()[-1]

    assert ApiToken.objects.get(token_hash=hash_token(raw)).level == 2


@pytest.mark.django_db
def test_issue_token_unknown_tenant_exits_1():
    assert run_failing("issue_token", "nobody").returncode == 1


@pytest.mark.django_db
def test_issue_token_rejects_bad_level(partner):
    error = run_failing("issue_token", "acme", "--level", "9")

    assert "invalid choice" in str(error)


@pytest.mark.django_db
def test_revoke_token_by_prefix_and_by_full_token(partner):
    raw_one = run("issue_token", "acme").strip().splitlines()[-1]
    raw_two = run("issue_token", "acme").strip().splitlines()[-1]
    one = ApiToken.objects.get(token_hash=hash_token(raw_one))

    assert "Revoked token" in run("revoke_token", one.prefix)
    assert "Revoked token" in run("revoke_token", raw_two)
    assert "already revoked" in run("revoke_token", one.prefix)
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_revoke_token_unknown_or_ambiguous_exits_1(partner):
    for suffix in ("AAAA", "BBBB"):
        raw = run("issue_token", "acme").strip().splitlines()[-1]
        ApiToken.objects.filter(token_hash=hash_token(raw)).update(prefix=f"ppn_same{suffix}")

    assert run_failing("revoke_token", "ppn_zzzzzzzz").returncode == 1
    ambiguous = run_failing("revoke_token", "ppn_same")
    assert ambiguous.returncode == 1
    assert "Several tokens" in str(ambiguous)
    assert run_failing("revoke_token", "ppn").returncode == 1  # too short to name a token
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 2


@pytest.mark.django_db
def test_rotate_secrets_json_filters_by_tenant_and_event(partner, other_partner):
    ours = EventSubscriptionFactory(partner=partner, event_name="TRANSACTION_NOTIFICATION")
    ours_other_event = EventSubscriptionFactory(partner=partner, event_name="CARD_RENEWAL")
    theirs = EventSubscriptionFactory(partner=other_partner, event_name="TRANSACTION_NOTIFICATION")
    secrets_before = {s.pk: s.secret for s in (ours, ours_other_event, theirs)}

    payload = json.loads(run("rotate_secrets", "--tenant", "acme", "--event-name", "TRANSACTION_NOTIFICATION",
                             "--json"))

    assert payload["rotated"] == 1
    assert payload["subscriptions"][0]["tenantId"] == "acme"
    assert payload["subscriptions"][0]["eventName"] == "TRANSACTION_NOTIFICATION"
    changed = {s.pk for s in EventSubscription.objects.all() if s.secret != secrets_before[s.pk]}
    assert changed == {ours.pk}
    assert "whsec_" not in json.dumps(payload)


@pytest.mark.django_db
def test_rotate_secrets_all_with_summary(partner, other_partner):
    EventSubscriptionFactory(partner=partner)
    EventSubscriptionFactory(partner=other_partner)

    output = run("rotate_secrets")

    assert "Rotated 2 signing secret(s)." in output
    assert all(len(s.signing_secrets()) == 2 for s in EventSubscription.objects.all())


@pytest.mark.django_db
def test_rotate_secrets_bad_arguments_exit_2(partner):
    assert run_failing("rotate_secrets", "--tenant", "nobody").returncode == 2
    assert run_failing("rotate_secrets", "--event-name", "NOPE").returncode == 2


@pytest.mark.django_db
def test_reencrypt_secrets_json(partner, settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEYS = [old_key]
    subscription = EventSubscriptionFactory(partner=partner)
    secret = subscription.secret
    settings.SECRETS_ENCRYPTION_KEYS = [new_key, old_key]

    payload = json.loads(run("reencrypt_secrets", "--json"))

    assert payload == {"reencrypted": 1, "failed": []}
    settings.SECRETS_ENCRYPTION_KEYS = [new_key]
    subscription.refresh_from_db()
    assert subscription.secret == secret


@pytest.mark.django_db
def test_reencrypt_secrets_reports_undecryptable_rows_and_exits_1(partner, settings):
    key_a, key_b, unknown_key = (Fernet.generate_key().decode() for _ in range(3))
    settings.SECRETS_ENCRYPTION_KEYS = [key_a]
    readable = EventSubscriptionFactory(partner=partner, event_name="CARD_RENEWAL")
    stranger = EventSubscriptionFactory(partner=partner)
    settings.SECRETS_ENCRYPTION_KEYS = [unknown_key]
    foreign = encrypt_secret("whsec_foreign")
    EventSubscription.objects.filter(pk=stranger.pk).update(secret_encrypted=foreign)
    settings.SECRETS_ENCRYPTION_KEYS = [key_b, key_a]

    error = run_failing("reencrypt_secrets")

    assert error.returncode == 1
    assert "1 secret(s)" in str(error)
    assert EventSubscription.objects.get(pk=stranger.pk).secret_encrypted == foreign
    assert EventSubscription.objects.get(pk=readable.pk).secret_encrypted != readable.secret_encrypted
