"""/api/schema/ is valid OpenAPI 3 and documents the partner endpoints, their auth, errors and the seed's examples."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

PREFIX = "/prepaid/auth/v1"
OPERATIONS = {
    f"{PREFIX}/event-subscriptions/": {"get", "post", "put"},
    f"{PREFIX}/event-subscriptions/{{eventName}}": {"get", "delete"},
    f"{PREFIX}/event-subscriptions/{{eventName}}/secret": {"get"},
    f"{PREFIX}/event-subscriptions/{{eventName}}/secret/rotate": {"post"},
    f"{PREFIX}/event-types/": {"get"},
    f"{PREFIX}/event-types/{{name}}": {"get"},
}


@pytest.fixture(scope="module")
def subscriptions_schema():
    """The schema of this app's routes alone (the full schema is checked below)."""
    from django.urls import include, path

    patterns = [path("prepaid/auth/v1/", include("subscriptions.urls"))]
    return SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)


def test_full_schema_endpoint_is_valid_openapi_and_lists_the_endpoints(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    for path, methods in OPERATIONS.items():
        assert methods <= set(schema["paths"][path]), path


def test_subscriptions_schema_is_valid(subscriptions_schema):
    validate_schema(subscriptions_schema)
    assert set(subscriptions_schema["paths"]) == set(OPERATIONS)


def test_bearer_scheme_and_tenant_header_on_every_operation(subscriptions_schema):
    scheme = subscriptions_schema["components"]["securitySchemes"]["PartnerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "X-TENANT-ID" in scheme["description"]
    for path, methods in OPERATIONS.items():
        for method in methods:
            operation = subscriptions_schema["paths"][path][method]
            assert operation["security"] == [{"PartnerToken": []}]
            headers = [p for p in operation["parameters"] if p["in"] == "header"]
            assert [(h["name"], h["required"]) for h in headers] == [("X-TENANT-ID", True)]
            assert {"401", "403", "429"} <= set(operation["responses"]), (path, method)
            assert operation["description"] and operation["summary"]
            for response in operation["responses"].values():
                assert response["description"]


def test_error_responses_per_operation(subscriptions_schema):
    paths = subscriptions_schema["paths"]
    assert {"201", "400", "409"} <= set(paths[f"{PREFIX}/event-subscriptions/"]["post"]["responses"])
    assert {"200", "400", "404"} <= set(paths[f"{PREFIX}/event-subscriptions/"]["put"]["responses"])
    assert {"204", "404"} <= set(paths[f"{PREFIX}/event-subscriptions/{{eventName}}"]["delete"]["responses"])
    error = paths[f"{PREFIX}/event-subscriptions/"]["post"]["responses"]["409"]["content"]["application/json"]
    assert error["schema"] == {"$ref": "#/components/schemas/ApiError"}


def test_seed_examples_are_in_the_schema(subscriptions_schema):
    post = subscriptions_schema["paths"][f"{PREFIX}/event-subscriptions/"]["post"]
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    values = [e["value"] for e in examples.values()]
    assert {
        "eventName": "TRANSACTION_NOTIFICATION",
        "isEnabled": True,
        "destination": "https://your-app.com/webhooks/transactions",
        "retryConfig": {"maxRetries": 3, "retryIntervalSeconds": 60},
    } in values
    assert any(v.get("advanceNotificationPeriods") == [30, 15, 7] for v in values)
    put = subscriptions_schema["paths"][f"{PREFIX}/event-subscriptions/"]["put"]
    put_values = [e["value"] for e in put["requestBody"]["content"]["application/json"]["examples"].values()]
    assert {"eventName": "TRANSACTION_NOTIFICATION", "isEnabled": True,
            "destination": "https://your-app.com/v2/webhooks/transactions"} in put_values


def test_fields_are_described(subscriptions_schema):
    schemas = subscriptions_schema["components"]["schemas"]
    create = schemas["EventSubscriptionCreateRequest"]
    assert set(create["properties"]) == {"eventName", "isEnabled", "destination", "retryConfig",
                                         "advanceNotificationPeriods", "headers", "rateLimitPerSecond", "auth",
                                         "signatureScheme", "payloadFormat"}
    for name in ("headers", "rateLimitPerSecond", "signatureScheme"):
        assert create["properties"][name].get("description"), name
    assert sorted(create["required"]) == ["destination", "eventName"]
    for name in ("eventName", "destination", "advanceNotificationPeriods", "payloadFormat"):
        assert create["properties"][name].get("description"), name
    retry = schemas["RetryConfigInputRequest"]["properties"]
    assert (retry["maxRetries"]["minimum"], retry["maxRetries"]["maximum"]) == (0, 20)
    assert (retry["retryIntervalSeconds"]["minimum"], retry["retryIntervalSeconds"]["maximum"]) == (1, 86400)
    assert "secret" in schemas["EventSubscriptionCreated"]["properties"]
    assert "secret" not in schemas["EventSubscription"]["properties"]
