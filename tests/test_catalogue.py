"""The article catalogue beside the index, and the customer pages that read it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil

import pytest

from kb import create_app
from kb.content import ArticleLibrary, load_articles
from kb.extensions import db
from kb.search.catalogue import (
    CATALOGUE_FILE,
    Catalogue,
    remove_from_catalogue,
    replace_catalogue,
    update_catalogue,
)
from kb.search.index import index_path

from .conftest import FIXTURE_ARTICLES, app_config, page


def customer(config: dict):
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app.test_client()


@pytest.fixture(scope="module")
def fixture_articles():
    articles, problems = load_articles(FIXTURE_ARTICLES)
    assert not problems
    return articles


@pytest.fixture
def catalogue(tmp_path, fixture_articles) -> Catalogue:
    replace_catalogue(tmp_path, fixture_articles)
    return Catalogue(tmp_path)


def test_the_catalogue_holds_every_published_article_exactly_as_parsed(
    shared_index, fixture_articles
):
    catalogue = Catalogue(index_path(shared_index))
    for article in fixture_articles:
        found = catalogue.article(article.key)
        if article.published:
            assert found == article
            assert found.path == article.path
        else:
            assert found is None, article.key


def test_the_catalogue_lists_what_the_parsed_library_lists(tmp_path, shared_index):
    parsed = ArticleLibrary(FIXTURE_ARTICLES, ["ar", "en"])
    indexed = ArticleLibrary(
        FIXTURE_ARTICLES, ["ar", "en"], indexed=Catalogue(index_path(shared_index))
    )
    for lang in ("ar", "en"):
        assert indexed.published(lang) == parsed.published(lang)
        assert indexed.category_counts(lang) == parsed.category_counts(lang)
        assert indexed.categories(lang) == parsed.categories(lang)
        assert indexed.in_category(lang, "orders") == parsed.in_category(lang, "orders")
        for count in (1, 3, 10):
            assert indexed.recent(lang, count) == parsed.recent(lang, count)
        first = parsed.recent(lang, 1)[0].key
        assert indexed.recent(lang, 2, [first]) == parsed.recent(lang, 2, [first])


def test_recent_articles_are_the_latest_updated_and_undated_ones_last(catalogue):
    updated = [article.updated for article in catalogue.recent("en", 10)]
    dated = [day for day in updated if day is not None]
    assert dated == sorted(dated, reverse=True)
    assert updated == dated + [None] * (len(updated) - len(dated))


def test_an_edit_replaces_the_article_and_its_completions(catalogue, fixture_articles):
    original = next(a for a in fixture_articles if a.key == "en/track-order")
    edited = dataclasses.replace(
        original, title="Follow your parcel", updated=dt.date(2030, 1, 1), questions=()
    )
    update_catalogue(catalogue.path.parent, edited)
    assert catalogue.article("en/track-order") == edited
    assert catalogue.recent("en", 1) == [edited]
    assert catalogue.phrase_suffixes("en", "track your", 10) == []
    assert catalogue.phrase_suffixes("en", "where is my", 10) == []
    assert len(catalogue.phrase_suffixes("en", "follow your parcel", 10)) == 1


def test_a_draft_or_a_removed_article_leaves_the_catalogue(catalogue, fixture_articles):
    refund = next(a for a in fixture_articles if a.key == "en/refund-timing")
    update_catalogue(catalogue.path.parent, dataclasses.replace(refund, status="draft"))
    assert catalogue.article("en/refund-timing") is None
    assert catalogue.phrase_suffixes("en", "when will i get my refund", 10) == []
    remove_from_catalogue(catalogue.path.parent, "en/track-order")
    assert catalogue.article("en/track-order") is None
    assert catalogue.phrase_suffixes("en", "track your", 10) == []
    assert catalogue.article("ar/track-order") is not None


def test_edits_are_not_written_without_a_complete_catalogue(tmp_path, fixture_articles):
    """Patching a missing catalogue would make one holding that article alone."""
    update_catalogue(tmp_path, fixture_articles[0])
    assert not (tmp_path / CATALOGUE_FILE).exists()
    assert not Catalogue(tmp_path).available()


def test_customer_pages_read_the_index_not_the_article_files(tmp_path, shared_index, monkeypatch):
    """A new worker answers its first pages without parsing every article (2.6 s at 10,000)."""

    def no_parsing(*args, **kwargs):
        raise AssertionError("a customer page parsed an article file")

    monkeypatch.setattr("kb.content.library.parse_article", no_parsing)
    client = customer(app_config(tmp_path, INDEX_DIR=str(shared_index)))
    home = page(client.get("/en/"))
    counts = {
        a["href"]: a.select_one(".category-count").get_text()
        for a in home.select(".category-grid a")
    }
    assert counts["/en/categories/orders"] == "1 article"
    assert home.select(".article-list a")
    assert client.get("/en/search?q=refund").status_code == 200
    article = page(client.get("/en/articles/track-order"))
    assert article.select_one("article h1").get_text(strip=True) == "Track your order"
    assert client.get("/en/categories/orders").status_code == 200
    assert client.get("/en/articles/gift-cards").status_code == 404  # a draft


def test_without_an_index_articles_still_open(tmp_path):
    client = customer(app_config(tmp_path))
    assert client.get("/en/articles/track-order").status_code == 200
    assert client.get("/en/search?q=refund").status_code == 200
    assert "/en/categories/orders" in [a["href"] for a in page(client.get("/en/")).select("a")]


def test_a_rebuild_reaches_a_catalogue_already_open(tmp_path, fixture_articles):
    replace_catalogue(tmp_path, fixture_articles)
    catalogue = Catalogue(tmp_path)
    assert catalogue.article("en/track-order") is not None
    replace_catalogue(tmp_path, [a for a in fixture_articles if a.key != "en/track-order"])
    assert catalogue.article("en/track-order") is None
    assert catalogue.article("en/refund-timing") is not None


def test_a_replaced_catalogue_file_is_opened_afresh(tmp_path, fixture_articles):
    replace_catalogue(tmp_path, fixture_articles)
    catalogue = Catalogue(tmp_path)
    assert catalogue.article("en/track-order") is not None
    other = tmp_path / "other"
    other.mkdir()
    replace_catalogue(other, [a for a in fixture_articles if a.key != "en/track-order"])
    shutil.move(other / CATALOGUE_FILE, tmp_path / CATALOGUE_FILE)
    assert catalogue.article("en/track-order") is None
