"""payloadFormat on event subscriptions (POST, PUT, GET, audit) and the example bodies of GET /event-types/{name}."""

import jsonschema
import pytest

from subscriptions.catalog import EVENT_CATALOG
from subscriptions.models import AuditEntry, EventSubscription
from tests.subscriptions.conftest import SUBSCRIPTIONS_URL, detail_url

pytestmark = pytest.mark.django_db

EVENT_TYPES_URL = "/prepaid/auth/v1/event-types/"


def create(client, **fields):
    body = {"eventName": "TRANSACTION_NOTIFICATION", "destination": "https://hooks.example.com/tx", **fields}
    return client.post(SUBSCRIPTIONS_URL, body, format="json")


def test_default_is_standard_and_it_is_echoed(api_client):
    created = create(api_client)
    assert created.status_code == 201
    assert created.json()["payloadFormat"] == "standard"
    assert api_client.get(detail_url("TRANSACTION_NOTIFICATION")).json()["payloadFormat"] == "standard"
    assert EventSubscription.objects.get().payload_format == "standard"


@pytest.mark.parametrize("payload_format", ["standard", "issuer", "p2c"])
def test_each_format_is_stored_and_echoed_by_post_get_and_list(api_client, payload_format):
    assert create(api_client, payloadFormat=payload_format).json()["payloadFormat"] == payload_format
    assert api_client.get(detail_url("TRANSACTION_NOTIFICATION")).json()["payloadFormat"] == payload_format
    assert api_client.get(SUBSCRIPTIONS_URL).json()["results"][0]["payloadFormat"] == payload_format


def test_put_changes_the_format_and_audits_it(api_client):
    create(api_client)
    updated = api_client.put(SUBSCRIPTIONS_URL, {"eventName": "TRANSACTION_NOTIFICATION", "payloadFormat": "p2c"},
                             format="json")
    assert updated.status_code == 200
    assert updated.json()["payloadFormat"] == "p2c"
    entry = AuditEntry.objects.get(action="subscription.updated")
    assert (entry.before["payload_format"], entry.after["payload_format"]) == ("standard", "p2c")
    # Leaving it out keeps it.
    kept = api_client.put(SUBSCRIPTIONS_URL, {"eventName": "TRANSACTION_NOTIFICATION", "isEnabled": False},
                          format="json")
    assert kept.json()["payloadFormat"] == "p2c"


def test_a_get_response_can_be_put_back(api_client):
    create(api_client, payloadFormat="issuer")
    read = api_client.get(detail_url("TRANSACTION_NOTIFICATION")).json()
    response = api_client.put(SUBSCRIPTIONS_URL, read, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["payloadFormat"] == "issuer"


@pytest.mark.parametrize("bad", ["xml", "ISSUER", "", " issuer", 1, True, None, ["issuer"], {"format": "p2c"}])
@pytest.mark.parametrize("method", ["post", "put"])
def test_a_bad_format_is_a_400_naming_the_allowed_values(api_client, bad, method):
    create(api_client)
    body = {"eventName": "TRANSACTION_NOTIFICATION", "payloadFormat": bad}
    if method == "post":
        body["eventName"] = "KIT_STATUS_UPDATE"
        body["destination"] = "https://hooks.example.com/k"
    response = getattr(api_client, method)(SUBSCRIPTIONS_URL, body, format="json")

    assert response.status_code == 400, response.content
    (message,) = response.json()["error"]["fields"]["payloadFormat"]
    assert "Allowed values: standard, issuer, p2c." in message
    assert EventSubscription.objects.get().payload_format == "standard"  # nothing changed, nothing created


def test_event_type_shows_an_example_body_in_each_format(api_client):
    response = api_client.get(f"{EVENT_TYPES_URL}CARD_TRANSACTION_DECLINED")

    assert response.status_code == 200
    bodies = response.json()["exampleBodies"]
    assert set(bodies) == {"standard", "issuer", "p2c"}
    assert bodies["standard"]["eventName"] == "CARD_TRANSACTION_DECLINED"
    assert (bodies["issuer"]["operation"], bodies["issuer"]["sub_operation"], bodies["issuer"]["status"],
            bodies["issuer"]["reason"]) == ("CARD_TRANSACTION", "AUTHORIZATION", "FAILED", "INSUFFICIENT_FUNDS")
    assert bodies["p2c"]["EventName"] == "CardTransactionDeclined"
    assert bodies["p2c"]["Data"]["DeclineReason"] == "INSUFFICIENT_FUNDS"


@pytest.mark.parametrize("name", list(EVENT_CATALOG))
def test_every_example_data_fits_its_events_schema(api_client, name):
    body = api_client.get(f"{EVENT_TYPES_URL}{name}").json()
    jsonschema.validate(body["exampleBodies"]["standard"]["data"], body["dataSchema"])
    assert body["exampleBodies"]["issuer"]["data"] == body["exampleBodies"]["standard"]["data"]


def test_the_openapi_document_describes_the_webhook_bodies(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    callback = schema["paths"]["/prepaid/auth/v1/event-subscriptions/"]["post"]["callbacks"]["webhook"]
    content = callback["{$request.body#/destination}"]["post"]["requestBody"]["content"]["application/json"]
    assert content["schema"] == {"$ref": "#/components/schemas/WebhookBody"}
    assert len(content["examples"]) == 3
    components = schema["components"]["schemas"]
    assert {r["$ref"].rsplit("/", 1)[1] for r in components["WebhookBody"]["oneOf"]} == {
        "WebhookBodyStandard", "WebhookBodyIssuer", "WebhookBodyP2c"}
    assert components["WebhookBodyIssuer"]["properties"]["status"]
    assert set(components["WebhookBodyP2c"]["required"]) == {"EventId", "EventName", "Data"}
    field = components["EventSubscription"]["properties"]["payloadFormat"]
    assert field["allOf"] == [{"$ref": "#/components/schemas/PayloadFormatEnum"}]
    assert components["PayloadFormatEnum"]["enum"] == ["standard", "issuer", "p2c"]
