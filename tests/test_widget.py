"""The help widget: widget.js, the panel pages, who may frame them, their cookie and events."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from kb import create_app
from kb.contact.models import ContactRequest
from kb.extensions import db
from kb.insights.models import ArticleView, ContactFlow, SearchEvent
from kb.insights.widget import WidgetEvent
from kb.web.widget import panel_policy

from .conftest import app_config, csrf_token, page

HOST = "http://127.0.0.1:5001"
OTHER_HOST = "https://shop.example.com"
ORIGINS = f"{HOST},{OTHER_HOST}/"  # a trailing slash is tolerated: entries are normalised


def make_app(tmp_path, shared_index, **overrides):
    config = app_config(tmp_path, INDEX_DIR=str(shared_index), WIDGET_ORIGINS=ORIGINS)
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def widget_app(tmp_path, shared_index):
    app = make_app(tmp_path, shared_index)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def panel(widget_app):
    """A client that opened the Arabic panel from HOST's checkout page."""
    client = widget_app.test_client()
    response = client.get(
        "/ar/widget",
        query_string={"origin": HOST, "path": "/checkout/payment", "topic": "payments"},
    )
    assert response.status_code == 200
    return client


def rows(app, model, **where):
    with app.app_context():
        query = sa.select(model).filter_by(**where).order_by(model.id)
        return [
            {column.name: getattr(row, column.name) for column in model.__table__.columns}
            for row in db.session.scalars(query)
        ]


def directives(response) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


# widget.js


def test_the_script_is_cacheable_javascript_with_the_words_of_every_language(client):
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.cache_control.public and response.cache_control.max_age > 0
    script = response.get_data(as_text=True)
    labels = json.loads(re.search(r"var LABELS = (\{.*?\});\n", script).group(1))
    assert (labels["ar"]["open"], labels["ar"]["close"]) == ("مساعدة", "إغلاق المساعدة")
    assert (labels["ar"]["dir"], labels["en"]["dir"]) == ("rtl", "ltr")
    assert labels["en"]["open"] == "Help"
    assert "attachShadow" in script and "location.search" not in script
    # The same file for everyone: shared caches may keep it.
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.vary


# Opening the panel: the host page's origin and path


def test_the_panel_opens_for_an_allowed_origin_in_arabic_right_to_left(panel, widget_app):
    response = panel.get("/ar/widget")  # later pages find the host page in the session
    html = page(response)
    assert html.html["lang"] == "ar" and html.html["dir"] == "rtl"
    assert html.body["data-host-origin"] == HOST
    assert html.find("input", attrs={"name": "q"}) is not None  # search as you type
    # data-topic "payments" is a category: its answers are shown before anything is typed.
    answers = [a.get_text(strip=True) for a in html.select("#answers-heading + ul a")]
    assert answers == ["لماذا رُفضت بطاقتي؟"]
    assert rows(widget_app, SearchEvent) == []  # the topic is not the customer's search


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://127.0.0.1:5002", "null", "", "not an origin", HOST + "/x"],
)
def test_an_origin_not_in_the_list_gets_a_400_and_no_session(widget_app, origin):
    client = widget_app.test_client()
    response = client.get("/en/widget", query_string={"origin": origin, "path": "/"})
    assert response.status_code == 400
    assert client.get("/en/widget").status_code == 400  # nothing was remembered


def test_the_panel_needs_a_host_page_and_a_served_language(widget_app):
    client = widget_app.test_client()
    assert client.get("/en/widget").status_code == 400
    assert client.get("/fr/widget", query_string={"origin": HOST}).status_code == 404


def test_origins_are_compared_in_their_normalised_form(widget_app):
    client = widget_app.test_client()
    response = client.get("/en/widget", query_string={"origin": "HTTPS://Shop.Example.com:443"})
    assert response.status_code == 200
    assert page(response).body["data-host-origin"] == OTHER_HOST


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("/checkout/payment?card=4111111111111111&email=a@b.co", "/checkout/payment"),
        ("/account#token=secret", "/account"),
        ("/orders/12345678/status", "/orders/[number]/status"),
        ("/users/sara%40example.com", "/users/[email]"),
        ("https://shop.example.com/x", "/"),
        ("", "/"),
        ("/" + "a" * 600, "/" + "a" * 499),
    ],
)
def test_only_the_host_pages_path_is_kept_without_personal_data(widget_app, sent, kept):
    client = widget_app.test_client()
    client.get("/en/widget", query_string={"origin": HOST, "path": sent})
    client.get("/en/widget/search", query_string={"q": "where is my order"})
    [search] = rows(widget_app, SearchEvent)
    assert (search["channel"], search["host_origin"], search["host_path"]) == ("widget", HOST, kept)


