"""bench/corpus.py and bench/search.py: a synthetic help center kb accepts, and its figures.

Both run as scripts in subprocesses, exactly as the README tells people to run them; the
timings themselves are never asserted (the machine is shared), only that they are produced.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kb.content import check_articles, load_categories, load_synonyms

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parent.parent / "bench"
ARTICLES = 40
QUERIES = 30


def make_corpus(out: Path, seed: int = 3) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        str(BENCH / "corpus.py"),
        "--articles",
        str(ARTICLES),
        "--queries",
        str(QUERIES),
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def files_of(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    done = make_corpus(out)
    assert done.returncode == 0, done.stderr
    return out


def test_corpus_passes_kb_check_half_arabic_half_english(corpus):
    articles, problems = check_articles(corpus / "articles")
    assert problems == []
    assert load_synonyms(corpus / "articles")[1] == []
    labels, label_problems = load_categories(corpus / "articles")
    assert label_problems == []
    assert len(articles) == ARTICLES
    assert sorted(a.lang for a in articles).count("ar") == ARTICLES // 2
    for article in articles:
        assert article.path.parent.parent.name == article.lang
        assert article.path.parent.name == article.category
        assert labels[article.category].keys() == {"ar", "en"}
        assert 80 <= len(article.body.split()) <= 1500, article.key
        assert article.title and article.summary and article.tags
        assert len(article.questions) <= 4
        assert "## " in article.body
    # Translations share their slug, as in articles/.
    slugs = {lang: {a.slug for a in articles if a.lang == lang} for lang in ("ar", "en")}
    assert slugs["ar"] == slugs["en"]


def test_every_query_targets_a_published_article_of_its_language(corpus):
    articles, _ = check_articles(corpus / "articles")
    published = {a.key for a in articles if a.published}
    lines = (corpus / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    queries = [json.loads(line) for line in lines]
    assert len(queries) == QUERIES
    assert {q["lang"] for q in queries} == {"ar", "en"}
    for query in queries:
        assert 1 <= len(query["query"].split()) <= 8, query
        assert query["kind"] in ("plain", "typo", "mixed")
        for slug in query["relevant"]:
            assert f"{query['lang']}/{slug}" in published, query


def test_the_same_seed_writes_the_same_bytes(corpus, tmp_path):
    assert make_corpus(tmp_path / "again").returncode == 0
    assert files_of(tmp_path / "again") == files_of(corpus)
    assert make_corpus(tmp_path / "other", seed=4).returncode == 0
    assert files_of(tmp_path / "other") != files_of(corpus)


def test_corpus_never_replaces_articles_it_did_not_write(tmp_path):
    article = tmp_path / "articles" / "en" / "mine.md"
    article.parent.mkdir(parents=True)
    article.write_text("---\ntitle: Mine\nlang: en\n---\nKeep me.\n", encoding="utf-8")
    done = make_corpus(tmp_path)
    assert done.returncode != 0
    assert "not written by bench/corpus.py" in done.stderr
    assert article.read_text(encoding="utf-8").endswith("Keep me.\n")


@pytest.mark.sqlite  # kb beside SQLite FTS5; the script keeps its own SQLite database
def test_search_benchmark_writes_every_figure(corpus, tmp_path):
    results = tmp_path / "search.json"
    command = [
        sys.executable,
        str(BENCH / "search.py"),
        "--articles",
        str(corpus / "articles"),
        "--queries",
        str(corpus / "queries.jsonl"),
        "--json",
        str(results),
        "--warmup",
        "3",
        "--max-keystrokes",
        "40",
        "--update-runs",
        "1",
        "--worker-searches",
        "10",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "ratio kb / FTS5" in done.stdout
    figures = json.loads(results.read_text(encoding="utf-8"))
    for key in ("kb_search", "kb_search_distinct", "kb_search_repeated", "fts5", "suggest"):
        assert {"p50_ms", "p95_ms", "p99_ms", "mean_ms", "count"} <= figures[key].keys()
    assert figures["kb_search"]["count"] == QUERIES
    assert figures["fts5"]["count"] == QUERIES
    assert figures["suggest"]["count"] == 40
    assert set(figures["ratio_kb_to_fts5"]) == {"p50", "p95", "p99"}
    assert figures["index_build"]["seconds"] > 0
    assert {"open_ms", "first_search_ms", "first_suggest_ms"} <= figures["searcher_open"].keys()
    assert figures["update"]["all_found"], figures["update"]
    memory = figures["memory"]
    assert memory["peak_rss_mb"] >= memory["rss_after_build_mb"] > 0
    assert memory["worker"]["searches"] == 10
    # Quality of both engines on the same queries: kb finds nearly every target here.
    assert figures["quality"]["kb"]["queries"] == QUERIES
    assert figures["quality"]["kb"]["hit@10"] >= 0.8
    assert set(figures["quality"]["fts5"]["by_lang"]) == {"ar", "en"}
