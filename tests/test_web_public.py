"""Customer pages in Arabic and English, without JavaScript (plain HTTP)."""

from __future__ import annotations

import pytest

from kb.extensions import db
from kb.insights.models import ArticleView, Feedback, SearchEvent

from .conftest import csrf_token, drop_table, page


def test_root_redirects_to_the_browsers_language(client):
    response = client.get("/", headers={"Accept-Language": "ar-SA,ar;q=0.9,en;q=0.5"})
    assert response.status_code == 302 and response.location.endswith("/ar/")
    response = client.get("/", headers={"Accept-Language": "fr-FR"})
    assert response.location.endswith("/en/")


@pytest.mark.parametrize(
    ("lang", "direction", "heading", "contact"),
    [
        ("en", "ltr", "How can we help?", "Contact us"),
        ("ar", "rtl", "كيف نقدر نساعدك؟", "تواصل معنا"),
    ],
)
def test_home_page_is_in_the_visitors_language(client, lang, direction, heading, contact):
    html = page(client.get(f"/{lang}/"))
    assert html.html["lang"] == lang and html.html["dir"] == direction
    assert html.h1.get_text(strip=True) == heading
    assert html.find("form", role="search").find("input", attrs={"name": "q"})
    contact_links = [a for a in html.find_all("a") if a["href"] == f"/{lang}/contact"]
    assert contact_links and contact_links[0].get_text(strip=True) == contact
    categories = [a["href"] for a in html.select(".category-grid a")]
    assert f"/{lang}/categories/orders" in categories


def test_unknown_language_is_not_found(client):
    assert client.get("/fr/").status_code == 404


def test_search_page_shows_escaped_highlighted_results_and_records_the_search(app, client):
    html = page(client.get("/en/search?q=refund"))
    results = html.select("ol.results li")
    assert results, html
    link = results[0].find("a")
    assert link.get_text() == "When will I get my refund?"
    assert "search=" in link["href"] and "pos=1" in link["href"]
    assert results[0].select_one(".snippet mark")
    with app.app_context():
        event = db.session.scalars(db.select(SearchEvent)).one()
    assert (event.query, event.lang, event.source) == ("refund", "en", "search")
    assert event.shown_keys[0] == "en/refund-timing"


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("المرتجعات", "refund-timing"),  # article says "المرتجع": plural + article
        ("طلباتي", "track-order"),  # article says "الطلب", "طلبك"
        ("البطاقات", "card-declined"),  # article says "البطاقة"
        ("استرجاع", "refund-timing"),  # title says "المسترد"; question says "الاسترجاع"
    ],
)
def test_arabic_search_finds_a_different_word_form(client, query, slug):
    html = page(client.get("/ar/search", query_string={"q": query}))
    links = [a["href"] for a in html.select("ol.results h2 a")]
    assert links and links[0].startswith(f"/ar/articles/{slug}?"), links


def test_search_without_results_says_so_and_keeps_the_contact_link(client):
    html = page(client.get("/en/search?q=zzzzqqq"))
    assert "No articles match" in html.select_one(".result-count").get_text()
    assert html.select_one(".contact-prompt a")["href"] == "/en/contact"


def test_search_echoes_hostile_query_escaped(client):
    response = client.get("/en/search", query_string={"q": '<script>alert(1)</script>"'})
    assert response.status_code == 200
    assert b"<script>alert(1)" not in response.data


def test_search_when_the_index_is_missing_says_unavailable_and_articles_still_open(tmp_path):
    from kb import create_app

    from .conftest import app_config

    app = create_app(app_config(tmp_path))
    with app.app_context():
        db.create_all()
    client = app.test_client()
    html = page(client.get("/en/search?q=refund"))
    assert "Search is unavailable" in html.get_text()
    assert client.get("/en/articles/refund-timing").status_code == 200


def test_category_page_lists_its_articles(client):
    html = page(client.get("/ar/categories/orders"))
    assert html.h1.get_text(strip=True) == "الطلبات"
    assert [a.get_text() for a in html.select(".article-list a")] == ["تتبع طلبك"]
    assert client.get("/en/categories/no-such-category").status_code == 404


