"""Search as you type: the Suggester on the fixture index, and GET /api/suggest."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.accounts import create_user
from kb.content import load_articles
from kb.errors import SearchUnavailable
from kb.extensions import db
from kb.insights.models import SearchEvent
from kb.search import SearchEngine, Suggester, build_index
from kb.search.catalogue import CATALOGUE_FILE
from kb.search.index import index_path

from .conftest import STAFF_PASSWORD, log_in
from .test_editor import save


@pytest.fixture(scope="module")
def suggester(shared_index) -> Suggester:
    return Suggester(SearchEngine(shared_index))


def completions(suggester: Suggester, prefix: str, lang: str | None, limit: int = 8):
    return [c.text for c in suggester.suggest(prefix, lang, limit).completions]


def article_keys(suggester: Suggester, prefix: str, lang: str | None, limit: int = 8):
    return [a.key for a in suggester.suggest(prefix, lang, limit).articles]


# --- the Suggester -----------------------------------------------------------------------


def test_english_prefix_completes_the_title(suggester):
    found = suggester.suggest("tra", "en")
    assert found.completions[0].text == "Track your order"
    assert found.articles[0].key == "en/track-order"
    assert found.articles[0].title == "Track your order"


def test_a_later_word_of_a_title_or_question_is_completed_too(suggester):
    assert "Track your order" in completions(suggester, "your ord", "en")
    assert "where is my order" in completions(suggester, "where is m", "en")


def test_questions_are_completions(suggester):
    assert completions(suggester, "I forgot my p", "en") == ["I forgot my password"]


def test_arabic_prefix_completes_the_title(suggester):
    found = suggester.suggest("تتب", "ar")
    assert found.completions[0].text == "تتبع طلبك"
    assert found.articles[0].key == "ar/track-order"


@pytest.mark.parametrize(
    "typed",
    [
        "التتب",  # with the article
        "والتتبع",  # with "and" + the article
        "تَتَبُّع",  # with diacritics
        "وين طلبي",  # a question, as written
        "وين طلبى",  # alef maqsura for ya
        "الطلب ما وص",  # "الطلب ما وصلني": the last word half typed
        "طلب ما وصلني",  # typed without the article the question has
    ],
)
def test_arabic_spelling_variants_find_the_article(suggester, typed):
    assert "ar/track-order" in article_keys(suggester, typed, "ar")


def test_ta_marbuta_typed_as_ha_completes(suggester):
    assert completions(suggester, "ليش انرفضت البطاقه", "ar") == ["ليش انرفضت البطاقة"]


def test_hamza_variants_are_ignored(suggester):
    # The question is written "كم ياخذ الاسترجاع" (no hamza); customers type "يأخذ".
    assert completions(suggester, "كم يأخذ", "ar") == ["كم ياخذ الاسترجاع"]
    assert "ar/card-declined" in article_keys(suggester, "ليش أنرفضت", "ar")
    assert "ar/card-declined" in article_keys(suggester, "لماذا رفضت بطاقتي", "ar")


def test_language_filter(suggester):
    assert article_keys(suggester, "tra", "ar") == []
    assert all(key.startswith("ar/") for key in article_keys(suggester, "تتب", "ar"))
    assert "en/track-order" in article_keys(suggester, "tra", None)


def test_limit_caps_both_lists(suggester):
    found = suggester.suggest("re", "en", limit=1)
    assert len(found.completions) <= 1 and len(found.articles) <= 1
    many = suggester.suggest("re", "en", limit=1000)
    assert len(many.completions) <= 10 and len(many.articles) <= 10


def test_a_finished_word_is_not_completed_into_a_longer_one(suggester):
    assert "Track your order" in completions(suggester, "track ", "en")
    assert completions(suggester, "trac ", "en") == []


def test_prefix_no_phrase_starts_with_falls_back_to_matching_words(suggester):
    found = suggester.suggest("refund tim", "en")
    assert found.completions == ()
    assert found.articles[0].key == "en/refund-timing"


@pytest.mark.parametrize(
    "hostile",
    ["*", "title:x", "x" * 10_000, "?!.,;:-", "a", "", "   ", "(((", "ab" * 60, "\x00\x00"],
)
def test_hostile_input_gets_empty_suggestions(suggester, hostile):
    found = suggester.suggest(hostile, "en")
    assert found.completions == () and found.articles == ()


def test_drafts_are_never_suggested(suggester):
    assert article_keys(suggester, "gift", "en") == []
    assert "Gift cards" not in completions(suggester, "gi", "en")


def test_no_index_raises_search_unavailable(tmp_path):
    with pytest.raises(SearchUnavailable):
        Suggester(SearchEngine(tmp_path / "none")).suggest("track", "en")


def test_a_rebuilt_index_is_suggested_from_at_once(writable_app):
    articles_dir = Path(writable_app.config["ARTICLES_DIR"])
    suggester = Suggester(SearchEngine(writable_app.config["INDEX_DIR"]))
    assert completions(suggester, "tra", "en")[0] == "Track your order"
    path = articles_dir / "en" / "track-order.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Track your order", "Follow your parcel"),
        encoding="utf-8",
    )
    articles, problems = load_articles(articles_dir)
    assert not problems
    build_index(writable_app.config["INDEX_DIR"], articles)
    assert completions(suggester, "follow y", "en") == ["Follow your parcel"]
    assert "Track your order" not in completions(suggester, "tra", "en")


def test_fallback_ranks_articles_matching_more_of_the_typed_words_first(suggester):
    # No title or question starts with these; "refund" alone is in several articles.
    assert article_keys(suggester, "card refund tim", "en")[0] == "en/refund-timing"
    assert article_keys(suggester, "refund tim", "ar") == []


def api_suggestions(client, prefix: str, lang: str = "en") -> tuple[list[str], list[str]]:
    data = client.get("/api/suggest", query_string={"q": prefix, "lang": lang}).get_json()
    return [c["text"] for c in data["completions"]], [a["url"] for a in data["articles"]]


def logged_in_writer(app):
    with app.app_context():
        create_user("writer@kb.example", STAFF_PASSWORD, "writer")
    client = app.test_client()
    assert log_in(client, "writer@kb.example").status_code == 302
    return client


def test_a_title_saved_in_the_editor_is_suggested_at_once(writable_app):
    customer = writable_app.test_client()
    assert api_suggestions(customer, "wombat") == ([], [])
    assert api_suggestions(customer, "track y")[0] == ["Track your order"]
    response = save(logged_in_writer(writable_app), "en", "track-order", title="Wombat couriers")
    assert response.status_code == 302
    completions, urls = api_suggestions(customer, "wombat c")
    assert completions == ["Wombat couriers"] and urls == ["/en/articles/track-order"]
    assert "Track your order" not in api_suggestions(customer, "track y")[0]


def test_an_unpublished_article_is_no_longer_suggested(writable_app):
    customer = writable_app.test_client()
    assert "/en/articles/track-order" in api_suggestions(customer, "track y")[1]
    assert save(logged_in_writer(writable_app), "en", "track-order", status="draft").status_code
    completions, urls = api_suggestions(customer, "track y")
    assert "Track your order" not in completions and "/en/articles/track-order" not in urls


def test_an_index_without_a_catalogue_still_suggests_and_is_rebuilt_when_changed(writable_app):
    """An index built before catalogues existed: articles still come, and `make run` (`flask
    kb index --if-changed`) rebuilds it so that completions come back."""
    runner = writable_app.test_cli_runner()
    assert runner.invoke(args=["kb", "index"]).exit_code == 0
    assert "up to date" in runner.invoke(args=["kb", "index", "--if-changed"]).output
    directory = index_path(writable_app.config["INDEX_DIR"])
    for path in directory.glob(f"{CATALOGUE_FILE}*"):
        path.unlink()
    suggester = Suggester(SearchEngine(writable_app.config["INDEX_DIR"]))
    found = suggester.suggest("track you", "en")
    assert found.completions == () and found.articles[0].key == "en/track-order"
    result = runner.invoke(args=["kb", "index", "--if-changed"])
    assert result.exit_code == 0, result.output
    assert "Indexed" in result.output
    assert completions(suggester, "track you", "en") == ["Track your order"]


# --- GET /api/suggest --------------------------------------------------------------------


def test_api_returns_the_documented_shape(client):
    response = client.get("/api/suggest", query_string={"q": "tra", "lang": "en", "limit": 3})
    assert response.status_code == 200
    data = response.get_json()
    assert set(data) == {"query", "completions", "articles"}
    assert data["query"] == "tra"
    assert data["completions"][0] == {"text": "Track your order"}
    assert len(data["completions"]) <= 3 and len(data["articles"]) <= 3
    assert data["articles"][0] == {
        "slug": "track-order",
        "lang": "en",
        "title": "Track your order",
        "url": "/en/articles/track-order",
    }


def test_api_answers_in_arabic(client):
    data = client.get("/api/suggest", query_string={"q": "تتب", "lang": "ar"}).get_json()
    assert data["completions"][0]["text"] == "تتبع طلبك"
    assert data["articles"][0]["url"] == "/ar/articles/track-order"


@pytest.mark.parametrize(
    "query_string",
    [
        {"q": "x" * 257, "lang": "en"},
        {"q": "tra", "lang": "fr"},
        {"q": "tra", "lang": "en", "limit": "0"},
        {"q": "tra", "lang": "en", "limit": "11"},
        {"q": "tra", "lang": "en", "limit": "many"},
    ],
)
def test_api_bad_parameters_get_a_json_400(client, query_string):
    response = client.get("/api/suggest", query_string=query_string)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == 400


@pytest.mark.parametrize("q", ["", "t", " t ", "ت"])
def test_api_short_prefix_gets_empty_lists(client, q):
    data = client.get("/api/suggest", query_string={"q": q, "lang": "en"}).get_json()
    assert data["completions"] == [] and data["articles"] == []


def test_api_suggestions_are_not_recorded_as_searches(app, client):
    for prefix in ("tr", "tra", "trac", "track y"):
        response = client.get("/api/suggest", query_string={"q": prefix, "lang": "en"})
        assert response.status_code == 200
    with app.app_context():
        assert db.session.scalars(db.select(SearchEvent)).all() == []


def test_api_answers_503_when_there_is_no_index(tmp_path):
    from kb import create_app

    from .conftest import app_config

    app = create_app(app_config(tmp_path))
    response = app.test_client().get("/api/suggest?q=track&lang=en")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == 503
