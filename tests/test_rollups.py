"""The daily roll-ups give the figures the raw events give, also after late events and purges."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from kb.contact import purge
from kb.contact.models import ContactRequest
from kb.extensions import db
from kb.insights import metrics, rollups
from kb.insights.gaps import content_gaps
from kb.insights.models import (
    ArticleView,
    RollupDay,
    RollupStaleMark,
    SearchDay,
    SearchEvent,
    utcnow,
)

CATEGORIES = {"en/refund-policy": "payments", "en/shipping": "delivery", "ar/refund": "payments"}
TODAY = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)


def at(days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
    return TODAY - dt.timedelta(days=days_ago) + dt.timedelta(hours=hour, minutes=minute)


def search(visit, when, query, keys, lang="en", channel="site") -> SearchEvent:
    event = SearchEvent(
        visit_id=visit,
        created_at=when,
        lang=lang,
        query=query,
        normalized_query=query,
        result_count=len(keys),
        shown_keys=keys,
        source="search",
        channel=channel,
    )
    db.session.add(event)
    db.session.flush()
    return event


def contact(visit, when, category="") -> None:
    db.session.add(
        ContactRequest(
            reference=f"R{visit}{when:%j%H%M}"[:16],
            visit_id=visit,
            created_at=when,
            lang="en",
            name="n",
            email="e@example.com",
            message="m",
            category=category,
        )
    )


def fill() -> None:
    """Searches over ten past days and today: failed, clicked, zero-result, other channels."""
    for day in range(10, -1, -1):
        for number in range(4):
            visit = f"v{day}-{number}"
            when = at(day, 9 + number)
            keys = ["en/refund-policy", "en/shipping"] if number % 2 else []
            lang = "ar" if number == 3 else "en"
            first = search(
                visit, when, f"query {number % 3}", keys, lang, "widget" if day % 3 else "site"
            )
            if number == 1:
                contact(visit, when + dt.timedelta(minutes=10), "payments")
            if number == 3:
                db.session.add(
                    ArticleView(
                        visit_id=visit,
                        created_at=when,
                        article_key="en/shipping",
                        search_id=first.id,
                    )
                )
    db.session.commit()


PERIODS = [
    (11, 0),  # every day, today included
    (7, 2),  # past days only
    (1, 0),  # yesterday and today
]
FILTERS = [
    {},
    {"lang": "en"},
    {"category": "payments", "article_categories": CATEGORIES},
    {"channel": "widget"},
]


def period_of(first_days_ago: int, last_days_ago: int) -> metrics.Period:
    return metrics.Period(at(first_days_ago, 0), at(last_days_ago, 24))


def figures(period: metrics.Period) -> list:
    found = []
    for filters in FILTERS:
        found.append(metrics.search_counts(period, **filters))
        found.append(metrics.top_failed_searches(period, **filters))
        found.append(metrics.self_service_score(period, **filters))
        if "channel" not in filters:
            found.append(metrics.headline_by_channel(period, **filters, now=utcnow()))
            found.append(metrics.headline(period, **filters, now=utcnow()))
            found.append(metrics.trend(period, "day", **filters, now=utcnow()))
            found.append(metrics.trend(period, "week", **filters, now=utcnow()))
    found.append(content_gaps(period))
    found.append(content_gaps(period, "en"))
    return found


def raw_figures(monkeypatch, period: metrics.Period) -> list:
    """The same figures from the raw events only (the roll-ups switched off)."""
    with monkeypatch.context() as patched:
        patched.setattr(rollups, "rolled_period", lambda *args, **kwargs: None)
        return figures(period)


def rolled_days() -> int:
    """Days rolled up and not marked stale since."""
    stale = sa.select(RollupStaleMark.day)
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(RollupDay).where(RollupDay.day.not_in(stale))
    )


@pytest.mark.parametrize(("first", "last"), PERIODS)
def test_figures_with_rollups_equal_those_from_raw_events(app, monkeypatch, first, last):
    with app.app_context():
        fill()
        expected = raw_figures(monkeypatch, period_of(first, last))
        assert rolled_days() == 0
        assert figures(period_of(first, last)) == expected
        assert rolled_days() > 0  # the past days were rolled up on the way
        assert figures(period_of(first, last)) == expected  # and read from the roll-ups


def test_a_period_not_on_midnight_reads_raw_events_at_its_edges(app, monkeypatch):
    with app.app_context():
        fill()
        period = metrics.Period(at(8, 10, 30), at(2, 11, 15))
        expected = raw_figures(monkeypatch, period)
        assert figures(period) == expected


def test_a_late_contact_after_midnight_makes_yesterdays_search_failed(app, monkeypatch):
    with app.app_context():
        fill()
        period = period_of(7, 1)
        late_search = search("late", at(3, 23, 50), "late question", ["en/shipping"])
        db.session.commit()
        before = metrics.search_counts(period)
        # A contact 20 minutes later, on the next day: a late event for the rolled-up day.
        contact("late", at(2, 0, 10))
        db.session.commit()
        after = metrics.search_counts(period)
        assert after.failed == before.failed + 1
        assert after == raw_figures(monkeypatch, period)[0]
        assert late_search.id


def test_an_article_opened_today_from_an_old_search_counts_as_a_click(app, monkeypatch):
    with app.app_context():
        fill()
        period = period_of(10, 1)
        old = search("old", at(5, 12), "old question", ["en/refund-policy"])
        db.session.commit()
        before = metrics.search_counts(period)
        db.session.add(
            ArticleView(visit_id="old", article_key="en/refund-policy", search_id=old.id)
        )
        db.session.commit()
        after = metrics.search_counts(period)
        assert after.clicked == before.clicked + 1
        assert figures(period) == raw_figures(monkeypatch, period)


def test_purge_makes_the_rollups_of_deleted_days_be_computed_again(app, monkeypatch):
    with app.app_context():
        fill()
        period = period_of(10, 0)
        before = metrics.search_counts(period)
        assert before.searches == 44
        purge(5)
        after = metrics.search_counts(period)
        assert after.searches < before.searches
        assert figures(period) == raw_figures(monkeypatch, period)


def view(visit, when, key, channel="site") -> None:
    db.session.add(ArticleView(visit_id=visit, created_at=when, article_key=key, channel=channel))


def test_a_visit_is_counted_once_across_days_languages_and_channels(app, monkeypatch):
    """The self-service visits do not add up: visits active on several days, in several
    languages or channels, or both on a rolled-up day and today, are each counted once."""
    with app.app_context():
        fill()
        search("span", at(6, 23, 50), "late night", ["en/shipping"])
        view("span", at(5, 0, 5), "en/shipping")  # the same visit after midnight
        search("both", at(4, 10), "two channels", [], channel="widget")
        view("both", at(4, 10, 5), "ar/refund")  # another language and channel
        search("back", at(3, 9), "came back", ["en/refund-policy"])
        view("back", at(0, 0, 1), "en/refund-policy")  # today: read from the raw events
        contact("back", at(0, 0, 2), "payments")
        db.session.commit()
        for period in (period_of(10, 0), period_of(6, 5), period_of(5, 1), period_of(3, 0)):
            assert figures(period) == raw_figures(monkeypatch, period)


def test_a_late_event_of_a_visit_seen_on_a_rolled_up_day_does_not_count_it_twice(app, monkeypatch):
    with app.app_context():
        fill()
        search("again", at(8, 12), "first time", ["en/shipping"])
        db.session.commit()
        period = period_of(10, 1)
        before = metrics.self_service_score(period)
        assert rolled_days() > 0
        # The same visit two days later, written after both days were rolled up.
        search("again", at(6, 12), "second time", ["en/shipping"])
        db.session.commit()
        assert metrics.self_service_score(period) == before
        assert figures(period) == raw_figures(monkeypatch, period)


def test_rollup_command_rolls_up_missing_days_once(app):
    with app.app_context():
        fill()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["kb", "rollup", "--days", "12"])
    assert result.exit_code == 0, result.output
    assert "Rolled up 12 of the last 12 complete days" in result.output
    again = runner.invoke(args=["kb", "rollup", "--days", "12"])
    assert again.exit_code == 0, again.output
    assert "Rolled up 0 of the last 12" in again.output
    with app.app_context():
        days = set(db.session.scalars(sa.select(SearchDay.day).distinct()))
        assert TODAY.date() not in days  # today is never rolled up: it is not over
        assert (TODAY - dt.timedelta(days=1)).date() in days


def test_a_customer_marking_a_day_never_waits_for_a_rollup_in_progress(app):
    # A contact just after midnight makes yesterday's search failed: it marks yesterday while
    # a manager's view is rolling yesterday up. The contact must not wait for that roll-up,
    # and the roll-up must not swallow the mark.
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time; the PostgreSQL pass runs this test")
        search("v1", at(1, 23, 50), "refund", ["en/refund-policy"])
        db.session.commit()
        yesterday = at(1, 0).date()
        rollups.ensure_rolled_up(yesterday, yesterday)
        rollups.mark_stale([yesterday])
        db.session.commit()
        rollups._roll_up(yesterday, yesterday)  # in progress: its lock and rows held
        committed = threading.Event()

        def customer() -> None:
            with app.app_context():
                db.session.execute(sa.text("SET LOCAL lock_timeout = '3s'"))
                contact("v2", at(0, 0, 10))
                db.session.commit()
                committed.set()

        thread = threading.Thread(target=customer)
        thread.start()
        thread.join(timeout=10)
        assert committed.is_set(), "the contact waited for the roll-up"
        db.session.commit()  # the roll-up ends
        assert rollups._missing_days(yesterday, yesterday) == [yesterday]


def test_a_large_rollup_leaves_postgresql_statistics_for_the_next_views(app):
    # Right after a year is rolled up the planner must not take its tables for empty.
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("statistics are PostgreSQL's; SQLite plans without them here")
        fill()
    result = app.test_cli_runner().invoke(args=["kb", "rollup", "--days", "40"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        analysed = db.session.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                "AND relname = 'search_day' AND last_analyze IS NOT NULL"
            )
        )
        assert analysed == 1