def test_article_page_renders_and_records_the_view_with_its_search(app, client):
    client.get("/en/search?q=refund")
    with app.app_context():
        search_id = db.session.scalars(db.select(SearchEvent.id)).one()
    html = page(client.get(f"/en/articles/refund-timing?search={search_id}&pos=1"))
    assert html.h1.get_text() == "When will I get my refund?"
    assert html.select_one(".article-body table")
    with app.app_context():
        view = db.session.scalars(db.select(ArticleView)).one()
    assert (view.article_key, view.search_id, view.position) == ("en/refund-timing", search_id, 1)


def test_article_view_ignores_a_search_id_from_another_visit(app, client):
    client.get("/en/search?q=refund")
    with app.app_context():
        search_id = db.session.scalars(db.select(SearchEvent.id)).one()
    other = app.test_client()
    other.get(f"/en/articles/refund-timing?search={search_id}&pos=1")
    with app.app_context():
        view = db.session.scalars(db.select(ArticleView)).one()
    assert view.search_id is None and view.position is None


def test_language_switch_goes_to_the_translation_or_home(client):
    html = page(client.get("/en/articles/track-order"))
    assert html.find("a", hreflang="ar")["href"] == "/ar/articles/track-order"
    html = page(client.get("/en/articles/reset-password"))
    assert html.find("a", hreflang="ar")["href"] == "/ar/"


def test_drafts_and_unknown_articles_are_not_found_in_both_languages(client):
    response = client.get("/en/articles/gift-cards")
    assert response.status_code == 404
    assert "We couldn't find that page" in page(response).get_text()
    arabic = page(client.get("/ar/articles/no-such-thing"))
    assert arabic.html["dir"] == "rtl" and arabic.h1.get_text() == "لم نجد هذه الصفحة"


def test_helpful_no_asks_what_was_missing_and_stores_the_redacted_comment(app, client):
    article = client.get("/en/articles/track-order")
    response = client.post(
        "/en/articles/track-order/feedback",
        data={"helpful": "no", "csrf_token": csrf_token(article)},
    )
    assert response.status_code == 302 and "feedback=missing" in response.location
    followed = client.get(response.location)
    assert page(followed).find("textarea", attrs={"name": "comment"})
    comment = "No tracking number, mail me at sam@example.com"
    client.post(
        "/en/articles/track-order/feedback/comment",
        data={"comment": comment, "csrf_token": csrf_token(followed)},
    )
    with app.app_context():
        feedback = db.session.scalars(db.select(Feedback)).one()
    assert feedback.helpful is False
    assert feedback.comment == "No tracking number, mail me at [email]"


def test_helpful_yes_thanks_the_customer_in_arabic(app, client):
    article = client.get("/ar/articles/track-order")
    response = client.post(
        "/ar/articles/track-order/feedback",
        data={"helpful": "yes", "csrf_token": csrf_token(article)},
        follow_redirects=True,
    )
    assert "شكرًا" in page(response).select_one("#feedback").get_text()


def test_feedback_without_csrf_token_is_refused(app, client):
    response = client.post("/en/articles/track-order/feedback", data={"helpful": "yes"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalars(db.select(Feedback)).first() is None


def test_every_page_sends_security_headers(client):
    for url in ("/en/", "/ar/search?q=x", "/en/no-such-page", "/api/search?q=x&lang=en"):
        headers = client.get(url).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_server_error_page_is_in_arabic_and_the_session_is_rolled_back(app, client):
    with app.app_context():
        drop_table(SearchEvent.__table__)  # recording the search fails for real
    response = client.get("/ar/search?q=طلب")
    assert response.status_code == 500
    html = page(response)
    assert html.html["dir"] == "rtl" and html.h1.get_text() == "حدث خطأ من جهتنا"
    assert client.get("/ar/articles/track-order").status_code == 200  # the app still serves
