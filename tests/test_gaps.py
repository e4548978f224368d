"""Content gaps (kb.insights.gaps and /admin/gaps), exact on hand-built events, both engines."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from urllib.parse import parse_qs, urlsplit

import pytest

from kb import create_app
from kb.accounts import create_user
from kb.contact.models import ContactRequest
from kb.extensions import db
from kb.insights.gaps import ArticleCount, content_gaps, gap_key
from kb.insights.metrics import Metric, Period
from kb.insights.models import ArticleView, SearchEvent
from kb.search import normalize_query

from .conftest import STAFF_PASSWORD, app_config, log_in, page, textarea_text

T0 = dt.datetime(2024, 3, 4, 9, 0)
DAY = Period(T0.replace(hour=0), T0.replace(hour=0) + dt.timedelta(days=1))
DAY_ARGS = "since=2024-03-04&until=2024-03-04"
_references = itertools.count(1)


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def app(request, tmp_path, shared_index):
    overrides = {"INDEX_DIR": str(shared_index)}
    if request.param == "postgres":
        overrides["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    app = create_app(app_config(tmp_path, **overrides))
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def search(visit, minute, query, shown=(), lang="ar", results=None):
    event = SearchEvent(
        visit_id=visit,
        created_at=at(minute),
        lang=lang,
        query=query,
        normalized_query=normalize_query(query),
        result_count=len(shown) if results is None else results,
        shown_keys=list(shown),
        source="search",
    )
    db.session.add(event)
    db.session.flush()
    return event


def contact(visit, minute, answer_key=None, lang="ar"):
    db.session.add(
        ContactRequest(
            reference=f"KB-G{next(_references):07d}",
            visit_id=visit,
            created_at=at(minute),
            lang=lang,
            name="Test",
            email="test@example.invalid",
            message="help",
            answer_key=answer_key,
        )
    )


def view(visit, minute, key, from_search):
    db.session.add(
        ArticleView(
            visit_id=visit,
            created_at=at(minute),
            article_key=key,
            search_id=from_search.id,
            position=1,
        )
    )


@pytest.fixture
def events(app):
    """Arabic "cancel the order" in three spellings, English "where is my order", and noise."""
    # v1: failed (contact 5 min later; a manager linked the refund article).
    search("v1", 0, "إلغاء الطلب", ["ar/track-order"])
    contact("v1", 5, answer_key="ar/refund-timing")
    # v2: no contact; opened the refund article from its results.
    s2 = search("v2", 10, "الغاء الطلب", ["ar/track-order", "ar/refund-timing"])
    view("v2", 11, "ar/refund-timing", s2)
    # v3: nothing found; the contact 40 minutes later is too late to be its failure.
    search("v3", 20, "إلغاء طلبي")
    contact("v3", 60)
    # v4: searched twice, then one contact (linked): two failed searches, one linked request.
    search("v4", 30, "الغاء الطلب", ["ar/track-order"])
    search("v4", 32, "الغاء الطلب؟", ["ar/track-order"])
    contact("v4", 40, answer_key="ar/refund-timing")
    # English: one failed and one plain search of the same question, a zero-result query
    # and a search that neither failed nor came back empty (not a gap).
    search("v5", 0, "Where is my order?", ["en/track-order"], lang="en")
    contact("v5", 10, lang="en")
    search("v6", 5, "where is my order", ["en/track-order"], lang="en")
    search("v7", 5, "reset password", ["en/reset-password"], lang="en")
    search("v8", 5, "gift voucher", lang="en")
    # Outside the period.
    search("v9", -24 * 60, "gift voucher", lang="en")
    db.session.commit()


def test_arabic_spelling_variants_and_word_forms_are_one_gap():
    assert normalize_query("إلغاء الطلب") == normalize_query("الغاء الطلب") == "الغاء الطلب"
    assert gap_key("الغاء الطلب") == gap_key("الغاء طلبي") == gap_key("الغاء الطلب")
    assert gap_key("cancel my order") == gap_key("cancelling orders")
    assert gap_key("where is my order") != gap_key("cancel my order")
    # Only stop words: kept apart from every other query.
    assert gap_key("is it") == "=is it"
    assert gap_key("is it") != gap_key("it is")


def test_an_article_listed_twice_in_one_search_counts_as_shown_once(app):
    search("twice", 0, "refund late", shown=["ar/refund-timing", "ar/refund-timing"], results=2)
    search("once", 5, "refund late", shown=["ar/track-order", "ar/refund-timing"])
    contact("twice", 10)
    db.session.commit()
    [gap] = content_gaps(DAY)
    assert gap.shown == (ArticleCount("ar/refund-timing", 2), ArticleCount("ar/track-order", 1))


def test_gaps_are_ranked_by_failed_searches_with_exact_figures(events):
    gaps = content_gaps(DAY)
    assert [(g.lang, g.query) for g in gaps] == [
        ("ar", "الغاء الطلب"),
        ("en", "where is my order"),
        ("en", "gift voucher"),
    ]
    arabic = gaps[0]
    assert arabic.variants == ("الغاء الطلب", "الغاء طلبي")
    assert (arabic.searches, arabic.failed, arabic.zero_results) == (5, 3, 1)
    assert arabic.click_through == Metric.ratio(1, 4)
    assert arabic.question == "الغاء الطلب"
    assert arabic.shown == (ArticleCount("ar/track-order", 4), ArticleCount("ar/refund-timing", 1))
    assert arabic.opened == (ArticleCount("ar/refund-timing", 1),)
    # v1's and v4's requests; v4's two searches do not count its request twice.
    assert arabic.linked == (ArticleCount("ar/refund-timing", 2),)
    # A manager's link comes before what was opened or shown.
    assert arabic.top_article == "ar/refund-timing"

    english = gaps[1]
    assert (english.searches, english.failed, english.zero_results) == (2, 1, 0)
    assert english.click_through == Metric.ratio(0, 2)
    assert english.question == "Where is my order?"
    assert english.shown == (ArticleCount("en/track-order", 2),)
    assert (english.opened, english.linked, english.top_article) == ((), (), "en/track-order")

    voucher = gaps[2]
    assert (voucher.searches, voucher.failed, voucher.zero_results) == (1, 0, 1)
    assert voucher.click_through == Metric(None, 0, 0)
    assert voucher.top_article is None


def test_gaps_by_language_limit_and_existing_articles(events):
    assert [g.query for g in content_gaps(DAY, "en")] == ["where is my order", "gift voucher"]
    assert [g.query for g in content_gaps(DAY, limit=1)] == ["الغاء الطلب"]
    # The linked and opened article is gone: the editor can only open one that exists.
    (arabic,) = content_gaps(DAY, "ar", existing_keys={"ar/track-order"})
    assert arabic.top_article == "ar/track-order"
    assert arabic.linked == (ArticleCount("ar/refund-timing", 2),)
    assert content_gaps(Period(T0 + dt.timedelta(days=2), T0 + dt.timedelta(days=3))) == []


@pytest.fixture
def writer_client(app, events):
    create_user("writer@kb.example", STAFF_PASSWORD, "writer")
    client = app.test_client()
    assert log_in(client, "writer@kb.example").status_code == 302
    return client


def test_gap_page_links_to_the_editor_and_a_prefilled_new_article(writer_client):
    response = writer_client.get(f"/admin/gaps?{DAY_ARGS}")
    assert response.status_code == 200
    html = page(response)
    first = html.select_one("li.gap")
    assert first.select_one(".gap-query span").get_text() == "الغاء الطلب"
    links = {a.get_text(strip=True): a["href"] for a in first.select(".gap-actions a")}
    assert links["Open the top article in the editor"] == "/admin/articles/ar/refund-timing"
    new_article = urlsplit(links["Write a new article"])
    assert new_article.path == "/admin/articles/new"
    assert parse_qs(new_article.query) == {"lang": ["ar"], "question": ["الغاء الطلب"]}
    figures = [dd.get_text(" ", strip=True) for dd in first.select(".gap-figures dd")]
    assert figures[:3] == ["3", "1", "5"]
    assert len(html.select("li.gap")) == 3

    form = page(writer_client.get(links["Write a new article"]))
    assert textarea_text(form, "questions") == "الغاء الطلب"
    chosen = form.find("select", attrs={"name": "lang"}).find("option", selected=True)
    assert chosen["value"] == "ar"


def test_gap_page_filters_by_language_and_rejects_bad_dates(writer_client):
    html = page(writer_client.get(f"/admin/gaps?{DAY_ARGS}&lang=en"))
    assert [h.select_one("span").get_text() for h in html.select(".gap-query")] == [
        "where is my order",
        "gift voucher",
    ]
    assert writer_client.get("/admin/gaps?since=yesterday").status_code == 400
    assert writer_client.get("/admin/gaps?lang=xx").status_code == 400
    empty = page(writer_client.get("/admin/gaps"))  # the last 30 days: long after T0
    assert not empty.select("li.gap")


def test_gaps_export_as_csv(writer_client):
    response = writer_client.get(f"/admin/gaps/gaps.csv?{DAY_ARGS}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith('20240304-20240304.csv"')
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["lang", "query", "variants"]
    assert rows[1] == [
        "ar",
        "الغاء الطلب",
        "الغاء الطلب | الغاء طلبي",
        "5",
        "3",
        "1",
        "0.25",
        "ar/track-order (4) | ar/refund-timing (1)",
        "ar/refund-timing (1)",
        "ar/refund-timing (2)",
        "ar/refund-timing",
    ]
