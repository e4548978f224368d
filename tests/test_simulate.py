"""`flask kb simulate`: a plausible, labelled, reproducible demo history that can be removed."""

from __future__ import annotations

import datetime as dt

import pytest

from kb import create_app
from kb.contact import submit_contact
from kb.contact.models import ContactRequest
from kb.content import load_articles
from kb.extensions import db
from kb.insights import record_search, start_contact_flow
from kb.insights.metrics import Period, headline, trend
from kb.insights.models import ArticleView, ContactFlow, EffortScore, Feedback, SearchEvent
from kb.insights.simulate import MAX_VISITS, clear_simulated, simulate
from kb.search import normalize_query

from .conftest import FIXTURE_ARTICLES, app_config

NOW = dt.datetime(2024, 3, 20, 12, 0)
MODELS = (SearchEvent, ArticleView, Feedback, ContactFlow, ContactRequest, EffortScore)


def fixture_articles():
    articles, problems = load_articles(FIXTURE_ARTICLES)
    assert not problems
    return articles


def rows(model):
    return db.session.scalars(db.select(model)).all()


def snapshot() -> dict[str, list[tuple]]:
    """The simulated history without database ids (they depend on what was there before)."""
    return {
        "searches": sorted(
            (
                s.visit_id,
                s.created_at,
                s.lang,
                s.query,
                s.result_count,
                tuple(s.shown_keys),
                s.source,
                s.flow_id is None,
            )
            for s in rows(SearchEvent)
        ),
        "views": sorted(
            (v.visit_id, v.created_at, v.article_key, v.position) for v in rows(ArticleView)
        ),
        "feedback": sorted(
            (f.visit_id, f.created_at, f.article_key, f.helpful) for f in rows(Feedback)
        ),
        "flows": sorted(
            (f.visit_id, f.started_at, f.updated_at, f.question, f.outcome, f.resolved_key)
            for f in rows(ContactFlow)
        ),
        "contacts": sorted(
            (c.reference, c.visit_id, c.created_at, c.email, c.category, c.message)
            for c in rows(ContactRequest)
        ),
        "scores": sorted((e.visit_id, e.created_at, e.score) for e in rows(EffortScore)),
    }


def test_simulate_command_creates_every_kind_of_row_all_labelled(app):
    result = app.test_cli_runner().invoke(
        args=["kb", "simulate", "--visits", "400", "--days", "14", "--seed", "7"]
    )
    assert result.exit_code == 0, result.output
    assert "Simulated 400 visits over 14 days" in result.output
    assert "flask kb simulate --clear" in result.output
    with app.app_context():
        for model in MODELS:
            found = rows(model)
            assert found, f"no simulated {model.__tablename__} rows"
            assert all(row.visit_id.startswith("sim-") for row in found)
            assert all(len(row.visit_id) <= 32 for row in found)
        searches = rows(SearchEvent)
        assert {s.source for s in searches} == {"search", "contact"}
        assert {s.lang for s in searches} == {"ar", "en"}
        assert any(s.result_count == 0 for s in searches)
        assert any(s.result_count > 0 for s in searches)
        assert all(s.normalized_query == normalize_query(s.query) for s in searches)
        assert {f.outcome for f in rows(ContactFlow)} == {"resolved", "contacted", None}
        assert any(v.search_id is not None for v in rows(ArticleView))
        for contact in rows(ContactRequest):
            assert contact.name == "Simulated customer"
            assert contact.email.startswith("simulated-")
            assert contact.email.endswith("@example.invalid")
            assert contact.message.startswith("(simulated) ")
            assert contact.delivery_status == "simulated"
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        for search in searches:
            assert now - dt.timedelta(days=14) <= search.created_at <= now
        assert {s.score for s in rows(EffortScore)} <= set(range(1, 8))


def test_same_seed_gives_the_same_history(app):
    with app.app_context():
        first_report = simulate(fixture_articles(), 150, 10, seed=42, now=NOW)
        first = snapshot()
        clear_simulated()
        assert all(not rows(model) for model in MODELS)
        second_report = simulate(fixture_articles(), 150, 10, seed=42, now=NOW)
        assert snapshot() == first
        assert second_report == first_report
        clear_simulated()
        simulate(fixture_articles(), 150, 10, seed=43, now=NOW)
        assert snapshot() != first


