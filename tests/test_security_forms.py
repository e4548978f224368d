"""Forms and sessions: CSRF and Origin on every POST, rate limits, honeypot, caps, cookies."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from kb import create_app
from kb.contact import FIELD_LIMITS
from kb.extensions import db, limiter

from .conftest import STAFF_PASSWORD, app_config, csrf_token, log_in, page, textarea_text

REDIS_URL = "redis://127.0.0.1:6379/0"
SAMPLE_VALUES = {
    "lang": "en",
    "article_lang": "en",
    "slug": "track-order",
    "reference": "KB-0000-0000",
    "notice_id": 1,
}
FORM_DATA = {
    "helpful": "yes",
    "comment": "Missing a step",
    "name": "Sara",
    "email": "sara@example.com",
    "message": "Where is my order please",
    "question": "Where is my order",
    "article": "en/track-order",
    "password": STAFF_PASSWORD,
    "title": "Title",
    "body": "Body text",
    "score": "3",
}


def post_urls(app) -> list[str]:
    """Every POST route of the app, with sample values for its arguments."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        missing = rule.arguments - SAMPLE_VALUES.keys()
        assert not missing, f"add sample values for {rule.rule}: {missing}"
        urls.append(rule.build({k: SAMPLE_VALUES[k] for k in rule.arguments})[1])
    assert len(urls) >= 15
    return urls


def row_counts(app) -> dict[str, int]:
    """Rows per table, except the contact flow a GET of the contact page opens."""
    with app.app_context():
        return {
            table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables
            if table.name != "contact_flow"
        }


@pytest.fixture
def admin_client(app, staff):
    client = app.test_client()
    assert log_in(client, staff["admin"]).status_code == 302
    return client


# CSRF and Origin


def test_every_post_without_a_csrf_token_is_refused_and_stores_nothing(app, admin_client):
    before = row_counts(app)
    for url in post_urls(app):
        response = admin_client.post(url, data=FORM_DATA)
        assert response.status_code == 400, url
    assert row_counts(app) == before
    assert admin_client.get("/admin/").status_code == 200  # still logged in: logout refused


def test_every_post_with_another_sessions_token_is_refused(app, admin_client):
    other = app.test_client()
    foreign = csrf_token(other.get("/admin/login"))
    before = row_counts(app)
    for url in post_urls(app):
        response = admin_client.post(url, data={**FORM_DATA, "csrf_token": foreign})
        assert response.status_code == 400, url
    assert row_counts(app) == before


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://localhost.evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_every_cross_site_post_is_refused_even_with_a_valid_token(app, admin_client, headers):
    token = csrf_token(admin_client.get("/admin/password"))
    before = row_counts(app)
    for url in post_urls(app):
        response = admin_client.post(url, data={**FORM_DATA, "csrf_token": token}, headers=headers)
        assert response.status_code == 400, url
    assert row_counts(app) == before


def test_a_same_origin_post_passes_the_origin_check(app, staff):
    client = app.test_client()
    token = csrf_token(client.get("/admin/login"))
    response = client.post(
        "/admin/login",
        data={"email": staff["admin"], "password": STAFF_PASSWORD, "csrf_token": token},
        headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 302


# Rate limits against the real Redis


@pytest.fixture
def redis_app(tmp_path, shared_index, monkeypatch):
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.RedisError as error:
        from .conftest import require_service

        require_service(f"Redis at {REDIS_URL} is unreachable: {error}")
    prefix = f"kb-test-{uuid.uuid4().hex[:12]}"
    # The module-level Limiter keeps the first key prefix it was given: clear it so this
    # app's RATELIMIT_KEY_PREFIX applies (each app's init_app sets storage and prefix).
    monkeypatch.setattr(limiter, "_key_prefix", "")
    app = create_app(
        app_config(
            tmp_path,
            INDEX_DIR=str(shared_index),
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI=REDIS_URL,
            RATELIMIT_KEY_PREFIX=prefix,
            CONTACT_RATE_LIMIT="2 per minute",
            FEEDBACK_RATE_LIMIT="2 per minute",
            LOGIN_RATE_LIMIT="2 per minute",
            SEARCH_RATE_LIMIT="3 per minute",
        )
    )
    with app.app_context():
        db.create_all()
    app.redis_keys = lambda: list(connection.scan_iter(match=f"*{prefix}*"))
    yield app
    for key in connection.scan_iter(match=f"*{prefix}*"):
        connection.delete(key)
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    "url",
    ["/en/contact", "/en/articles/track-order/feedback", "/admin/login"],
)
def test_customer_posts_and_login_are_rate_limited_in_redis(redis_app, url):
    client = redis_app.test_client()
    token = csrf_token(client.get("/admin/login"))
    data = {"helpful": "yes", "email": "a@b.example", "password": "wrong", "csrf_token": token}
    codes = [client.post(url, data=data).status_code for _ in range(3)]
    assert 429 not in codes[:2] and codes[2] == 429, codes
    limited = client.post(url, data=data)
    assert limited.status_code == 429
    assert limited.mimetype == "text/html"
    assert "Content-Security-Policy" in limited.headers
    assert redis_app.redis_keys(), "the limits were not counted in Redis"