# Who may frame what


def test_panel_pages_may_be_framed_by_the_allowed_origins_only(panel):
    for url in ["/ar/widget", "/ar/widget/search?q=بطاقة", "/ar/widget/articles/card-declined"]:
        response = panel.get(url)
        assert response.status_code == 200, url
        assert directives(response)["frame-ancestors"] == [HOST, OTHER_HOST], url
        assert "X-Frame-Options" not in response.headers, url
        assert directives(response)["script-src"] == ["'self'"], url  # the rest is unchanged


def test_every_other_page_still_refuses_to_be_framed(panel):
    for url in ["/ar/", "/ar/contact", "/ar/articles/card-declined", "/api/search?q=x&lang=ar"]:
        response = panel.get(url)
        assert directives(response)["frame-ancestors"] == ["'none'"], url
        assert response.headers["X-Frame-Options"] == "DENY", url


def test_without_allowed_origins_no_page_may_be_framed(client):
    response = client.get("/en/widget", query_string={"origin": HOST})
    assert response.status_code == 400
    assert directives(response)["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_refused_message_in_the_panel_is_still_shown_in_the_frame(panel):
    """An expired session keeps the customer's text, on a page the host site may frame."""
    response = panel.post(
        "/ar/widget/contact",
        data={"name": "سارة", "email": "sara@example.com", "message": "بطاقتي مرفوضة"},
    )
    assert response.status_code == 400
    assert directives(response)["frame-ancestors"] == [HOST, OTHER_HOST]
    assert "بطاقتي مرفوضة" in response.get_data(as_text=True)


def test_the_panel_policy_needs_the_sites_frame_ancestors():
    assert panel_policy("default-src 'self'; frame-ancestors 'none'", frozenset()) == (
        "default-src 'self'; frame-ancestors 'none'"
    )
    with pytest.raises(ValueError):
        panel_policy("default-src 'self'", frozenset({HOST}))


# The panel keeps the customer inside it


def panel_links(response) -> list[str]:
    """Where the page's links (but those opening a new tab), forms and scripts' URLs lead."""
    html = page(response)
    links = [a["href"] for a in html.find_all("a", href=True) if a.get("target") != "_blank"]
    links += [form.get("action", "") for form in html.find_all("form")]
    for attribute in ("data-live-suggestions", "data-article-page"):
        links += [element[attribute] for element in html.find_all(attrs={attribute: True})]
    return links


def test_links_and_forms_of_panel_pages_stay_in_the_panel(panel):
    token = csrf_token(panel.get("/ar/widget/articles/card-declined"))
    solved = panel.post(
        "/ar/widget/articles/card-declined/solved",
        data={"csrf_token": token, "article": "ar/card-declined"},
    )
    assert solved.status_code == 302
    assert urlsplit(solved.location).path == "/ar/widget/contact/resolved"
    pages = [
        panel.get("/ar/widget"),
        panel.get("/ar/widget/search", query_string={"q": "بطاقة"}),
        panel.get("/ar/widget/articles/track-order"),
        panel.get(solved.location),
        panel.get("/ar/widget/contact", query_string={"q": "بطاقتي مرفوضة", "step": "form"}),
        panel.get("/ar/widget/articles/no-such-article"),
    ]
    for response in pages:
        for link in panel_links(response):
            assert urlsplit(link).path.startswith("/ar/widget"), (response.request.path, link)


def test_open_in_the_help_center_leads_to_the_same_page_on_the_site_in_a_new_tab(panel):
    html = page(panel.get("/ar/widget/articles/card-declined"))
    link = html.find("a", class_="panel-out")
    assert link["href"] == "/ar/articles/card-declined"
    assert link["target"] == "_blank" and link["rel"] == ["noopener"]
    html = page(panel.get("/ar/widget/search", query_string={"q": "بطاقة"}))
    assert html.find("a", class_="panel-out")["href"].startswith("/ar/search?q=")


def test_a_panel_page_without_its_session_says_how_to_get_help(widget_app):
    client = widget_app.test_client()  # e.g. a browser that blocks every third-party cookie
    html = page(client.get("/en/widget/articles/track-order"))
    assert html.find("a", class_="panel-out")["href"] == "/en/articles/track-order"
    assert html.select_one("main > .notice[role=status]") is not None
    [view] = rows(widget_app, ArticleView)
    assert (view["channel"], view["host_origin"], view["host_path"]) == ("widget", None, None)


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("orders", ["Track your order"]),  # a category: its articles
        ("refund money back", ["When will I get my refund?"]),  # words: what they find
        ("", None),  # nothing: the popular articles
    ],
)
def test_the_topic_fills_the_first_answers(widget_app, topic, expected):
    client = widget_app.test_client()
    response = client.get("/en/widget", query_string={"origin": HOST, "topic": topic})
    titles = [a.get_text(strip=True) for a in page(response).select("#answers-heading + ul a")]
    if expected is None:
        assert titles and page(response).find(id="answers-heading").get_text() == (
            "Popular articles"
        )
    else:
        assert titles[: len(expected)] == expected


