"""POST /api/articles/<lang>/<slug>/feedback: "Was this helpful?" as JSON for kb's own pages."""

from __future__ import annotations

import pytest

from kb import create_app
from kb.extensions import db
from kb.insights.models import Feedback

from .conftest import app_config, csrf_token

URL = "/api/articles/en/track-order/feedback"


def token_for(client, lang: str = "en", slug: str = "track-order") -> str:
    """The CSRF token of the article page, as the page's script would read it."""
    return csrf_token(client.get(f"/{lang}/articles/{slug}"))


def feedback_rows(app) -> list[Feedback]:
    with app.app_context():
        rows = db.session.scalars(db.select(Feedback).order_by(Feedback.id)).all()
        db.session.expunge_all()
        return rows


def test_helpful_feedback_is_recorded_for_the_api_channel(app, client):
    response = client.post(URL, json={"helpful": True}, headers={"X-CSRFToken": token_for(client)})
    assert response.status_code == 204 and response.data == b""
    [row] = feedback_rows(app)
    assert (row.article_key, row.helpful, row.comment, row.channel) == (
        "en/track-order",
        True,
        "",
        "api",
    )


def test_a_null_comment_is_no_comment_as_the_openapi_document_says(app, client):
    response = client.post(
        URL, json={"helpful": False, "comment": None}, headers={"X-CSRFToken": token_for(client)}
    )
    assert response.status_code == 204
    [row] = feedback_rows(app)
    assert (row.helpful, row.comment) == (False, "")
    schema = client.get("/api/openapi.json").get_json()
    comment = schema["components"]["schemas"]["Feedback"]["properties"]["comment"]
    assert "null" in comment["type"]


def test_an_arabic_comment_is_stored_redacted(app, client):
    token = token_for(client, "ar", "track-order")
    comment = "  ما فهمت الخطوة الثانية، راسلوني على sara@example.com\x00  "
    response = client.post(
        "/api/articles/ar/track-order/feedback",
        json={"helpful": False, "comment": comment},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 204
    [row] = feedback_rows(app)
    assert row.article_key == "ar/track-order" and row.helpful is False
    assert row.comment == "ما فهمت الخطوة الثانية، راسلوني على [email]"


def test_the_article_pages_comment_form_completes_a_json_no(app, client):
    token = token_for(client)
    no = client.post(URL, json={"helpful": False}, headers={"X-CSRFToken": token})
    assert no.status_code == 204
    response = client.post(
        "/en/articles/track-order/feedback/comment",
        data={"comment": "The courier link is missing", "csrf_token": token},
    )
    assert response.status_code == 302
    [row] = feedback_rows(app)
    assert row.comment == "The courier link is missing"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "CSRF token is missing"),
        ({"X-CSRFToken": "forged"}, "CSRF token is invalid"),
    ],
)
def test_without_the_pages_csrf_token_it_is_a_json_400(app, client, headers, message):
    client.get("/en/articles/track-order")
    response = client.post(URL, json={"helpful": True}, headers=headers)
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": 400, "message": f"The {message}."}}
    assert feedback_rows(app) == []


def test_another_sites_page_is_refused_even_with_a_valid_token(app, client):
    token = token_for(client)
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = client.post(
            URL, json={"helpful": True}, headers={**headers, "X-CSRFToken": token}
        )
        assert response.status_code == 400
        assert response.get_json()["error"]["message"] == "cross-site request refused"
    assert feedback_rows(app) == []


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"helpful": "yes"}, 400, "helpful must be true or false"),
        ({"helpful": 1}, 400, "helpful must be true or false"),
        ({}, 400, "helpful must be true or false"),
        ([True], 400, "the body must be a JSON object"),
        ({"helpful": False, "comment": 5}, 400, "comment must be a string"),
        ({"helpful": False, "comment": "x" * 2001}, 400, "comment is longer than 2000 characters"),
    ],
)
def test_a_bad_body_is_a_400_that_says_what_is_wrong(app, client, body, status, message):
    response = client.post(URL, json=body, headers={"X-CSRFToken": token_for(client)})
    assert response.status_code == status
    assert response.get_json() == {"error": {"code": status, "message": message}}
    assert feedback_rows(app) == []


def test_a_lone_surrogate_and_broken_json_are_400s(app, client):
    token = token_for(client)
    headers = {"X-CSRFToken": token, "Content-Type": "application/json"}
    surrogate = client.post(URL, data='{"helpful": false, "comment": "\\ud800"}', headers=headers)
    assert surrogate.status_code == 400
    broken = client.post(URL, data='{"helpful": tru', headers=headers)
    assert broken.status_code == 400 and broken.get_json()["error"]["code"] == 400
    assert feedback_rows(app) == []


def test_a_form_body_is_a_415_and_an_unknown_article_a_404(app, client):
    token = token_for(client)
    form = client.post(URL, data={"helpful": "yes"}, headers={"X-CSRFToken": token})
    assert form.status_code == 415 and form.get_json()["error"]["code"] == 415
    missing = client.post(
        "/api/articles/en/no-such-article/feedback",
        json={"helpful": True},
        headers={"X-CSRFToken": token},
    )
    assert missing.status_code == 404
    assert missing.get_json() == {"error": {"code": 404, "message": "no such article"}}
    draft = client.post(
        "/api/articles/en/gift-cards/feedback",
        json={"helpful": True},
        headers={"X-CSRFToken": token},
    )
    assert draft.status_code == 404
    assert feedback_rows(app) == []


def test_it_is_rate_limited_like_the_feedback_form(tmp_path, shared_index):
    app = create_app(
        app_config(
            tmp_path,
            INDEX_DIR=str(shared_index),
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI="memory://",
            FEEDBACK_RATE_LIMIT="2 per minute",
        )
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()
    headers = {"X-CSRFToken": token_for(client)}
    codes = [
        client.post(URL, json={"helpful": True}, headers=headers).status_code for _ in range(3)
    ]
    assert codes == [204, 204, 429]
    limited = client.post(URL, json={"helpful": True}, headers=headers)
    assert limited.status_code == 429 and limited.get_json()["error"]["code"] == 429
    assert len(feedback_rows(app)) == 2
    with app.app_context():
        db.engine.dispose()
