"""What a newcomer tripped over (issue 18): the README's token flow, /api/docs/ offline, the docs of
`POST …/{eventName}/test`, and OpenAPI path parameters named as the docs write them."""

import io
import re
import shlex

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

from subscriptions.models import ApiToken, Partner, hash_token
from tests.fixtures.processes import ROOT


def test_the_readme_token_flow_works_as_written(db):
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Partner integration in one minute", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if "manage.py" in line and not line.lstrip().startswith("#")]
    assert [c.split("manage.py ")[1].split()[0] for c in commands] == ["create_tenant", "issue_token"]
    out = io.StringIO()
    for line in commands:
        words = shlex.split(line.split("manage.py ", 1)[1].split(")")[0].split("|")[0])
        call_command(*words, stdout=out)
    assert Partner.objects.get(tenant_id="acme").name == "Acme Fintech"
    raw = out.getvalue().strip().splitlines()[-1]  # `| tail -n1`
    assert ApiToken.objects.get(token_hash=hash_token(raw)).level == 2


def test_api_docs_load_everything_from_this_server(db):
    client = Client()
    page = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    assert "cdn" not in page.lower() and "@latest" not in page
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert b"".join(response.streaming_content if response.streaming else [response.content])


def test_the_partner_docs_describe_the_test_endpoint_and_portal_links():
    docs = (ROOT / "docs" / "partner-api.md").read_text()
    assert "`POST /event-subscriptions/{eventName}/test`" in docs
    assert "`POST /portal-sessions`" in docs


@pytest.fixture(scope="module")
def schema_paths(django_db_blocker):
    out = io.StringIO()
    with django_db_blocker.unblock():
        call_command("spectacular", stdout=out)
    return yaml.safe_load(out.getvalue())["paths"]


def test_openapi_path_parameters_are_named_as_the_docs_write_them(schema_paths):
    assert "/prepaid/auth/v1/event-subscriptions/{eventName}/test" in schema_paths
    assert not [path for path in schema_paths if "{event_name}" in path]
    assert "/prepaid/auth/v1/portal-sessions/" in schema_paths or "/prepaid/auth/v1/portal-sessions" in schema_paths