# Events: everything done in the panel is recorded as the widget's, with the host page


def test_search_read_and_solved_in_the_panel_count_as_a_widget_flow_resolved(panel, widget_app):
    results = page(panel.get("/ar/widget/search", query_string={"q": "بطاقتي مرفوضة"}))
    first = results.select_one("ol.results a")["href"]
    assert first.startswith("/ar/widget/articles/card-declined?")
    article = panel.get(first)
    response = panel.post(
        "/ar/widget/articles/card-declined/solved",
        data={"csrf_token": csrf_token(article), "article": "ar/card-declined"},
    )
    assert response.status_code == 302
    host = {"channel": "widget", "host_origin": HOST, "host_path": "/checkout/payment"}
    [search] = rows(widget_app, SearchEvent)
    assert search.items() >= {**host, "query": "بطاقتي مرفوضة", "source": "search"}.items()
    [view] = rows(widget_app, ArticleView)
    assert view.items() >= {**host, "search_id": search["id"], "position": 1}.items()
    [flow] = rows(widget_app, ContactFlow)
    assert (
        flow.items() >= {**host, "outcome": "resolved", "resolved_key": "ar/card-declined"}.items()
    )
    # The effort survey follows, as on the site.
    resolved = page(panel.get(response.location))
    assert resolved.find("form", action="/ar/widget/contact/effort") is not None


def test_the_contact_flow_in_the_panel_is_the_sites_and_is_recorded_as_the_widgets(
    panel, widget_app
):
    start = panel.get("/ar/widget/contact", query_string={"q": "بطاقتي مرفوضة"})
    html = page(start)
    assert html.select("#suggestion-list .suggestion")  # answers before the form
    live = panel.get("/ar/widget/contact/answers", query_string={"q": "ليش انرفضت البطاقة"})
    assert live.json["results"][0]["url"] == "/ar/widget/articles/card-declined"
    form = page(
        panel.get("/ar/widget/contact", query_string={"q": "بطاقتي مرفوضة", "step": "form"})
    )
    token = form.find("input", attrs={"name": "csrf_token"})["value"]
    response = panel.post(
        "/ar/widget/contact",
        data={
            "csrf_token": token,
            "name": "سارة",
            "email": "sara@example.com",
            "message": "بطاقتي مرفوضة من أمس",
            "question": "بطاقتي مرفوضة",
        },
    )
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/ar/widget/contact/sent"
    reference = page(panel.get(response.location)).find(class_="reference").get_text(strip=True)
    [flow] = rows(widget_app, ContactFlow)
    assert (flow["channel"], flow["host_origin"], flow["host_path"], flow["outcome"]) == (
        "widget",
        HOST,
        "/checkout/payment",
        "contacted",
    )
    assert "ar/card-declined" in flow["suggestions_shown"]  # the live answers were remembered
    [request] = rows(widget_app, ContactRequest)
    assert (request["reference"], request["flow_id"]) == (reference, flow["id"])


