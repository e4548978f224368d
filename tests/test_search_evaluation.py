"""`evaluate`: answer-quality figures over a temporary index, computed exactly."""

from __future__ import annotations

import json

import pytest

from kb.search import evaluate
from kb.search.evaluation import QueryFileError

ARTICLES = {
    "en/refund-policy.md": "title: Refund policy\nlang: en\n---\nHow a refund reaches your card.\n",
    "en/shipping-times.md": (
        "title: Shipping times\nlang: en\n---\nShipping and delivery take two days. "
        "Express delivery takes one day.\n"
    ),
    "en/returns.md": (
        "title: Returns\nlang: en\n---\nSend the item back; we pay the shipping of returns "
        "and every delivery label.\n"
    ),
    "ar/card-payment.md": "title: الدفع بالبطاقة\nlang: ar\n---\nندفع بالبطاقة.\n",
    "en/broken.md": "lang: en\n---\nNo title, so this file is invalid.\n",
}
QUERIES = [
    {"id": "q1", "query": "refund policy", "lang": "en", "relevant": ["refund-policy"]},
    {"id": "q2", "query": "returns label", "lang": "en", "relevant": ["shipping-times"]},
    {"id": "q3", "query": "zebra", "lang": "en", "relevant": ["refund-policy"]},
    {"id": "q4", "query": "البطاقات", "lang": "ar", "relevant": ["card-payment"]},
]


@pytest.fixture
def evaluation_set(tmp_path):
    articles = tmp_path / "articles"
    for name, text in ARTICLES.items():
        path = articles / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\n{text}", encoding="utf-8")
    queries = tmp_path / "queries.jsonl"
    queries.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in QUERIES) + "\n")
    return articles, queries


def test_evaluate_computes_exact_metrics(evaluation_set, tmp_path):
    articles, queries = evaluation_set
    # q1: rank 1; q2: only "returns" matches, the relevant article is missed; q3: no
    # results at all; q4 (Arabic plural of the title's word): rank 1.
    report = evaluate(articles, queries)
    assert report["articles"] == 4
    assert report["skipped_articles"] == 1
    assert report["queries"] == 4
    assert report["mrr@10"] == 0.5
    assert report["hit@1"] == 0.5
    assert report["hit@5"] == 0.5
    assert report["hit@10"] == 0.5
    assert report["zero_result_rate"] == 0.25
    assert report["by_lang"]["ar"] == {
        "queries": 1,
        "mrr@10": 1.0,
        "hit@1": 1.0,
        "hit@5": 1.0,
        "hit@10": 1.0,
        "zero_result_rate": 0.0,
    }
    assert report["by_lang"]["en"]["mrr@10"] == 0.3333
    assert report["by_lang"]["en"]["zero_result_rate"] == 0.3333


def test_evaluate_uses_ranks_below_the_first(tmp_path, evaluation_set):
    articles, queries = evaluation_set
    # "delivery": shipping-times (2 mentions) first, returns (1 mention) second.
    queries.write_text(
        json.dumps({"id": "q", "query": "delivery", "lang": "en", "relevant": ["returns"]})
    )
    report = evaluate(articles, queries, k=1)
    assert report["mrr@1"] == 0.0 and report["hit@1"] == 0.0 and report["hit@5"] == 1.0
    report = evaluate(articles, queries, k=3)
    assert report["mrr@3"] == 0.5
    assert report["hit@1"] == 0.0 and report["hit@3"] == 1.0 and report["hit@5"] == 1.0


def test_evaluate_leaves_no_index_behind(evaluation_set, tmp_path, monkeypatch):
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    articles, queries = evaluation_set
    progress = []
    evaluate(articles, queries, progress=progress.append)
    assert sum(progress) == len(QUERIES)
    assert list(scratch.iterdir()) == []


def test_invalid_query_file_is_reported_with_its_line(evaluation_set):
    articles, queries = evaluation_set
    queries.write_text('{"id": "q1", "query": "x", "lang": "en", "relevant": []}\nnot json\n')
    with pytest.raises(QueryFileError, match=":2:"):
        evaluate(articles, queries)
