"""The NumPy scorer gives Whoosh's own BM25F scores, and follows updates and deletions."""

from __future__ import annotations

import itertools

import pytest
from whoosh.query import Or, Term

from kb.content import Article
from kb.search import SearchEngine, build_index, update_article
from kb.search.engine import BM25_B, BM25_K1
from kb.search.index import FIELD_BOOSTS
from kb.search.ranking import Ranker


@pytest.fixture
def engine(shared_index):
    return SearchEngine(shared_index)


@pytest.mark.parametrize("words", [["refund"], ["track", "order"], ["عميل", "مبلغ"], ["password"]])
def test_scores_equal_whooshs_bm25f_for_the_same_query(engine, words):
    searcher = engine.current_searcher()
    ranker = Ranker(searcher, FIELD_BOOSTS, BM25_B, BM25_K1)
    query = Or([Term(field, word) for word in words for field in FIELD_BOOSTS])
    expected = {hit.docnum: hit.score for hit in searcher.search(query, limit=None)}
    scores = sum(ranker.clause([(word, 1.0)]) for word in words)
    found = {int(n): float(scores[n]) for n in scores.nonzero()[0]}
    assert expected, "the query should match something in the fixture articles"
    assert found.keys() == expected.keys()
    for docnum, score in expected.items():
        assert found[docnum] == pytest.approx(score, rel=1e-5)


@pytest.mark.parametrize("prefix", ["re", "track", "p", "ال", "بط", "zzz"])
def test_prefix_expansion_lists_the_terms_whooshs_does_in_its_order(engine, prefix):
    # Suggestions expand the half-typed word from the ranker's sorted term lists.
    searcher = engine.current_searcher()
    ranker = Ranker(searcher, FIELD_BOOSTS, BM25_B, BM25_K1)
    for field in FIELD_BOOSTS:
        expanded = itertools.islice(searcher.reader().expand_prefix(field, prefix), 5)
        expected = [term.decode("utf-8") for term in expanded]
        assert ranker.terms_with_prefix(field, prefix, 5) == expected
    assert ranker.terms_with_prefix("body", "re", 50), "the fixture has words starting with re"


def test_a_replaced_article_is_found_once_by_its_new_text_only(tmp_path):
    old = Article(lang="en", slug="parcel", title="Parcel lockers", body="Pick up at a locker.\n")
    other = Article(lang="en", slug="other", title="Gift cards", body="Buy a gift card.\n")
    build_index(tmp_path, [old, other])
    engine = SearchEngine(tmp_path)
    assert [h.slug for h in engine.search("locker", "en").hits] == ["parcel"]
    new = Article(lang="en", slug="parcel", title="Parcel shops", body="Pick up at a shop.\n")
    update_article(tmp_path, new)
    assert engine.search("locker", "en").hits == ()
    assert [h.slug for h in engine.search("shop", "en").hits] == ["parcel"]
    assert engine.search("shop", "en").total == 1


def test_cached_answers_are_dropped_when_the_index_changes(tmp_path):
    article = Article(lang="en", slug="a", title="Returns", body="Send it back.\n")
    build_index(tmp_path, [article])
    engine = SearchEngine(tmp_path)
    assert engine.search("voucher", "en").hits == ()
    update_article(tmp_path, Article(lang="en", slug="b", title="Voucher", body="Codes.\n"))
    assert [h.slug for h in engine.search("voucher", "en").hits] == ["b"]
