"""Redirects, templates and security headers on every kind of response."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from werkzeug.exceptions import InternalServerError

from kb import create_app
from kb.extensions import db
from kb.web.auth import safe_next

from .conftest import STAFF_PASSWORD, app_config, csrf_token, log_in

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

EVIL_TARGETS = [
    "//evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "https://evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "/\n/evil.example",
    "\t//evil.example",
    "/%09/evil.example",
]
ENCODED_TARGETS = [quote(target, safe="") for target in EVIL_TARGETS] + [
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "%2F%5Cevil.example",
    "%5C%2Fevil.example",
    "/%2F/evil.example",
    "https%3A%2F%2Fevil.example",
    "javascript%3Aalert(1)",
    "%252F%252Fevil.example",
]
SAMPLE_VALUES = {
    "lang": "en",
    "article_lang": "en",
    "slug": "track-order",
    "category": "orders",
    "reference": "KB-0000-0000",
    "notice_id": 1,
    "chart": "flows",
    "table": "searches",
    "filename": "kb.css",
}


# Redirects after login


@pytest.mark.parametrize("target", EVIL_TARGETS + ENCODED_TARGETS)
def test_safe_next_refuses_every_off_site_target(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/admin/", "/admin/articles?lang=ar", "/en/articles/x#top"])
def test_safe_next_keeps_local_paths(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", EVIL_TARGETS + ENCODED_TARGETS)
def test_login_never_redirects_off_site(client, staff, target):
    token = csrf_token(client.get("/admin/login"))
    response = client.post(
        "/admin/login",
        query_string={"next": target},
        data={"email": staff["writer"], "password": STAFF_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.netloc in ("", "localhost")
    assert location.path == "/admin/", response.headers["Location"]


def test_login_follows_a_local_next(client, staff):
    response = log_in(client, staff["writer"], next_url="/admin/articles")
    assert response.headers["Location"] == "/admin/articles"


# Templates: nothing inline for the CSP to forbid


def test_no_template_has_inline_styles_scripts_or_event_handlers():
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(TEMPLATES)
        if re.search(r"\sstyle\s*=", text, re.IGNORECASE):
            problems.append(f"{name}: style attribute")
        if re.search(r"<style\b", text, re.IGNORECASE):
            problems.append(f"{name}: <style> element")
        for match in re.finditer(r"<script\b([^>]*)>(.*?)</script>", text, re.I | re.S):
            if "src=" not in match.group(1) or match.group(2).strip():
                problems.append(f"{name}: inline <script>")
        if re.search(r"<[^>]*\son[a-z]+\s*=", text, re.IGNORECASE):
            problems.append(f"{name}: on* event handler attribute")
        if re.search(r"javascript:", text, re.IGNORECASE):
            problems.append(f"{name}: javascript: URL")
    assert not problems, problems


# Headers on every response


def assert_security_headers(response, what) -> None:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives.get("object-src") == ["'none'"], (what, policy)
    assert directives.get("base-uri") == ["'none'"], (what, policy)
    assert directives.get("frame-ancestors") == ["'none'"], (what, policy)
    for directive in ("script-src", "default-src", "style-src"):
        assert "'unsafe-inline'" not in directives.get(directive, []) or (
            directive == "style-src" and response.mimetype == "image/svg+xml"
        ), (what, policy)
    assert response.headers.get("X-Content-Type-Options") == "nosniff", what
    assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", what


def get_urls(app) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        missing = rule.arguments - SAMPLE_VALUES.keys()
        assert not missing, f"add sample values for {rule.rule}: {missing}"
        urls.append(rule.build({k: SAMPLE_VALUES[k] for k in rule.arguments})[1])
    return urls


def test_every_get_route_sends_the_security_headers_anonymous_and_as_admin(app, staff):
    anonymous = app.test_client()
    admin = app.test_client()
    assert log_in(admin, staff["admin"]).status_code == 302
    seen = set()
    for url in get_urls(app):
        for client in (anonymous, admin):
            response = client.get(url)
            assert response.status_code < 500, url
            seen.add(response.mimetype)
            assert_security_headers(response, url)
    assert {"text/html", "application/json", "image/svg+xml", "text/css"} <= seen, seen


def test_only_the_widget_panel_may_be_framed_and_only_by_the_allowed_sites(tmp_path, shared_index):
    """KB_WIDGET_ORIGINS opens frame-ancestors on the panel's pages and nowhere else."""
    allowed = ["http://127.0.0.1:5001", "https://shop.example.com"]
    app = create_app(
        app_config(tmp_path, INDEX_DIR=str(shared_index), WIDGET_ORIGINS=",".join(allowed))
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()
    client.get("/en/widget", query_string={"origin": allowed[1], "path": "/cart"})
    panel_pages = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        url = rule.build({k: SAMPLE_VALUES[k] for k in rule.arguments})[1]
        response = client.get(url)
        policy = response.headers["Content-Security-Policy"]
        ancestors = dict(part.split(None, 1) for part in policy.split("; "))["frame-ancestors"]
        if rule.endpoint.startswith("widget.") and rule.endpoint != "widget.script":
            panel_pages.add(rule.endpoint)
            assert ancestors == " ".join(allowed), url
            assert "X-Frame-Options" not in response.headers, url
        else:
            assert ancestors == "'none'", url
            assert response.headers["X-Frame-Options"] == "DENY", url
    assert {"widget.home", "widget.article", "widget.start", "widget.sent"} <= panel_pages
    with app.app_context():
        db.engine.dispose()


def test_error_responses_send_the_security_headers(app, staff):
    def fail():
        raise RuntimeError("boom")

    def http_fail():
        raise InternalServerError()

    app.add_url_rule("/test-500", "test_500", fail)
    app.add_url_rule("/api/test-500", "api_test_500", http_fail)
    client = app.test_client()
    writer = app.test_client()
    assert log_in(writer, staff["writer"]).status_code == 302
    cases = {
        400: client.get("/api/search", query_string={"q": "x", "lang": "xx"}),
        403: writer.get("/admin/users"),
        404: client.get("/en/articles/no-such-article"),
        405: client.get("/admin/logout"),
        413: client.post("/en/contact", data={"message": "x" * (1024 * 1024)}),
        500: client.get("/test-500"),
    }
    cases["json-500"] = client.get("/api/test-500")
    cases["json-404"] = client.get("/api/articles/en/nope")
    cases["static-404"] = client.get("/static/nope.css")
    cases["cross-site"] = client.post("/en/contact", headers={"Origin": "https://evil.example"})
    for code, response in cases.items():
        if isinstance(code, int):
            assert response.status_code == code, (code, response.status_code)
        assert_security_headers(response, code)


def test_a_rate_limited_response_sends_the_security_headers(tmp_path, shared_index):
    app = create_app(
        app_config(
            tmp_path,
            INDEX_DIR=str(shared_index),
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI="memory://",
            SEARCH_RATE_LIMIT="1 per minute",
        )
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()
    client.get("/api/suggest", query_string={"q": "re", "lang": "en"})
    response = client.get("/api/suggest", query_string={"q": "re", "lang": "en"})
    assert response.status_code == 429
    assert_security_headers(response, 429)
    with app.app_context():
        db.engine.dispose()


def test_the_svg_chart_keeps_its_own_policy_with_the_required_directives(app, staff):
    admin = app.test_client()
    assert log_in(admin, staff["admin"]).status_code == 302
    response = admin.get("/admin/dashboard/chart/flows.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'")
    assert "script-src" not in policy
    assert_security_headers(response, "svg")
