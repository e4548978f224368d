"""The dashboard's indexes come from the migrations, and the bulk simulation writes what it says."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from kb import create_app
from kb.contact.models import ContactRequest
from kb.extensions import db
from kb.insights.models import ArticleView, ContactFlow, EffortScore, Feedback, SearchEvent
from kb.insights.simulate import BATCH_VISITS, simulate

from .conftest import app_config
from .test_simulate import fixture_articles

NOW = dt.datetime(2024, 3, 20, 12, 0)
# Migrations 0005 and 0007: (table, index, leading columns) the dashboard's queries rely on.
DASHBOARD_INDEXES = {
    ("search_event", "ix_search_event_created_at_lang", ("created_at", "lang")),
    ("search_event", "ix_search_event_visit_id_created_at", ("visit_id", "created_at")),
    (
        "search_event",
        "ix_search_event_normalized_query_created_at",
        ("normalized_query", "created_at"),
    ),
    ("article_view", "ix_article_view_created_at_article_key", ("created_at", "article_key")),
    ("article_view", "ix_article_view_article_key_created_at", ("article_key", "created_at")),
    ("feedback", "ix_feedback_article_key_created_at", ("article_key", "created_at")),
    ("contact_request", "ix_contact_request_visit_id_created_at", ("visit_id", "created_at")),
    ("contact_flow", "ix_contact_flow_started_at_lang", ("started_at", "lang")),
}
# The single-column indexes those replace (a composite index starting with the column serves).
REPLACED = {
    ("search_event", "ix_search_event_visit_id"),
    ("search_event", "ix_search_event_normalized_query"),
    ("article_view", "ix_article_view_article_key"),
    ("feedback", "ix_feedback_article_key"),
    ("contact_request", "ix_contact_request_visit_id"),
}


def migrated(tmp_path, database_url: str):
    app = create_app(app_config(tmp_path, DATABASE_URL=database_url))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return app


def assert_dashboard_indexes_exist(app) -> None:
    with app.app_context():
        inspector = sa.inspect(db.engine)
        for table, name, columns in DASHBOARD_INDEXES:
            found = {index["name"]: index for index in inspector.get_indexes(table)}
            assert name in found, f"{table} has no index {name}"
            indexed = tuple(found[name]["column_names"][: len(columns)])
            assert indexed == columns, f"{name} indexes {indexed}"
        for table, name in REPLACED:
            assert name not in {index["name"] for index in inspector.get_indexes(table)}
        db.engine.dispose()


@pytest.mark.sqlite
def test_migrations_create_the_dashboard_indexes_on_sqlite(tmp_path):
    app = migrated(tmp_path, f"sqlite:///{tmp_path / 'migrated.sqlite3'}")
    assert_dashboard_indexes_exist(app)


@pytest.mark.postgres
def test_migrations_create_the_dashboard_indexes_on_postgresql(tmp_path, postgres_url):
    app = migrated(tmp_path, postgres_url)
    assert_dashboard_indexes_exist(app)


def table_counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (SearchEvent, ArticleView, Feedback, ContactFlow, ContactRequest, EffortScore)
    }


def test_bulk_simulation_writes_the_rows_it_reports(app):
    with app.app_context():
        written = []
        report = simulate(
            fixture_articles(), None, 30, seed=5, now=NOW, events=6000, progress=written.append
        )
        counts = table_counts()
        assert counts == {
            "search_event": report.searches,
            "article_view": report.article_views,
            "feedback": report.feedback,
            "contact_flow": report.contact_flows,
            "contact_request": report.contacts,
            "effort_score": report.effort_scores,
        }
        # At least the events asked for, and not many more.
        assert 6000 <= report.events == sum(counts.values()) <= 6000 * 1.05
        assert sum(written) == report.events
        assert report.visits > BATCH_VISITS  # more than one batch (one transaction each)
        # Every link between the rows of a batch points at a row of the same visit.
        views = db.session.execute(
            sa.select(ArticleView.visit_id, SearchEvent.visit_id).join(
                SearchEvent, SearchEvent.id == ArticleView.search_id
            )
        ).all()
        assert views and all(view == search for view, search in views)
        for model in (SearchEvent, EffortScore, ContactRequest):
            linked = db.session.execute(
                sa.select(model.visit_id, ContactFlow.visit_id).join(
                    ContactFlow, ContactFlow.id == model.flow_id
                )
            ).all()
            assert linked and all(row == flow for row, flow in linked)


def test_simulated_visits_are_written_in_the_order_they_happened(app):
    with app.app_context():
        simulate(fixture_articles(), 300, 10, seed=8, now=NOW)
        starts = db.session.scalars(sa.select(ContactFlow.started_at).order_by(ContactFlow.id))
        starts = list(starts)
        # A visit lasts minutes: flows are in time order up to the overlap of nearby visits.
        assert all(b - a > -dt.timedelta(hours=1) for a, b in zip(starts, starts[1:], strict=False))
        assert starts[-1] - starts[0] > dt.timedelta(days=8)


def test_simulate_events_option_and_its_bounds(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["kb", "simulate", "--events", "500", "--seed", "3"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        total = sum(table_counts().values())
    assert 500 <= total <= 525
    assert f"({total} events)" in result.output
    both = runner.invoke(args=["kb", "simulate", "--events", "5", "--visits", "5"])
    assert both.exit_code == 2
    assert "not both" in both.output
    too_many = runner.invoke(args=["kb", "simulate", "--events", "3000001"])
    assert too_many.exit_code == 2