def test_the_site_and_the_panel_keep_separate_sessions(panel, widget_app):
    """A flow started on the site is not continued in the panel: each counts in one channel."""
    panel.get("/ar/contact")
    panel.get("/ar/widget/contact")
    flows = rows(widget_app, ContactFlow)
    assert [flow["channel"] for flow in flows] == ["site", "widget"]
    assert flows[0]["visit_id"] != flows[1]["visit_id"]


def test_opens_and_closes_are_recorded_with_the_host_page(panel, widget_app):
    token = page(panel.get("/ar/widget")).find("meta", attrs={"name": "csrf-token"})["content"]
    for event in ("open", "close", "open"):
        response = panel.post(
            "/api/widget/events",
            json={"event": event, "lang": "ar"},
            headers={"X-CSRFToken": token},
        )
        assert response.status_code == 204
    events = rows(widget_app, WidgetEvent)
    assert [(e["event"], e["lang"], e["host_origin"], e["host_path"]) for e in events] == [
        ("open", "ar", HOST, "/checkout/payment"),
        ("close", "ar", HOST, "/checkout/payment"),
        ("open", "ar", HOST, "/checkout/payment"),
    ]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"event": "opened", "lang": "ar"}, 400),
        ({"event": "open", "lang": "fr"}, 400),
        ({"event": "open"}, 400),
        (["open"], 400),
        ("open", 415),
        (None, 400),  # no CSRF token
    ],
)
def test_a_bad_event_is_a_json_error_and_stores_nothing(panel, widget_app, body, status):
    token = page(panel.get("/ar/widget")).find("meta", attrs={"name": "csrf-token"})["content"]
    if body is None:
        response = panel.post("/api/widget/events", json={"event": "open", "lang": "ar"})
    elif isinstance(body, str):
        response = panel.post("/api/widget/events", data=body, headers={"X-CSRFToken": token})
    else:
        response = panel.post("/api/widget/events", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == status
    assert set(response.json["error"]) == {"code", "message"}
    assert rows(widget_app, WidgetEvent) == []


# The panel's cookie


def set_cookie(response, name: str) -> str:
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(name + "=")]
    return cookie


def test_over_https_the_panel_cookie_is_partitioned_and_the_sites_stays_lax(tmp_path, shared_index):
    app = make_app(tmp_path, shared_index, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    panel_response = client.get("/ar/widget", query_string={"origin": HOST}, base_url="https://kb")
    cookie = set_cookie(panel_response, "kb_widget")
    assert {"Secure", "HttpOnly", "SameSite=None", "Partitioned"} <= set(cookie.split("; "))
    site_cookie = set_cookie(client.get("/ar/contact", base_url="https://kb"), "session")
    assert "SameSite=Lax" in site_cookie and "Partitioned" not in site_cookie
    with app.app_context():
        db.engine.dispose()


def test_over_plain_http_the_panel_cookie_is_lax(widget_app):
    response = widget_app.test_client().get("/en/widget", query_string={"origin": HOST})
    cookie = set_cookie(response, "kb_widget")
    assert "SameSite=Lax" in cookie and "Partitioned" not in cookie and "Secure" not in cookie


def test_the_panels_contact_form_has_the_sites_rate_limit_and_keeps_the_message(
    tmp_path, shared_index
):
    app = make_app(
        tmp_path,
        shared_index,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        CONTACT_RATE_LIMIT="1 per minute",
    )
    client = app.test_client()
    client.get("/en/widget", query_string={"origin": HOST})
    token = csrf_token(client.get("/en/widget/contact", query_string={"step": "form"}))
    message = {"name": "Sara", "email": "sara@example.com", "csrf_token": token}
    first = client.post("/en/widget/contact", data={**message, "message": "First message"})
    assert first.status_code == 302
    second = client.post("/en/widget/contact", data={**message, "message": "Second message"})
    assert second.status_code == 429
    assert "Second message" in second.get_data(as_text=True)
    assert directives(second)["frame-ancestors"] == [HOST, OTHER_HOST]
    with app.app_context():
        db.engine.dispose()
