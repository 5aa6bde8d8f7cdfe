def test_unknown_api_url_is_a_json_404(client):
    response = client.get("/prepaid/auth/v1/notification-templates/not-a-number")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_page_outside_the_api_is_html(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
