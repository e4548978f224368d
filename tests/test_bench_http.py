"""bench/http.py runs end to end: a real gunicorn, every endpoint answered, figures written."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kb.search import normalize_query

from .conftest import FIXTURE_ARTICLES

PROJECT = Path(__file__).resolve().parent.parent
ENDPOINTS = {
    "healthz",
    "api_search",
    "page_search",
    "suggest",
    "api_search_no_event",
    "api_search_cached",
}
ROW_KEYS = {"requests", "errors", "requests_per_s", "p50_ms", "p95_ms", "p99_ms"}


@pytest.mark.slow
@pytest.mark.sqlite  # the script serves its own SQLite database, whatever the pass
def test_http_benchmark_serves_every_endpoint_without_errors_and_writes_its_figures(tmp_path):
    out = tmp_path / "http.json"
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        "\n".join(
            json.dumps({"id": str(n), "query": text, "lang": lang, "relevant": []})
            for n, (text, lang) in enumerate(
                [("refund", "en"), ("reset my password", "en"), ("استرداد المبلغ", "ar")]
            )
        ),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "bench/http.py", "--articles", str(FIXTURE_ARTICLES)]
        + ["--queries", str(queries), "--requests", "60", "--seconds", "10"]
        + ["--rounds", "1", "--cold-starts", "1", "--rss-searches", "0", "--json", str(out)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    printed = done.stdout
    for label in ("/healthz", "/api/search", "/<lang>/search", "/api/suggest", "vs healthz"):
        assert label in printed
    assert "KB_RATELIMIT_ENABLED=false" in printed
    assert "worker RSS" in printed

    result = json.loads(out.read_text(encoding="utf-8"))
    assert set(result["endpoints"]) == ENDPOINTS
    for name, row in result["endpoints"].items():
        assert ROW_KEYS <= set(row), name
        assert row["requests"] > 0, name
        assert row["errors"] == 0, (name, row["statuses"])
    assert result["endpoints"]["healthz"]["ratio_to_healthz"] == 1.0
    # Three base queries are not enough for the searches: the rest are distinct variants.
    searches = result["endpoints"]["api_search"]["requests"]
    assert searches + result["endpoints"]["page_search"]["requests"] > 3
    cold = result["cold_start"]
    assert 0 < cold["healthz_s"] and 0 < cold["search_page_s"]
    rss = result["worker_rss"]
    assert len(rss["workers"]) == 2 and rss["max_rss_mb"] > 0
    assert result["settings"]["rate_limits"].startswith("disabled")


def load_bench():
    spec = importlib.util.spec_from_file_location("kb_bench_http", PROJECT / "bench" / "http.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_search_and_suggestion_of_a_run_is_a_different_query():
    bench = load_bench()
    base = [("refund", "en"), ("reset my password", "en"), ("استرداد المبلغ", "ar")]
    searches = bench.QueryStream(base, seed=1)
    sent = [searches.next() for _ in range(300)]
    word_sets = {(lang, frozenset(normalize_query(text).split())) for text, lang in sent}
    assert len(word_sets) == len(sent)
    assert set(sent[:3]) == set(base)  # the query file first, then variants

    prefixes = bench.PrefixStream(bench.QueryStream(base, seed=2), seed=3)
    typed = [prefixes.next() for _ in range(100)]
    assert len({(text.casefold(), lang) for text, lang in typed}) == len(typed)
    assert all(len(text.strip()) >= 3 for text, _ in typed)
