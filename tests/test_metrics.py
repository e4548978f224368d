"""DESIGN.md section 7 figures, checked exactly on hand-built events, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy.exc import IntegrityError

from kb import create_app
from kb.contact.models import ContactRequest
from kb.extensions import db
from kb.insights import record_effort_score, resolve_contact_flow, start_contact_flow
from kb.insights.metrics import (
    ArticleRow,
    Metric,
    Period,
    article_table,
    click_through,
    effort_scores,
    failed_searches,
    flow_counts,
    headline,
    lowest_helpfulness,
    most_contacts_after_reading,
    search_counts,
    self_service_score,
    top_failed_searches,
    trend,
    zero_result_rate,
)
from kb.insights.models import ArticleView, ContactFlow, EffortScore, Feedback, SearchEvent

from .conftest import app_config

# A Monday, so weeks in these tests start on T0's day.
T0 = dt.datetime(2024, 3, 4, 9, 0)
DAY = Period(T0, T0 + dt.timedelta(days=1))
LATER = T0 + dt.timedelta(days=30)  # "now" for periods long over: every flow has settled
CATEGORIES = {
    "en/refund-policy": "payments",
    "en/card-declined": "payments",
    "en/track-order": "orders",
    "ar/refund-policy": "payments",
    "ar/track-order": "orders",
}
_references = itertools.count(1)


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def app(request, tmp_path, shared_index):
    """A fresh database on each engine the product supports."""
    overrides = {"INDEX_DIR": str(shared_index)}
    if request.param == "postgres":
        overrides["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    app = create_app(app_config(tmp_path, **overrides))
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def search(visit, minute, query="refund", results=1, shown=("en/refund-policy",), lang="en"):
    event = SearchEvent(
        visit_id=visit,
        created_at=at(minute),
        lang=lang,
        query=query,
        normalized_query=query,
        result_count=results,
        shown_keys=list(shown) if results else [],
        source="search",
    )
    db.session.add(event)
    db.session.commit()
    return event.id


def view(visit, minute, key="en/refund-policy", search_id=None):
    db.session.add(
        ArticleView(visit_id=visit, created_at=at(minute), article_key=key, search_id=search_id)
    )
    db.session.commit()


def vote(visit, minute, key, helpful):
    db.session.add(
        Feedback(visit_id=visit, created_at=at(minute), article_key=key, helpful=helpful)
    )
    db.session.commit()


def flow(visit, started, idle_since=None, outcome=None, resolved_key=None, lang="en", shown=()):
    """A contact flow that started at ``started`` minutes and was last touched at ``idle_since``."""
    row = ContactFlow(
        visit_id=visit,
        lang=lang,
        started_at=at(started),
        updated_at=at(started if idle_since is None else idle_since),
        outcome=outcome,
        resolved_key=resolved_key,
        suggestions_shown=list(shown),
    )
    db.session.add(row)
    db.session.commit()
    return row.id


def contact(visit, minute, flow_id=None, category="", lang="en"):
    db.session.add(
        ContactRequest(
            reference=f"R{next(_references)}",
            visit_id=visit,
            flow_id=flow_id,
            created_at=at(minute),
            lang=lang,
            name="Sam",
            email="sam@example.com",
            category=category,
            message="help",
        )
    )
    db.session.commit()


def contacted_flow(visit, started, minute, category="", lang="en", shown=()):
    flow_id = flow(visit, started, minute, outcome="contacted", lang=lang, shown=shown)
    contact(visit, minute, flow_id, category=category, lang=lang)
    return flow_id


def score(visit, minute, flow_id, value, lang="en"):
    db.session.add(
        EffortScore(visit_id=visit, flow_id=flow_id, created_at=at(minute), lang=lang, score=value)
    )
    db.session.commit()


def counts(figures):
    return (
        figures.started,
        figures.resolved,
        figures.contacted,
        figures.abandoned,
        figures.in_progress,
    )


# -- contact flows ----------------------------------------------------------------------------


def test_flows_are_resolved_contacted_abandoned_or_in_progress(app):
    now = at(600)
    flow("v1", 10, 12, outcome="resolved", resolved_key="en/refund-policy")
    # Went quiet for hours, then the customer confirmed the answer: resolved, not abandoned.
    flow("v2", 20, 400, outcome="resolved", resolved_key="en/track-order")
    contacted_flow("v3", 30, 35)
    flow("v4", 40, 50)  # open, idle 550 min: abandoned
    flow("v5", 60, 600 - 31)  # idle 31 min: abandoned
    flow("v6", 70, 600 - 30)  # idle exactly 30 min: the contact page would still continue it
    flow("v7", 80, 600 - 29)  # idle 29 min: in progress
    figures = flow_counts(DAY, now=now)
    assert counts(figures) == (7, 2, 1, 2, 2)
    # Abandoned flows are never deflected: 2 / (2 + 1), not (2 + 2) / 7.
    assert figures.deflection == Metric(2 / 3, 2, 3)
    assert figures.abandonment == Metric(2 / 7, 2, 7)
    assert figures.started == (
        figures.resolved + figures.contacted + figures.abandoned + figures.in_progress
    )


def test_a_flow_idle_less_than_30_minutes_at_the_period_end_is_in_progress(app):
    flow("v1", 100, 130)
    until_now = Period(T0, at(150))
    assert counts(flow_counts(until_now, now=at(150))) == (1, 0, 0, 0, 1)
    assert flow_counts(until_now, now=at(150)).abandonment == Metric(0.0, 0, 1)
    assert counts(flow_counts(until_now, now=at(161))) == (1, 0, 0, 1, 0)
    # Later, the same past period has settled: nobody came back, so the flow was abandoned.
    assert counts(flow_counts(until_now, now=LATER)) == (1, 0, 0, 1, 0)


def test_a_period_counts_flows_by_when_they_started_half_open(app):
    flow("before", -1, outcome="resolved", resolved_key="en/refund-policy")
    flow("first", 0, outcome="resolved", resolved_key="en/refund-policy")
    flow("last", 24 * 60 - 0.001, outcome="resolved", resolved_key="en/refund-policy")
    flow("after", 24 * 60, outcome="resolved", resolved_key="en/refund-policy")
    assert counts(flow_counts(DAY, now=LATER)) == (2, 2, 0, 0, 0)


# -- searches ---------------------------------------------------------------------------------


def test_a_contact_makes_only_its_own_visits_searches_of_the_last_30_minutes_failed(app):
    contact("v1", 60)
    search("v1", 29, "31 minutes before")
    search("v1", 30 - 1 / 120, "30 minutes and half a second before")
    search("v1", 30, "exactly 30 minutes before")
    search("v1", 45, "15 minutes before")
    search("v1", 60, "at the same time")
    search("v1", 61, "after the contact")
    search("v2", 50, "another visit")
    figures = search_counts(DAY)
    assert (figures.searches, figures.failed) == (7, 3)
    assert failed_searches(DAY) == Metric(3 / 7, 3, 7)
    failed = {row.normalized_query for row in top_failed_searches(DAY)}
    assert failed == {"exactly 30 minutes before", "15 minutes before", "at the same time"}


def test_the_30_minute_window_is_exact_to_the_microsecond(app):
    fraction = dt.timedelta(microseconds=123456)
    exactly, too_early = search("v1", 0, "exactly 30 minutes"), search("v1", 0, "1 µs more")
    db.session.get(SearchEvent, exactly).created_at = T0 + fraction
    db.session.get(SearchEvent, too_early).created_at = T0 + fraction - dt.timedelta(microseconds=1)
    db.session.commit()
    contact("v1", 30)
    db.session.scalars(db.select(ContactRequest)).one().created_at = at(30) + fraction
    db.session.commit()
    assert [row.normalized_query for row in top_failed_searches(DAY)] == ["exactly 30 minutes"]


def test_zero_result_rate_and_click_through_count_each_search_once(app):
    opened_twice = search("v1", 1, results=3)
    view("v1", 2, search_id=opened_twice)
    view("v1", 3, key="en/card-declined", search_id=opened_twice)
    search("v1", 4, results=2)  # shown, never opened
    search("v1", 5, "nothing", results=0)
    search("v2", 6, "nothing again", results=0)
    view("v2", 7)  # opened from elsewhere: not a click-through of any search
    assert zero_result_rate(DAY) == Metric(2 / 4, 2, 4)
    assert click_through(DAY) == Metric(1 / 2, 1, 2)


def test_top_failed_searches_rank_queries_by_failed_searches(app):
    for visit in ("a", "b", "c"):
        search(visit, 1, "refund late", results=0)
        contact(visit, 10)
    search("d", 1, "refund late", results=0)
    opened = search("e", 1, "card declined", results=2)
    view("e", 2, "en/card-declined", search_id=opened)
    contact("e", 5)
    search("f", 1, "card declined", results=2)
    contact("f", 5)
    search("g", 1, "where is my order")  # never followed by a contact: not a failure
    rows = top_failed_searches(DAY, limit=5)
    assert [(r.normalized_query, r.searches, r.failed, r.zero_results) for r in rows] == [
        ("refund late", 4, 3, 4),
        ("card declined", 2, 2, 0),
    ]
    assert rows[0].click_through == Metric(None, 0, 0)
    assert rows[1].click_through == Metric(1 / 2, 1, 2)
    assert len(top_failed_searches(DAY, limit=1)) == 1


# -- visits and articles ----------------------------------------------------------------------


def test_self_service_score_counts_distinct_visits(app):
    search("v1", 1)
    view("v1", 2)
    view("v2", 3)
    search("v3", 4)
    contact("v3", 5)
    contact("v4", 6)
    contact("v4", 7)
    assert self_service_score(DAY) == Metric(3 / 2, 3, 2)


def test_article_helpfulness_and_contacts_after_reading(app):
    for visit in ("v1", "v2", "v3"):
        view(visit, 1, "en/refund-policy")
    view("v1", 2, "en/refund-policy")  # read twice before one contact: still one contact
    view("v1", 3, "en/track-order")
    contact("v1", 30)  # 28-29 min after refund-policy, 27 after track-order: both count
    view("v2", 5, "en/card-declined")
    contact("v2", 36)  # 35 minutes after refund-policy, 31 after card-declined: neither
    contact("v3", 0)  # before reading: not after reading
    vote("v1", 2, "en/refund-policy", True)
    vote("v2", 2, "en/refund-policy", True)
    vote("v3", 2, "en/refund-policy", False)
    vote("v3", 3, "en/track-order", False)
    vote("v4", 3, "en/faq", True)  # a vote without a view still gets a row
    rows = {row.key: row for row in article_table(DAY)}
    assert rows["en/refund-policy"] == ArticleRow(
        key="en/refund-policy",
        category="",
        views=4,
        readers=3,
        helpful_yes=2,
        helpful_no=1,
        helpfulness=Metric(2 / 3, 2, 3),
        contacts_after_reading=1,
    )
    assert (rows["en/track-order"].views, rows["en/track-order"].contacts_after_reading) == (1, 1)
    assert rows["en/track-order"].helpfulness == Metric(0.0, 0, 1)
    assert rows["en/card-declined"].helpfulness == Metric(None, 0, 0)
    assert rows["en/card-declined"].contacts_after_reading == 0
    assert rows["en/faq"].views == 0 and rows["en/faq"].helpfulness == Metric(1.0, 1, 1)
    assert [r.key for r in most_contacts_after_reading(rows.values())] == [
        "en/refund-policy",  # more views breaks the tie
        "en/track-order",
    ]
    assert [r.key for r in lowest_helpfulness(rows.values())] == [
        "en/track-order",
        "en/refund-policy",
        "en/faq",
    ]
    assert [r.key for r in lowest_helpfulness(rows.values(), min_votes=2)] == ["en/refund-policy"]


# -- customer effort --------------------------------------------------------------------------


def test_an_effort_score_is_recorded_once_for_a_visits_resolved_flow(app):
    open_flow = start_contact_flow("v1", "ar")
    assert record_effort_score("v1", open_flow, 5) is False  # not resolved
    assert resolve_contact_flow(open_flow, "v1", "ar/refund-policy")
    for bad in (0, 8, True, "5", 4.0):
        assert record_effort_score("v1", open_flow, bad) is False
    assert record_effort_score("someone-else", open_flow, 5) is False
    assert record_effort_score("v1", None, 5) is False
    assert record_effort_score("v1", open_flow, 6) is True
    assert record_effort_score("v1", open_flow, 2) is False  # once per flow
    stored = db.session.scalars(db.select(EffortScore)).one()
    assert (stored.visit_id, stored.flow_id, stored.lang, stored.score) == (
        "v1",
        open_flow,
        "ar",
        6,
    )


def test_the_database_refuses_scores_outside_1_to_7(app):
    db.session.add(EffortScore(visit_id="v1", lang="en", score=8))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_effort_mean_and_distribution(app):
    for minute, value in enumerate([7, 7, 6, 2, 7]):
        resolved = flow(f"v{minute}", minute, outcome="resolved", resolved_key="en/refund-policy")
        score(f"v{minute}", minute, resolved, value)
    summary = effort_scores(DAY)
    assert summary.mean == Metric(29 / 5, 29, 5)
    assert summary.distribution == (0, 1, 0, 0, 0, 1, 3)
    empty = effort_scores(Period(at(-60), T0))
    assert empty.mean.value is None and empty.distribution == (0,) * 7


# -- filters, boundaries, undefined rates -----------------------------------------------------


def test_every_rate_is_undefined_without_data(app):
    figures = headline(DAY, now=LATER)
    assert counts(figures) == (0, 0, 0, 0, 0)
    for rate in (
        figures.deflection,
        figures.abandonment,
        figures.self_service,
        figures.failed_searches,
        figures.zero_results,
        figures.click_through,
        figures.effort.mean,
    ):
        assert rate == Metric(None, 0, 0)


def test_contacts_without_self_service_give_a_zero_not_undefined_score(app):
    contact("v1", 1)
    figures = headline(DAY, now=LATER)
    assert figures.self_service == Metric(0.0, 0, 1)
    assert figures.deflection == Metric(None, 0, 0)


def build_two_languages():
    flow("e1", 1, outcome="resolved", resolved_key="en/refund-policy")
    contacted_flow("e2", 2, 5)
    flow("e3", 3)
    search("e1", 0, results=2)
    search("e2", 0, "nothing", results=0)
    view("e1", 1, "en/refund-policy")
    vote("e1", 2, "en/refund-policy", True)
    resolved = flow("a1", 1, outcome="resolved", resolved_key="ar/refund-policy", lang="ar")
    score("a1", 3, resolved, 4, lang="ar")
    search("a1", 0, "استرجاع", results=1, shown=("ar/refund-policy",), lang="ar")
    view("a1", 1, "ar/refund-policy")
    vote("a1", 2, "ar/refund-policy", False)
    contact("a2", 9, lang="ar")


def test_the_language_filter_applies_to_every_figure(app):
    build_two_languages()
    arabic = headline(DAY, lang="ar", now=LATER)
    assert counts(arabic) == (1, 1, 0, 0, 0)
    assert arabic.deflection == Metric(1.0, 1, 1)
    assert arabic.self_service == Metric(1 / 1, 1, 1)
    assert arabic.zero_results == Metric(0.0, 0, 1)
    assert arabic.failed_searches == Metric(0.0, 0, 1)
    assert arabic.effort.mean == Metric(4.0, 4, 1)
    english = headline(DAY, lang="en", now=LATER)
    assert counts(english) == (3, 1, 1, 1, 0)
    assert english.zero_results == Metric(1 / 2, 1, 2)
    assert english.failed_searches == Metric(1 / 2, 1, 2)  # e2's search, then its contact
    assert english.self_service == Metric(2 / 1, 2, 1)
    assert english.effort.mean == Metric(None, 0, 0)
    assert [row.key for row in article_table(DAY, lang="ar")] == ["ar/refund-policy"]
    assert counts(headline(DAY, now=LATER)) == (4, 2, 1, 1, 0)


def test_the_category_filter_follows_articles_contact_topics_and_first_answers(app):
    flow("r1", 1, outcome="resolved", resolved_key="en/refund-policy")
    flow("r2", 1, outcome="resolved", resolved_key="en/track-order")
    contacted_flow("c1", 2, 5, category="payments", shown=("en/track-order",))
    contacted_flow("c2", 2, 5, category="", shown=("en/card-declined",))
    contacted_flow("c3", 2, 5, category="other", shown=("en/refund-policy",))
    flow("o1", 3, shown=("en/refund-policy", "en/track-order"))
    flow("o2", 3, shown=("en/track-order", "en/refund-policy"))
    flow("o3", 3)
    payments = headline(DAY, category="payments", article_categories=CATEGORIES, now=LATER)
    assert counts(payments) == (4, 1, 2, 1, 0)  # r1; c1, c2; o1
    orders = headline(DAY, category="orders", article_categories=CATEGORIES, now=LATER)
    assert counts(orders) == (2, 1, 0, 1, 0)  # r2; o2
    assert counts(headline(DAY, now=LATER)) == (8, 2, 3, 3, 0)

    search("r1", 0, results=2, shown=("en/refund-policy", "en/track-order"))
    search("r2", 0, results=2, shown=("en/track-order", "en/refund-policy"))
    search("o3", 0, "nothing", results=0)
    payments = headline(DAY, category="payments", article_categories=CATEGORIES, now=LATER)
    assert payments.failed_searches == Metric(0.0, 0, 1)
    # Searches without results showed no article: they belong to no category.
    assert payments.zero_results == Metric(None, 0, 0)
    assert headline(DAY, now=LATER).zero_results == Metric(1 / 3, 1, 3)
    with pytest.raises(ValueError, match="article_categories"):
        headline(DAY, category="payments")


def test_a_flow_with_several_requests_is_in_the_topic_of_its_first(app):
    first_orders = contacted_flow("c1", 1, 2, category="orders", shown=("en/refund-policy",))
    contact("c1", 3, first_orders, category="payments")
    first_none = contacted_flow("c2", 1, 2, category="", shown=("en/refund-policy",))
    contact("c2", 3, first_none, category="orders")
    args = {"article_categories": CATEGORIES, "now": LATER}
    # c1 chose orders first; c2 chose nothing first, so its first suggestion's topic counts.
    assert counts(headline(DAY, category="orders", **args)) == (1, 0, 1, 0, 0)
    assert counts(headline(DAY, category="payments", **args)) == (1, 0, 1, 0, 0)
    assert counts(headline(DAY, category="", **args)) == (1, 0, 1, 0, 0)


def test_the_category_filter_on_articles_visits_and_effort(app):
    view("v1", 1, "en/refund-policy")
    view("v2", 1, "en/track-order")
    contact("v1", 2, category="payments")
    contact("v2", 2, category="orders")
    contact("v3", 2, category="payments")
    resolved = flow("v4", 1, outcome="resolved", resolved_key="en/card-declined")
    score("v4", 2, resolved, 3)
    other = flow("v5", 1, outcome="resolved", resolved_key="en/track-order")
    score("v5", 2, other, 7)
    args = {"category": "payments", "article_categories": CATEGORIES}
    assert [row.key for row in article_table(DAY, **args)] == ["en/refund-policy"]
    assert article_table(DAY, **args)[0].category == "payments"
    assert article_table(DAY, **args)[0].contacts_after_reading == 1
    assert self_service_score(DAY, **args) == Metric(1 / 2, 1, 2)
    assert effort_scores(DAY, **args).mean == Metric(3.0, 3, 1)
    assert effort_scores(DAY).mean == Metric(5.0, 10, 2)


def test_every_figure_counts_events_of_the_half_open_period(app):
    end = 24 * 60
    for minute in (-0.001, 0, end - 0.001, end):
        visit = f"v{minute}"
        search(visit, minute)
        view(visit, minute)
        vote(visit, minute, "en/refund-policy", True)
        resolved = flow(visit, minute, outcome="resolved", resolved_key="en/refund-policy")
        score(visit, minute, resolved, 7)
        contact(f"c{minute}", minute)
    figures = headline(DAY, now=LATER)
    assert (figures.started, figures.resolved) == (2, 2)
    assert figures.failed_searches.denominator == 2
    assert figures.self_service == Metric(1.0, 2, 2)
    assert figures.effort.mean == Metric(7.0, 14, 2)
    row = article_table(DAY)[0]
    assert (row.views, row.helpful_yes) == (2, 2)
    with pytest.raises(ValueError):
        Period(T0, T0)


# -- trends -----------------------------------------------------------------------------------


def build_three_days():
    """Monday: a resolved flow and a search; Tuesday: nothing; Wednesday: a contact."""
    flow("m1", 10, outcome="resolved", resolved_key="en/refund-policy")
    search("m1", 5, results=0)
    search("w1", 2 * 24 * 60 + 1)
    contacted_flow("w1", 2 * 24 * 60 + 2, 2 * 24 * 60 + 5)
    flow("w2", 2 * 24 * 60 + 20)  # abandoned by LATER


def test_trend_by_day_has_a_row_per_day_that_adds_up(app):
    build_three_days()
    period = Period(at(-9 * 60), at(3 * 24 * 60 - 9 * 60))  # midnight Monday to Thursday
    rows = trend(period, "day", now=LATER)
    assert [row.period for row in rows] == [
        Period(dt.datetime(2024, 3, 4), dt.datetime(2024, 3, 5)),
        Period(dt.datetime(2024, 3, 5), dt.datetime(2024, 3, 6)),
        Period(dt.datetime(2024, 3, 6), dt.datetime(2024, 3, 7)),
    ]
    assert [counts(row) for row in rows] == [(1, 1, 0, 0, 0), (0, 0, 0, 0, 0), (2, 0, 1, 1, 0)]
    assert [row.deflection.value for row in rows] == [1.0, None, 0.0]
    assert [row.zero_results.value for row in rows] == [1.0, None, 0.0]
    assert [row.failed_searches.value for row in rows] == [0.0, None, 1.0]
    assert [row.self_service for row in rows] == [
        Metric(None, 1, 0),
        Metric(None, 0, 0),
        Metric(1.0, 1, 1),
    ]
    whole = headline(period, now=LATER)
    assert counts(whole) == tuple(map(sum, zip(*(counts(row) for row in rows), strict=True)))


def test_trend_by_week_starts_on_monday_and_clips_to_the_period(app):
    build_three_days()
    flow("next", 8 * 24 * 60, outcome="resolved", resolved_key="en/refund-policy")
    period = Period(at(24 * 60), at(9 * 24 * 60))  # Tuesday 09:00 to the next Wednesday 09:00
    rows = trend(period, "week", now=LATER)
    assert [row.period for row in rows] == [
        Period(at(24 * 60), dt.datetime(2024, 3, 11)),
        Period(dt.datetime(2024, 3, 11), at(9 * 24 * 60)),
    ]
    # Monday's flow is before the period; Wednesday's two are in week one, "next" in week two.
    assert [counts(row) for row in rows] == [(2, 0, 1, 1, 0), (1, 1, 0, 0, 0)]
    with pytest.raises(ValueError, match="bucket"):
        trend(period, "month")
