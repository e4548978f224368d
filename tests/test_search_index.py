"""Building and updating the index; the fingerprint that decides when to rebuild."""

from __future__ import annotations

import dataclasses
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.query import Or, Term

import kb.search.index as index_module
from kb.content import Article, load_articles
from kb.content.render import render_markdown
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
from kb.search.analysis import script_aware_analyzer, spelling_analyzer
from kb.search.index import (
    FIELD_BOOSTS,
    MAX_BUILD_PROCESSES,
    PARALLEL_MIN_ARTICLES,
    IndexBuildError,
    article_document,
    build_processes,
    index_path,
    index_terms,
    plain_text,
    whoosh_fields,
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


def test_a_remembered_fingerprint_rereads_only_changed_files_and_still_sees_every_change(
    tmp_path, monkeypatch
):
    articles, remembered = tmp_path / "articles", tmp_path / "index"
    remembered.mkdir()
    write(articles / "en" / "a.md", "---\ntitle: A\nlang: en\n---\nBody\n")
    write(articles / "en" / "b.md", "---\ntitle: B\nlang: en\n---\nBody\n")
    plain = fingerprint(articles)
    assert fingerprint(articles, remember_in=remembered) == plain
    # Files older than a couple of seconds are trusted by size and time: none is read again.
    monkeypatch.setattr(index_module, "FRESH_SECONDS", -60)
    fingerprint(articles, remember_in=remembered)
    read = []
    real_read_bytes = Path.read_bytes

    def read_bytes(path):
        read.append(path.name)
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    assert fingerprint(articles, remember_in=remembered) == plain
    assert read == []
    # A changed file (new size and time) is read again and changes the fingerprint, which
    # stays the one computed without the record.
    write(articles / "en" / "b.md", "---\ntitle: B\nlang: en\n---\nBody, changed\n")
    changed = fingerprint(articles, remember_in=remembered)
    assert read == ["b.md"]
    assert changed != plain and changed == fingerprint(articles)


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


# Full builds in worker processes, and the cheaper analysis and text extraction they use.

PROJECT = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLES = PROJECT / "articles"


def real_articles() -> list[Article]:
    """The sample help center (Arabic and English), with a draft among its articles."""
    articles, problems = load_articles(SAMPLE_ARTICLES)
    assert not problems, problems
    return articles[:10] + [DRAFT] + articles[10:]


def queries_of(articles: list[Article]) -> list[tuple[str, str]]:
    """The title, some opening words and a misspelt title word of each article, in its language."""
    queries = []
    for article in articles:
        words = plain_text(article.html).split()
        queries += [
            (article.title, article.lang),
            (" ".join(words[3:9]), article.lang),
            (article.title.split()[0][:-1] + "x", article.lang),  # "did you mean"
        ]
    return queries


def test_a_parallel_build_answers_every_search_exactly_like_a_one_process_build(tmp_path):
    articles = real_articles()
    assert any(not article.published for article in articles)
    build_index(tmp_path / "one", articles, processes=1)
    build_index(tmp_path / "three", articles, processes=3)
    # Three workers, three segments: the parallel path was taken.
    assert len(list(index_path(tmp_path / "three").glob("MAIN_*.seg"))) == 3
    assert len(list(index_path(tmp_path / "one").glob("MAIN_*.seg"))) == 1

    one, three = SearchEngine(tmp_path / "one"), SearchEngine(tmp_path / "three")
    queries = queries_of([article for article in articles if article.published])
    for text, lang in queries:
        assert three.search(text, lang) == one.search(text, lang), text
    assert sum(bool(one.search(text, lang).hits) for text, lang in queries) > len(queries) / 2

    # Whoosh's own scoring agrees too: same documents, numbers and BM25F scores.
    query = Or([Term(field, word) for word in ("refund", "order", "طلب") for field in FIELD_BOOSTS])
    with (
        whoosh_index.open_dir(str(index_path(tmp_path / "one"))).searcher() as first,
        whoosh_index.open_dir(str(index_path(tmp_path / "three"))).searcher() as second,
    ):
        expected = [(hit.docnum, hit.score) for hit in first.search(query, limit=None)]
        assert [(hit.docnum, hit.score) for hit in second.search(query, limit=None)] == expected
        assert len(expected) > 5
        assert list(second.all_stored_fields()) == list(first.all_stored_fields())


def test_a_parallel_build_reports_progress_for_every_article(tmp_path):
    articles = real_articles()
    calls = []
    count = build_index(tmp_path, articles, progress=calls.append, processes=2)
    assert count == sum(article.published for article in articles)
    assert calls == [1] * len(articles)


def test_a_failing_worker_stops_the_build_and_the_previous_index_keeps_serving(tmp_path):
    articles = real_articles()
    build_index(tmp_path, [REFUND, TRACKING])

    broken = [article for article in articles if article.published][-1]

    def html_of(article):
        if article.key == broken.key:
            raise ValueError("cannot render this one")
        return article.html

    with pytest.raises(IndexBuildError, match="cannot render this one"):
        build_index(tmp_path, articles, html_of=html_of, processes=2)
    assert slugs(tmp_path, "refund") == ["refunds"]
    assert slugs(tmp_path, "password") == []
    # The writer lock was released: the next build takes it at once.
    build_index(tmp_path, articles, processes=2)
    assert "reset-password" in slugs(tmp_path, "password")


def test_small_builds_stay_in_one_process():
    assert build_processes(PARALLEL_MIN_ARTICLES - 1) == 1
    assert 1 <= build_processes(10 * PARALLEL_MIN_ARTICLES) <= MAX_BUILD_PROCESSES


TRICKY_TEXT = [
    "Log-in with your e-mail; wi-fi on/off, sign-up—now. Re-enter the PIN 1234-5678.",
    "مُحَمَّدٌ يُرِيدُ اسْتِرْدَادَ المَبْلَغِ، والإلغاء ـــ للطلبات. بطاقتي ٣٤٥",
    "Ünïcödé café naïve Ⅻ ß x" + "y" * 80 + " the and of",
    "شحن iPhone-15 إلى الرياض، co-op و-ال",
    "",
]


def test_index_terms_are_what_the_fields_analyser_makes():
    analyzer = script_aware_analyzer()
    texts = TRICKY_TEXT + [
        text
        for article in real_articles()
        for text in (article.title, article.summary, plain_text(article.html), *article.tags)
    ]
    for text in texts:
        assert index_terms(text) == [token.text for token in analyzer(text, mode="index")], text


def test_prepared_fields_store_the_text_and_index_the_analysers_terms():
    document = article_document(REFUND)
    fields = whoosh_fields(document)
    assert fields["_stored_title"] == "How refunds work"
    assert fields["title"] == ["how", "refund", "work"]
    spelling = spelling_analyzer()
    expected = [token.text for token in spelling(document["spelling"], mode="index")]
    assert fields["spelling"] == expected and "refunds" in expected
    assert fields["key"] == "en/refunds"


class ReferenceTextExtractor(HTMLParser):
    """The standard library's HTML parser, the reference `plain_text` must agree with."""

    BLOCKS = frozenset(
        "p br hr h1 h2 h3 h4 h5 h6 ul ol li dl dt dd blockquote table tr th td pre".split()
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "img" and dict(attrs).get("alt"):
            self.parts.append(f" {dict(attrs)['alt']} ")

    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def reference_plain_text(html: str) -> str:
    extractor = ReferenceTextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    return "\n".join(line for line in lines if line)


def test_plain_text_reads_sanitised_html_as_an_html_parser_does(shared_eval):
    sources = [article.body for article in real_articles()] + TRICKY_TEXT
    for line in (shared_eval / "xss" / "markdown_payloads.jsonl").read_text().splitlines():
        sources.append(json.loads(line)["payload"])
    pages = [render_markdown(source) for source in sources] + [
        '<p title="a>b">x &amp y &lt;b&gt;</p><img alt="a &amp; b" src="x"><br/>z',
        "<IMG ALT='Big' SRC=x>&am<em>p;</em> a <!-- c --> b<pre><code>x\n  y</code></pre>",
    ]
    for page in pages:
        assert plain_text(page) == reference_plain_text(page), page
    assert plain_text(pages[-1]) == "Big &amp; a b\nx\ny"