@pytest.mark.parametrize("path", ["/api/search", "/api/suggest"])
def test_the_search_api_is_rate_limited_in_redis(redis_app, path):
    client = redis_app.test_client()
    codes = [
        client.get(path, query_string={"q": "refund", "lang": "en"}).status_code for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    limited = client.get(path, query_string={"q": "refund", "lang": "en"})
    assert limited.get_json()["error"]["code"] == 429
    assert redis_app.redis_keys()


# Honeypot, caps, request size


def contact_post(client, **fields):
    token = csrf_token(client.get("/en/contact", query_string={"step": "form"}))
    data = {**FORM_DATA, "category": "", "csrf_token": token, **fields}
    return client.post("/en/contact", data=data)


def test_the_honeypot_shows_the_same_success_page_and_stores_nothing(app, client):
    before = row_counts(app)
    response = contact_post(client, website="http://spam.example")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/en/contact/sent")
    assert row_counts(app) == before, "the honeypot submission stored something"
    assert client.get("/en/contact/sent").status_code == 200
    real = contact_post(app.test_client())
    assert real.headers["Location"] == response.headers["Location"]  # same success page
    assert row_counts(app)["contact_request"] == before["contact_request"] + 1


@pytest.mark.parametrize("field", ["name", "email", "message"])
def test_every_contact_field_over_its_cap_is_a_400_that_keeps_the_text(app, client, field):
    long_value = "a" * (FIELD_LIMITS[field] + 1)
    message = "Where is my order number please"
    fields = {field: long_value} if field != "message" else {"message": long_value}
    if field != "message":
        fields["message"] = message
    before = row_counts(app)
    response = contact_post(client, **fields)
    assert response.status_code == 400
    html = page(response)
    kept = long_value if field == "message" else message
    assert textarea_text(html, "message") == kept
    assert row_counts(app) == before


def test_over_long_feedback_comment_and_login_fields_are_400(client):
    token = csrf_token(client.get("/admin/login"))
    comment = client.post(
        "/en/articles/track-order/feedback/comment",
        data={"comment": "x" * 2001, "csrf_token": token},
    )
    assert comment.status_code == 400
    login = client.post(
        "/admin/login", data={"email": "a" * 300, "password": "x", "csrf_token": token}
    )
    assert login.status_code == 400


@pytest.mark.parametrize(
    "url", ["/en/contact", "/en/articles/track-order/feedback", "/admin/login", "/ar/contact"]
)
def test_a_one_megabyte_post_is_a_413_page_not_a_500(client, url):
    response = client.post(url, data={"message": "x" * (1024 * 1024)})
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "Content-Security-Policy" in response.headers


def test_a_one_megabyte_request_to_the_api_is_a_json_error_not_a_500(client):
    response = client.post("/api/search", data={"q": "x" * (1024 * 1024)})
    assert response.status_code in (405, 413)
    assert response.get_json()["error"]["code"] == response.status_code


# Cookies and sessions


def test_the_session_cookie_is_secure_httponly_and_lax_outside_debug(tmp_path, shared_index):
    config = app_config(tmp_path, INDEX_DIR=str(shared_index))
    config.pop("TESTING")
    app = create_app(config)
    assert not app.testing and not app.debug
    with app.app_context():
        db.create_all()
    response = app.test_client().get("/admin/login", base_url="https://localhost")
    cookie = response.headers["Set-Cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"secure", "httponly"} <= attributes
    assert "SameSite=Lax" in cookie
    with app.app_context():
        db.engine.dispose()


def test_the_session_is_rotated_at_login(app, staff):
    client = app.test_client()
    token = csrf_token(client.get("/admin/login"))
    with client.session_transaction() as session:
        session["before_login"] = "secret"
    before = client.get_cookie("session").value
    response = client.post(
        "/admin/login",
        data={"email": staff["admin"], "password": STAFF_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    after = client.get_cookie("session").value
    assert after != before
    with client.session_transaction() as session:
        assert "before_login" not in session
    replay = app.test_client()
    replay.set_cookie("session", before)
    assert replay.get("/admin/").status_code == 302  # the old cookie is not logged in


def test_logout_invalidates_the_session_cookie(app, staff):
    client = app.test_client()
    assert log_in(client, staff["writer"]).status_code == 302
    cookie = client.get_cookie("session").value
    token = csrf_token(client.get("/admin/password"))
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/admin/").status_code == 302
