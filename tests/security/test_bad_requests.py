"""Every bad partner-API request answers in the JSON error shape: NUL characters, deep nesting, oversized bodies,
unknown routes, and (defence in depth) an unexpected server error. None of them is a 500 or an HTML page."""

import json

import pytest
from django.test import Client

API = "/prepaid/auth/v1"
pytestmark = pytest.mark.django_db


def assert_json_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"error"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body


@pytest.mark.parametrize("path", [
    "/event-subscriptions/CARD%00CLOSED", "/events/a%00b", "/event-subscriptions/X%00/secret", "/cards/%00",
])
def test_a_nul_in_the_path_is_a_json_404(api_client, path):
    assert_json_error(api_client.get(API + path), 404, "not_found")


def test_a_nul_in_the_query_is_a_json_400(api_client):
    assert_json_error(api_client.get(f"{API}/events/?entityId=a%00b"), 400, "invalid_request")


def test_json_nested_beyond_the_documented_depth_is_a_400(api_client, settings):
    deep = "[" * 3000 + "]" * 3000
    body = assert_json_error(
        api_client.generic("POST", f"{API}/event-subscriptions/", deep, content_type="application/json"), 400
    )
    assert str(settings.PARTNER_API_MAX_JSON_DEPTH) in body["error"]["message"]


def test_json_at_the_depth_limit_is_parsed(api_client, settings):
    settings.PARTNER_API_MAX_JSON_DEPTH = 3
    shallow = json.dumps({"eventName": "TRANSACTION_NOTIFICATION", "retryConfig": {"maxRetries": [1]}})
    response = api_client.generic("POST", f"{API}/event-subscriptions/", shallow, content_type="application/json")
    assert_json_error(response, 400, "validation_error")  # reached the serializer: field errors, not a parse error


def test_brackets_inside_strings_do_not_count_as_nesting(api_client):
    body = json.dumps({"eventName": "[" * 500, "destination": "{" * 500, "isEnabled": True})
    response = api_client.generic("POST", f"{API}/event-subscriptions/", body, content_type="application/json")
    assert_json_error(response, 400, "validation_error")


def test_a_body_over_the_limit_is_a_json_413(api_client, settings):
    body = json.dumps({"eventName": "x" * (settings.PARTNER_API_MAX_BODY_BYTES + 10)})
    response = api_client.generic("POST", f"{API}/event-subscriptions/", body, content_type="application/json")
    body = assert_json_error(response, 413, "request_too_large")
    assert str(settings.PARTNER_API_MAX_BODY_BYTES) in body["error"]["message"]


def test_a_body_django_refuses_to_read_is_a_json_413(api_client, settings):
    """Django's own cap (DATA_UPLOAD_MAX_MEMORY_SIZE) raises while the view reads the body: answered 413 too."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = json.dumps({"eventName": "x" * 5000})
    response = api_client.generic("POST", f"{API}/event-subscriptions/", payload, content_type="application/json")
    assert_json_error(response, 413, "request_too_large")


def test_an_unknown_route_is_a_json_404(api_client):
    assert_json_error(api_client.get(f"{API}/no-such-thing/at-all"), 404, "not_found")


def test_an_unexpected_error_is_a_json_500_without_details(api_client, monkeypatch):
    from notifications import selectors

    def broken(**_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(selectors, "event_get", broken)
    client = Client(raise_request_exception=False)
    client.defaults.update(api_client._credentials)
    response = client.get(f"{API}/events/some-id")
    body = assert_json_error(response, 500, "server_error")
    assert "secret internals" not in json.dumps(body)


def test_pages_outside_the_api_keep_their_own_error_pages(client):
    response = client.get("/no-such-page%00")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")
