"""GET /event-types/: the catalog with categories, variables and a JSON Schema per event."""

import jsonschema
import pytest

from subscriptions.catalog import CATEGORIES, EVENT_CATALOG

URL = "/prepaid/auth/v1/event-types/"


@pytest.mark.django_db
def test_lists_the_whole_catalog(api_client):
    response = api_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(EVENT_CATALOG) >= 40
    assert body["categories"] == CATEGORIES
    assert body["allEventsName"] == "ALL_EVENTS"
    names = [e["name"] for e in body["results"]]
    for seed_event in ["KIT_STATUS_UPDATE", "TRANSACTION_NOTIFICATION", "KIT_INACTIVATION_NOTIFICATION",
                       "KIT_INACTIVATION_ADVANCE_NOTIFICATION", "KIT_EXPIRY_NOTIFICATION",
                       "KIT_EXPIRY_ADVANCE_NOTIFICATION", "CARD_RENEWAL"]:
        assert seed_event in names
    # grouped: each category's events are contiguous, in category order
    categories_in_order = list(dict.fromkeys(e["category"] for e in body["results"]))
    assert categories_in_order == CATEGORIES


@pytest.mark.django_db
def test_each_entry_has_type_variables_and_a_valid_json_schema(api_client):
    for entry in api_client.get(URL).json()["results"]:
        assert set(entry) == {"name", "category", "type", "description", "variables", "dataSchema",
                              "customerFacing", "critical", "urgent"}
        assert entry["type"] in {"INSTANT", "ADVANCE"}
        assert entry["description"]
        jsonschema.Draft202012Validator.check_schema(entry["dataSchema"])
        assert set(entry["dataSchema"]["properties"]) == {v["name"] for v in entry["variables"]}
        assert set(entry["dataSchema"]["required"]) == {v["name"] for v in entry["variables"] if v["required"]}


@pytest.mark.django_db
def test_advance_seed_event_details(api_client):
    response = api_client.get(URL + "KIT_EXPIRY_ADVANCE_NOTIFICATION")

    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "ADVANCE"
    assert body["critical"] is True
    assert "daysBefore" in body["dataSchema"]["properties"]
    jsonschema.validate({"kitNo": "K1", "daysBefore": 30, "expiryDate": "2026-03-01"}, body["dataSchema"])


@pytest.mark.django_db
def test_filters(api_client):
    advance = api_client.get(URL, {"type": "ADVANCE"}).json()
    wallet = api_client.get(URL, {"category": "Wallet"}).json()

    assert {e["name"] for e in advance["results"]} == {
        "KIT_INACTIVATION_ADVANCE_NOTIFICATION", "KIT_EXPIRY_ADVANCE_NOTIFICATION"
    }
    assert wallet["categories"] == ["Wallet"]
    assert all(e["category"] == "Wallet" for e in wallet["results"])


@pytest.mark.django_db
def test_bad_filter_is_400(api_client):
    response = api_client.get(URL, {"type": "SOMETIMES"})

    assert response.status_code == 400
    assert "type" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_unknown_event_type_is_404(api_client):
    assert api_client.get(URL + "NOPE").status_code == 404


@pytest.mark.django_db
def test_requires_authentication(client):
    assert client.get(URL).status_code == 401
