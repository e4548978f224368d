"""The JSON API used by the live suggestions and by other sites."""

from __future__ import annotations

import pytest

from kb.extensions import db
from kb.insights.models import ContactFlow, SearchEvent


def test_search_returns_the_documented_shape(client):
    data = client.get("/api/search?q=refund&lang=en&limit=2").get_json()
    assert set(data) == {"query", "results", "suggestion"}
    assert len(data["results"]) <= 2
    first = data["results"][0]
    assert set(first) == {"slug", "lang", "title", "summary", "snippet", "url", "score"}
    assert (first["slug"], first["lang"], first["url"]) == (
        "refund-timing",
        "en",
        "/en/articles/refund-timing",
    )
    assert "<mark>" in first["snippet"]


def test_search_filters_by_language(client):
    data = client.get("/api/search", query_string={"q": "track order طلب", "lang": "ar"}).get_json()
    assert data["results"] and {r["lang"] for r in data["results"]} == {"ar"}


@pytest.mark.parametrize(
    "query_string",
    [
        {"q": "x" * 257, "lang": "en"},
        {"q": "refund", "lang": "fr"},
        {"q": "refund", "lang": "en", "limit": "0"},
        {"q": "refund", "lang": "en", "limit": "500"},
    ],
)
def test_bad_parameters_get_a_json_400(client, query_string):
    response = client.get("/api/search", query_string=query_string)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == 400


def test_api_searches_are_recorded_but_live_contact_typing_is_not(app, client):
    client.get("/api/search?q=refund&lang=en")
    client.get("/en/contact")  # opens a contact flow for this visit
    live = client.get("/api/search?q=refund tim&lang=en&context=contact").get_json()
    with app.app_context():
        sources = db.session.scalars(db.select(SearchEvent.source)).all()
        flow = db.session.scalars(db.select(ContactFlow)).one()
    assert sources == ["api"]
    shown = [f"{r['lang']}/{r['slug']}" for r in live["results"]]
    assert "en/refund-timing" in shown and flow.suggestions_shown == shown


def test_article_endpoint_returns_sanitised_html_and_hides_drafts(client):
    data = client.get("/api/articles/en/refund-timing").get_json()
    assert data["title"] == "When will I get my refund?" and "<table>" in data["html"]
    response = client.get("/api/articles/en/gift-cards")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == 404


def test_unknown_api_route_is_json(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404 and response.is_json
