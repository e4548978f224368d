"""`flask kb` commands."""

from __future__ import annotations

import json
import shutil

import click

from kb import create_app
from kb.search import SearchEngine
from kb.search.index import build_processes, index_path

from .conftest import FIXTURE_ARTICLES, app_config


def cli_app(tmp_path, articles=FIXTURE_ARTICLES):
    return create_app(
        app_config(tmp_path, ARTICLES_DIR=str(articles), INDEX_DIR=str(tmp_path / "index"))
    )


def test_check_passes_on_valid_articles(tmp_path):
    result = cli_app(tmp_path).test_cli_runner().invoke(args=["kb", "check"])
    assert result.exit_code == 0, result.output
    assert "7 articles OK (3 ar, 4 en)" in result.output


def test_check_fails_with_the_file_and_problem(tmp_path):
    articles = tmp_path / "articles"
    shutil.copytree(FIXTURE_ARTICLES, articles)
    (articles / "en" / "broken.md").write_text("---\ntitle: Broken\nlang: xx\n---\nText\n")
    result = cli_app(tmp_path, articles).test_cli_runner().invoke(args=["kb", "check"])
    assert result.exit_code == 1
    assert f"{articles / 'en' / 'broken.md'}:3: 'lang' must be one of ar, en" in result.output


def test_index_builds_with_progress_then_skips_when_nothing_changed(tmp_path):
    articles = tmp_path / "articles"
    shutil.copytree(FIXTURE_ARTICLES, articles)
    app = cli_app(tmp_path, articles)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["kb", "index", "--if-changed"])
    assert result.exit_code == 0, result.output
    assert "Indexing articles" in result.output and "Indexed 6 published articles" in result.output
    assert SearchEngine(tmp_path / "index").search("refund", "en").hits

    result = runner.invoke(args=["kb", "index", "--if-changed"])
    assert "up to date" in result.output

    path = articles / "en" / "reset-password.md"
    path.write_text(path.read_text().replace("Reset your password", "Recover your account"))
    result = runner.invoke(args=["kb", "index", "--if-changed"])
    assert "Indexed 6 published articles" in result.output
    assert SearchEngine(tmp_path / "index").search("recover", "en").hits[0].slug == "reset-password"


class RecordingBar:
    """Stands in for click's progress bar and keeps what the command reported."""

    def __init__(self, length, label):
        self.length, self.label, self.done = length, label, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, steps):
        self.done += steps


def test_index_in_worker_processes_advances_the_bar_to_the_last_article(tmp_path, monkeypatch):
    articles = tmp_path / "articles"
    shutil.copytree(FIXTURE_ARTICLES, articles)
    monkeypatch.setattr("kb.search.index.PARALLEL_MIN_ARTICLES", 2)
    bars = []

    def recording_bar(length, label):
        bars.append(RecordingBar(length, label))
        return bars[-1]

    monkeypatch.setattr(click, "progressbar", recording_bar)
    result = cli_app(tmp_path, articles).test_cli_runner().invoke(args=["kb", "index"])
    assert result.exit_code == 0, result.output
    assert "Indexed 6 published articles" in result.output
    indexing = next(bar for bar in bars if bar.label == "Indexing articles")
    assert indexing.done == indexing.length == 6
    # One segment per worker process (more than one where this machine has the CPUs).
    segments = list(index_path(tmp_path / "index").glob("MAIN_*.seg"))
    assert len(segments) == build_processes(6)
    assert SearchEngine(tmp_path / "index").search("refund", "en").hits[0].slug == "refund-timing"


def test_eval_prints_the_metrics_json(tmp_path):
    queries = tmp_path / "queries.jsonl"
    lines = [
        {
            "id": "1",
            "query": "how long does a refund take",
            "lang": "en",
            "relevant": ["refund-timing"],
        },
        {"id": "2", "query": "وين طلبي", "lang": "ar", "relevant": ["track-order"]},
        {"id": "3", "query": "zzzzqqq", "lang": "en", "relevant": ["track-order"]},
    ]
    queries.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines))
    result = (
        cli_app(tmp_path)
        .test_cli_runner()
        .invoke(
            args=[
                "kb",
                "eval",
                "--articles",
                str(FIXTURE_ARTICLES),
                "--queries",
                str(queries),
                "--json",
            ]
        )
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # the progress bar is on stderr
    assert report["queries"] == 3
    assert report["hit@1"] == round(2 / 3, 4) and report["mrr@10"] == round(2 / 3, 4)
    assert report["zero_result_rate"] == round(1 / 3, 4)
    assert report["by_lang"]["ar"]["hit@1"] == 1.0 and report["by_lang"]["en"]["queries"] == 2


def test_eval_table_output(tmp_path):
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        '{"id": "1", "query": "refund", "lang": "en", "relevant": ["refund-timing"]}\n'
    )
    result = (
        cli_app(tmp_path)
        .test_cli_runner()
        .invoke(args=["kb", "eval", "--articles", str(FIXTURE_ARTICLES), "--queries", str(queries)])
    )
    assert result.exit_code == 0, result.output
    assert "mrr@10" in result.output and result.output.count("\n") >= 3