def test_clear_removes_only_simulated_rows(app):
    with app.app_context():
        record_search(
            "0123456789abcdef", "en", "where is my order", 1, ["en/track-order"], "search"
        )
        flow = start_contact_flow("0123456789abcdef", "en")
        submit_contact(
            visit_id="0123456789abcdef",
            flow_id=flow,
            lang="en",
            name="Real customer",
            email="real@example.com",
            message="My order is late",
        )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["kb", "simulate", "--visits", "100", "--seed", "1"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["kb", "simulate", "--clear"])
    assert result.exit_code == 0, result.output
    assert "Deleted" in result.output and "Simulated" not in result.output
    with app.app_context():
        assert [s.visit_id for s in rows(SearchEvent)] == ["0123456789abcdef"]
        assert [f.visit_id for f in rows(ContactFlow)] == ["0123456789abcdef"]
        assert [c.email for c in rows(ContactRequest)] == ["real@example.com"]
        assert rows(ContactFlow)[0].outcome == "contacted"
        for model in (ArticleView, Feedback, EffortScore):
            assert rows(model) == []


def test_clear_with_visits_replaces_the_simulated_history(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["kb", "simulate", "--visits", "50", "--seed", "1"]).exit_code == 0
    result = runner.invoke(args=["kb", "simulate", "--clear", "--visits", "20", "--seed", "2"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        visits = {row.visit_id for model in MODELS for row in rows(model)}
        assert 0 < len(visits) <= 20


def test_metrics_over_simulated_data_are_sane(app):
    with app.app_context():
        report = simulate(fixture_articles(), 600, 21, seed=3, now=NOW)
        period = Period(NOW - dt.timedelta(days=21), NOW)
        figures = headline(period, now=NOW)
        assert figures.started == report.contact_flows > 0
        assert figures.resolved == report.resolved > 0
        assert figures.contacted == report.contacts > 0
        assert figures.abandoned > 0
        assert figures.in_progress == 0
        assert figures.started == (
            figures.resolved + figures.contacted + figures.abandoned + figures.in_progress
        )
        for rate in (
            figures.deflection,
            figures.abandonment,
            figures.failed_searches,
            figures.zero_results,
            figures.click_through,
        ):
            assert rate.value is not None and 0 <= rate.value <= 1
        assert figures.failed_searches.numerator > 0
        assert 1 <= figures.effort.mean.value <= 7
        assert sum(figures.effort.distribution) == report.effort_scores
        assert figures.self_service.value > 1
        days = trend(period, "day", now=NOW)
        assert sum(day.started for day in days) == figures.started
        by_weekday = [0] * 7
        for day in days:
            by_weekday[day.period.start.weekday()] += day.failed_searches.denominator
        weekend = (by_weekday[4] + by_weekday[5]) / 2
        weekdays = sum(by_weekday[d] for d in (0, 1, 2, 3, 6)) / 5
        assert weekend < weekdays


@pytest.mark.parametrize(
    "args",
    [
        ["--visits", str(MAX_VISITS + 1)],
        ["--visits", "-1"],
        ["--days", "0"],
        ["--days", "367"],
    ],
)
def test_simulate_is_bounded(app, args):
    result = app.test_cli_runner().invoke(args=["kb", "simulate", *args])
    assert result.exit_code == 2
    with app.app_context():
        assert rows(SearchEvent) == []


def test_simulate_needs_published_articles(tmp_path):
    empty = tmp_path / "articles"
    empty.mkdir()
    app = create_app(app_config(tmp_path, ARTICLES_DIR=str(empty)))
    with app.app_context():
        db.create_all()
    result = app.test_cli_runner().invoke(args=["kb", "simulate", "--visits", "5"])
    assert result.exit_code == 1
    assert "no published articles" in result.output
    with app.app_context():
        db.engine.dispose()
