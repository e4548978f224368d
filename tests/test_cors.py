"""CORS: other sites may read the JSON API only when listed in KB_WIDGET_ORIGINS."""

from __future__ import annotations

import pytest

from kb import create_app
from kb.extensions import db

from .conftest import app_config, csrf_token

SHOP = "https://shop.example.com"
LOCAL_SHOP = "http://127.0.0.1:5001"
OTHER = "https://evil.example"
READS = [
    "/api/search?q=refund&lang=en",
    "/api/suggest?q=refund&lang=en",
    "/api/articles/ar/track-order",
    "/api/openapi.json",
]


@pytest.fixture
def cors_app(tmp_path, shared_index):
    app = create_app(
        app_config(tmp_path, INDEX_DIR=str(shared_index), WIDGET_ORIGINS=f"{SHOP},{LOCAL_SHOP}")
    )
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


def vary(response) -> set[str]:
    return {value.strip() for value in response.headers.get("Vary", "").split(",")}


@pytest.mark.parametrize("url", READS)
@pytest.mark.parametrize("origin", [SHOP, LOCAL_SHOP])
def test_an_allowed_site_may_read_every_get_endpoint(cors_app, url, origin):
    response = cors_app.test_client().get(url, headers={"Origin": origin})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in vary(response)


@pytest.mark.parametrize("url", READS)
def test_another_site_gets_no_cors_header(cors_app, url):
    client = cors_app.test_client()
    for headers in ({"Origin": OTHER}, {"Origin": "null"}, {"Origin": SHOP + ":8443"}, {}):
        response = client.get(url, headers=headers)
        assert response.status_code == 200  # the answer itself; the browser hides it
        assert "Access-Control-Allow-Origin" not in response.headers, headers
        assert "Origin" in vary(response), "a shared cache must not mix sites' answers"


def test_an_allowed_site_can_read_api_errors_too(cors_app):
    response = cors_app.test_client().get("/api/search?q=x&lang=fr", headers={"Origin": SHOP})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == 400
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    unknown = cors_app.test_client().get("/api/nothing", headers={"Origin": SHOP})
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == 404
    assert "Access-Control-Allow-Origin" not in unknown.headers  # no such endpoint to read
    assert "Origin" in vary(unknown)


def test_the_preflight_of_a_read_is_answered_for_allowed_sites_only(cors_app):
    client = cors_app.test_client()
    preflight = {"Origin": SHOP, "Access-Control-Request-Method": "GET"}
    response = client.options("/api/search", headers=preflight)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert response.headers["Access-Control-Allow-Methods"] == "GET, HEAD"
    assert "Access-Control-Allow-Credentials" not in response.headers
    other = client.options("/api/search", headers={**preflight, "Origin": OTHER})
    assert "Access-Control-Allow-Origin" not in other.headers
    write = client.options(
        "/api/search", headers={**preflight, "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in write.headers
    assert "Access-Control-Allow-Methods" not in write.headers


def test_post_endpoints_never_answer_cross_origin(cors_app):
    client = cors_app.test_client()
    url = "/api/articles/en/track-order/feedback"
    preflight = client.options(
        url,
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-csrftoken",
        },
    )
    assert not [name for name in preflight.headers.keys() if name.startswith("Access-Control")]
    token = csrf_token(client.get("/en/articles/track-order"))
    response = client.post(
        url, json={"helpful": True}, headers={"Origin": SHOP, "X-CSRFToken": token}
    )
    assert response.status_code == 400  # another site's page: refused, even from a listed one
    assert "Access-Control-Allow-Origin" not in response.headers
    same_origin = client.post(
        url, json={"helpful": True}, headers={"Origin": "http://localhost", "X-CSRFToken": token}
    )
    assert same_origin.status_code == 204
    assert "Access-Control-Allow-Origin" not in same_origin.headers


def test_pages_outside_the_api_get_no_cors_headers(cors_app):
    client = cors_app.test_client()
    for url in ("/en/", "/en/articles/track-order", "/ar/search?q=طلب", "/healthz"):
        response = client.get(url, headers={"Origin": SHOP})
        assert response.status_code == 200, url
        assert "Access-Control-Allow-Origin" not in response.headers, url


def test_with_no_origins_configured_no_site_may_read(client):
    response = client.get("/api/search?q=refund&lang=en", headers={"Origin": "http://localhost"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Origin" in vary(response)
