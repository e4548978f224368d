"""The NumPy scorer gives Whoosh's own BM25F scores, and follows updates and deletions."""

from __future__ import annotations

import itertools

import pytest
from whoosh.query import Or, Term

from kb.content import Article
from kb.search import SearchEngine, build_index, update_article
from kb.search.engine import BM25_B, BM25_K1
from kb.search.index import FIELD_BOOSTS
from kb.search.ranking import Ranker, _direct_values, _stored_column


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


@pytest.mark.parametrize(
    ("query", "lang", "together", "apart"),
    [
        (
            "gift card",
            "en",
            "Buy a gift card today. Shops sell them.",
            "Buy a card today. Shops sell gift them.",
        ),
        (
            "بطاقة هدية",
            "ar",
            "اشتر بطاقة هدية اليوم. المتاجر تبيعها.",
            "اشتر بطاقة اليوم. المتاجر هدية تبيعها.",
        ),
    ],
)
def test_the_words_next_to_each_other_rank_above_the_same_words_apart(
    tmp_path, query, lang, together, apart
):
    # The same words in both bodies, only their order differs: the proximity bonus decides.
    articles = [
        Article(lang=lang, slug="apart", title="One", body=apart + "\n"),
        Article(lang=lang, slug="together", title="Two", body=together + "\n"),
    ]
    build_index(tmp_path, articles)
    hits = SearchEngine(tmp_path).search(query, lang).hits
    assert [hit.slug for hit in hits] == ["together", "apart"]


def test_stored_fields_and_columns_read_directly_equal_whooshs_in_every_segment(tmp_path):
    # The ranker reads hits' stored fields and columns with os.pread (`_direct_values`);
    # after an update the index has a second segment and a deleted document.
    articles = [
        Article(lang="en", slug=f"a{n}", title=f"Gift card {n}", body=f"Buy a gift card {n}.\n")
        for n in range(5)
    ] + [Article(lang="ar", slug="b", title="بطاقة هدية", body="اشتر بطاقة هدية اليوم.\n")]
    build_index(tmp_path, articles)
    update_article(tmp_path, Article(lang="en", slug="a2", title="Gift cards", body="New text.\n"))
    searcher = SearchEngine(tmp_path).current_searcher()
    ranker = Ranker(searcher, FIELD_BOOSTS, BM25_B, BM25_K1)
    assert len(list(searcher.reader().leaf_readers())) == 2
    for docnum in range(searcher.reader().doc_count_all()):
        assert ranker.stored_fields(docnum) == searcher.stored_fields(docnum)
        for column in ("pairs", "body_spans"):
            leaf, offset = next(
                (leaf, offset)
                for leaf, offset in reversed(list(searcher.reader().leaf_readers()))
                if docnum >= offset
            )
            assert (
                ranker.column_value(column, docnum) == leaf.column_reader(column)[docnum - offset]
            )
    assert ranker.stored_fields(0)["slug"] == "a0"
    # ... and the direct path is the one taken (a fallback to Whoosh would pass the above).
    for leaf, _ in searcher.reader().leaf_readers():
        assert _direct_values(leaf.column_reader("body_spans")) is not None
        assert _direct_values(_stored_column(leaf)) is not None


def test_an_index_read_through_a_memory_map_gives_the_same_stored_fields(tmp_path):
    # Whoosh's default storage maps the files into memory: no file to pread, so the ranker
    # reads through Whoosh and must give the same values.
    from whoosh.filedb.filestore import FileStorage

    from kb.search.index import index_path

    build_index(tmp_path, [Article(lang="en", slug="a", title="Gift cards", body="Buy one.\n")])
    searcher = FileStorage(str(index_path(tmp_path))).open_index().searcher()
    ranker = Ranker(searcher, FIELD_BOOSTS, BM25_B, BM25_K1)
    leaf = next(iter(searcher.reader().leaf_readers()))[0]
    assert _direct_values(_stored_column(leaf)) is None
    assert ranker.stored_fields(0) == searcher.stored_fields(0)
    assert ranker.stored_fields(0)["title"] == "Gift cards"
    assert ranker.column_value("pairs", 0) == leaf.column_reader("pairs")[0] != b""


def test_field_lengths_read_at_once_equal_whooshs_per_document(tmp_path):
    # BM25's length normalisation: long bodies (lengths over 255 are rounded by Whoosh), an
    # empty summary, and a second segment after an update.
    articles = [
        Article(lang="en", slug=f"a{n}", title=f"Card {n}", body="word " * (40 * n + 1) + "\n")
        for n in range(12)
    ]
    build_index(tmp_path, articles)
    update_article(tmp_path, Article(lang="en", slug="a3", title="Card", body="Short.\n"))
    searcher = SearchEngine(tmp_path).current_searcher()
    ranker = Ranker(searcher, FIELD_BOOSTS, BM25_B, BM25_K1)
    reader = searcher.reader()
    for field in ("title", "body", "summary"):
        expected = [reader.doc_field_length(n, field) or 0 for n in range(reader.doc_count_all())]
        assert ranker._field_lengths(field).tolist() == expected
    assert max(ranker._field_lengths("body")) > 255
