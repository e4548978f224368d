"""Building and updating the index; the fingerprint that decides when to rebuild."""

from __future__ import annotations

import dataclasses

import pytest

from kb.content import Article
from kb.errors import SearchUnavailable
from kb.search import (
    SCHEMA_VERSION,
    SearchEngine,
    build_index,
    fingerprint,
    index_exists,
    index_is_current,
    remove_article,
    update_article,
    write_fingerprint,
)

REFUND = Article(
    lang="en",
    slug="refunds",
    title="How refunds work",
    summary="When the money reaches your card.",
    category="payments",
    tags=("refund", "money back"),
    body=(
        "# Refund times\n\nA **refund** reaches your [bank card](https://bank.example) in 5 days.\n"
    ),
)
TRACKING = Article(
    lang="en",
    slug="track-order",
    title="Track your order",
    category="orders",
    questions=("where is my parcel",),
    body="Open **My orders** to follow the courier.\n",
)
DRAFT = Article(
    lang="en",
    slug="secret-plans",
    title="Unreleased loyalty scheme",
    body="Loyalty.\n",
    status="draft",
)


def slugs(index_dir, query, lang="en"):
    return [hit.slug for hit in SearchEngine(index_dir).search(query, lang).hits]


def test_build_index_indexes_published_articles_in_a_versioned_directory(tmp_path):
    calls = []
    count = build_index(tmp_path, [REFUND, TRACKING, DRAFT], progress=calls.append)
    assert count == 2
    assert sum(calls) == 3
    assert (tmp_path / f"v{SCHEMA_VERSION}").is_dir()
    assert index_exists(tmp_path)
    assert slugs(tmp_path, "refund") == ["refunds"]
    assert slugs(tmp_path, "loyalty") == []


def test_markdown_markup_is_not_indexed_or_shown(tmp_path):
    build_index(tmp_path, [REFUND])
    assert slugs(tmp_path, "example") == []
    assert slugs(tmp_path, "https") == []
    snippet = SearchEngine(tmp_path).search("bank card", "en").hits[0].snippet
    assert "**" not in snippet and "](" not in snippet
    assert "<mark>bank</mark> <mark>card</mark>" in snippet


def test_tags_are_searchable(tmp_path):
    build_index(tmp_path, [REFUND, TRACKING])
    assert slugs(tmp_path, "money back") == ["refunds"]


def test_a_rebuild_replaces_the_previous_contents(tmp_path):
    build_index(tmp_path, [REFUND, TRACKING])
    build_index(tmp_path, [TRACKING])
    assert slugs(tmp_path, "refund") == []
    assert slugs(tmp_path, "courier") == ["track-order"]


def test_update_article_adds_and_replaces_one_article(tmp_path):
    build_index(tmp_path, [TRACKING])
    update_article(tmp_path, REFUND)
    assert slugs(tmp_path, "refund") == ["refunds"]
    update_article(tmp_path, dataclasses.replace(REFUND, title="Reimbursements explained"))
    assert slugs(tmp_path, "reimbursements") == ["refunds"]
    assert len(SearchEngine(tmp_path).search("refund", "en").hits) == 1


def test_updating_an_article_to_draft_removes_it(tmp_path):
    build_index(tmp_path, [REFUND, TRACKING])
    update_article(tmp_path, dataclasses.replace(REFUND, status="draft"))
    assert slugs(tmp_path, "refund") == []


def test_remove_article(tmp_path):
    build_index(tmp_path, [REFUND, TRACKING])
    remove_article(tmp_path, "en/refunds")
    assert slugs(tmp_path, "refund") == []
    assert slugs(tmp_path, "courier") == ["track-order"]
    remove_article(tmp_path, "en/no-such-article")


def test_updates_without_an_index_say_search_is_unavailable(tmp_path):
    with pytest.raises(SearchUnavailable):
        update_article(tmp_path, REFUND)
    with pytest.raises(SearchUnavailable):
        remove_article(tmp_path, REFUND.key)


def test_synonym_groups_are_stored_beside_the_index(tmp_path):
    build_index(tmp_path, [REFUND, TRACKING], synonyms=[("refund", "reimbursement")])
    assert slugs(tmp_path, "reimbursement") == ["refunds"]


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_fingerprint_changes_when_an_article_or_the_synonyms_change(tmp_path):
    articles = tmp_path / "articles"
    write(articles / "en" / "a.md", "---\ntitle: A\nlang: en\n---\nBody\n")
    first = fingerprint(articles)
    assert fingerprint(articles) == first
    write(articles / "en" / "a.md", "---\ntitle: A\nlang: en\n---\nBody!\n")
    second = fingerprint(articles)
    assert second != first
    write(articles / "synonyms.yml", "groups:\n  - [a, b]\n")
    third = fingerprint(articles)
    assert third != second
    (articles / "en" / "a.md").rename(articles / "en" / "b.md")
    assert fingerprint(articles) != third
    write(articles / "notes.txt", "not an article")
    assert fingerprint(articles) == fingerprint(articles)


def test_index_is_current_only_after_a_build_with_that_fingerprint(tmp_path):
    index_dir = tmp_path / "index"
    assert not index_is_current(index_dir, "abc")
    build_index(index_dir, [REFUND])
    assert not index_is_current(index_dir, "abc")
    write_fingerprint(index_dir, "abc")
    assert index_is_current(index_dir, "abc")
    assert not index_is_current(index_dir, "def")
    build_index(index_dir, [REFUND])  # a new build forgets the old fingerprint
    assert not index_is_current(index_dir, "abc")
