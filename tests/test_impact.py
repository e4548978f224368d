"""Edit impact (kb.insights.impact) on hand-built events, both engines, and where it is shown."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import pytest

from kb import create_app
from kb.accounts import create_user
from kb.contact.models import ContactRequest
from kb.content.revisions import ArticleRevision
from kb.extensions import db
from kb.insights.impact import (
    MAX_WINDOW,
    MIN_SEARCHES,
    MIN_VOTES,
    compare,
    edit_impact,
    edit_impacts,
    recent_edits,
    two_proportion_test,
)
from kb.insights.metrics import Metric, Period
from kb.insights.models import Feedback, SearchEvent
from kb.notices import create_notice

from .conftest import STAFF_PASSWORD, app_config, log_in, page

KEY = "en/track-order"
T = dt.datetime(2024, 3, 10)
DAY = dt.timedelta(days=1)
_visits = itertools.count(1)
_references = itertools.count(1)


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def app(request, tmp_path, shared_index):
    overrides = {"INDEX_DIR": str(shared_index)}
    if request.param == "postgres":
        overrides["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    app = create_app(app_config(tmp_path, **overrides))
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


def searches(when: dt.datetime, count: int, failed: int, shown=(KEY, "en/refund-timing")):
    """``count`` searches at ``when`` that showed ``shown``; the first ``failed`` end in contact."""
    for number in range(count):
        visit = f"visit-{next(_visits)}"
        db.session.add(
            SearchEvent(
                visit_id=visit,
                created_at=when,
                lang="en",
                query="where is it",
                normalized_query="where is it",
                result_count=len(shown),
                shown_keys=list(shown),
                source="search",
            )
        )
        if number < failed:
            db.session.add(
                ContactRequest(
                    reference=f"KB-I{next(_references):07d}",
                    visit_id=visit,
                    created_at=when + dt.timedelta(minutes=10),
                    lang="en",
                    name="Test",
                    email="test@example.invalid",
                    message="help",
                )
            )


def votes(when: dt.datetime, yes: int, no: int, key=KEY):
    for helpful in [True] * yes + [False] * no:
        db.session.add(
            Feedback(
                visit_id=f"visit-{next(_visits)}", created_at=when, article_key=key, helpful=helpful
            )
        )


def revision(key: str, when: dt.datetime, action="edit"):
    row = ArticleRevision(
        article_key=key,
        created_at=when,
        author="writer@kb.example",
        action=action,
        content_before="old",
        content_after="new",
    )
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def events(app):
    """Ten days before T and ten days after: fewer failed searches and more "yes" after."""
    searches(T - 5 * DAY, 40, failed=10)
    searches(T + 5 * DAY, 40, failed=2)
    votes(T - 2 * DAY, yes=6, no=6)
    votes(T + 2 * DAY, yes=11, no=1)
    # Not about the article, or outside both windows of ten days: never counted.
    searches(T - 3 * DAY, 7, failed=7, shown=("en/track-order-2", "en/refund-timing"))
    searches(T - 3 * DAY, 5, failed=5, shown=("en/refund-timing",))
    searches(T - 11 * DAY, 9, failed=9)
    searches(T + 10 * DAY, 9, failed=0)  # the after window ends here (excluded)
    votes(T - 1 * DAY, yes=3, no=0, key="en/refund-timing")
    votes(T - 12 * DAY, yes=0, no=4)
    db.session.commit()


def test_two_proportion_z_test_of_a_known_case():
    z, p_value = two_proportion_test(10, 40, 2, 40)
    # p1 = 0.25, p2 = 0.05, pooled 0.15: z = -0.2 / sqrt(0.15 * 0.85 * (2 / 40)).
    assert z == pytest.approx(-0.2 / math.sqrt(0.15 * 0.85 / 20))
    assert z == pytest.approx(-2.5049, abs=1e-4)
    assert p_value == pytest.approx(0.01225, abs=1e-5)
    assert two_proportion_test(0, 30, 0, 30) == (0.0, 1.0)
    assert two_proportion_test(5, 20, 5, 20) == (0.0, 1.0)
    with pytest.raises(ValueError):
        two_proportion_test(0, 0, 1, 2)


def test_not_enough_data_below_the_minimum_on_either_side():
    enough = Metric.ratio(5, MIN_SEARCHES)
    short = Metric.ratio(1, MIN_SEARCHES - 1)
    assert compare(enough, enough, MIN_SEARCHES).enough_data
    for before, after in ((enough, short), (short, enough)):
        result = compare(before, after, MIN_SEARCHES)
        assert not result.enough_data
        assert (result.z, result.p_value, result.significant) == (None, None, False)
    assert compare(Metric.ratio(3, 9), Metric.ratio(5, 10), MIN_VOTES).enough_data is False


def test_edit_impact_compares_equal_windows_before_and_after(events):
    impact = edit_impact(KEY, T, now=T + 10 * DAY)
    assert impact.window == 10 * DAY
    assert impact.before == Period(T - 10 * DAY, T)
    assert impact.after == Period(T, T + 10 * DAY)
    failed = impact.failed_searches
    assert (failed.before, failed.after) == (Metric.ratio(10, 40), Metric.ratio(2, 40))
    assert failed.change == pytest.approx(-0.2)
    assert failed.z == pytest.approx(-2.5049, abs=1e-4)
    assert failed.p_value == pytest.approx(0.01225, abs=1e-5)
    assert failed.significant
    helpful = impact.helpfulness
    assert (helpful.before, helpful.after) == (Metric.ratio(6, 12), Metric.ratio(11, 12))
    assert helpful.z == pytest.approx(2.2454, abs=1e-4)
    assert helpful.p_value == pytest.approx(0.02474, abs=1e-5)


def test_the_window_is_the_time_since_the_edit_up_to_thirty_days(events):
    # Three days after T: the searches five days before T are outside the before window.
    early = edit_impact(KEY, T, now=T + 3 * DAY)
    assert early.window == 3 * DAY
    assert early.failed_searches.before == Metric(None, 0, 0)
    assert early.failed_searches.after == Metric(None, 0, 0)
    assert early.helpfulness.before == Metric.ratio(6, 12)
    assert early.helpfulness.after == Metric.ratio(11, 12)
    assert not early.failed_searches.enough_data and early.helpfulness.enough_data
    # Long after: thirty days each side, so the searches 11 days before and 10 after count.
    late = edit_impact(KEY, T, now=T + 90 * DAY)
    assert late.window == MAX_WINDOW
    assert late.failed_searches.before == Metric.ratio(19, 49)
    assert late.failed_searches.after == Metric.ratio(2, 49)
    assert late.helpfulness.before == Metric.ratio(6, 16)
    # An edit made now has nothing to compare yet.
    now = edit_impact(KEY, T, now=T)
    assert now.window == dt.timedelta(0) and now.before is None
    assert not now.failed_searches.enough_data and not now.helpfulness.enough_data


def test_several_edits_of_one_article_are_computed_together(events):
    times = [T, T - 4 * DAY]
    together = edit_impacts(KEY, times, now=T + 10 * DAY)
    assert together == [edit_impact(KEY, when, now=T + 10 * DAY) for when in times]
    # Four days before T: before [T-18, T-4) holds 49 searches (19 failed) and after
    # [T-4, T+10) holds the 40 with 2 failed and the 12 + 12 votes.
    assert together[1].window == 14 * DAY
    assert together[1].failed_searches.before == Metric.ratio(19, 49)
    assert together[1].helpfulness.after == Metric.ratio(17, 24)


def test_recent_edits_join_revisions_with_their_impact(events):
    revision(KEY, T)
    revision("ar/track-order", T + DAY)
    revision("en/refund-timing", T - 20 * DAY, action="create")
    db.session.commit()
    edits = recent_edits(10, now=T + 10 * DAY)
    assert [(e.article_key, e.action) for e in edits] == [
        ("ar/track-order", "edit"),
        (KEY, "edit"),
        ("en/refund-timing", "create"),
    ]
    assert edits[1].impact == edit_impact(KEY, T, now=T + 10 * DAY)
    assert (edits[1].lang, edits[1].slug) == ("en", "track-order")
    assert [e.article_key for e in recent_edits(10, "en", now=T + 10 * DAY)] == [
        KEY,
        "en/refund-timing",
    ]
    assert [e.article_key for e in recent_edits(1, now=T + 10 * DAY)] == ["ar/track-order"]
    in_period = recent_edits(10, period=Period(T - DAY, T + DAY), now=T + 10 * DAY)
    assert [e.article_key for e in in_period] == [KEY]


@pytest.fixture
def staff_client(app):
    create_user("manager@kb.example", STAFF_PASSWORD, "manager")
    client = app.test_client()
    assert log_in(client, "manager@kb.example").status_code == 302
    return client


def test_article_pages_and_dashboard_show_the_effect_of_edits(app, staff_client):
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).replace(microsecond=0)
    edited = now - 2 * DAY
    searches(edited - DAY, 25, failed=10)
    searches(edited + DAY, 25, failed=1)
    votes(edited + DAY, yes=3, no=1)
    revision(KEY, edited)
    create_notice(
        title="Deliveries are late",
        text="Storms.",
        lang="en",
        category="orders",
        starts_at=now - 3 * dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=1),
    )
    db.session.commit()

    editor = page(staff_client.get(f"/admin/articles/{KEY}"))
    section = editor.select_one("section.edit-impacts")
    rows = [row.get_text(" ", strip=True) for row in section.select(".impact-table tbody tr")]
    assert rows[0].startswith("Failed searches 40% 10 / 25 4% 1 / 25 -36.0 points")
    assert "unlikely to be chance" in rows[0]
    assert rows[1].startswith("Helpfulness — 0 / 0 75% 3 / 4 Not enough data yet")

    history = page(staff_client.get(f"/admin/articles/{KEY}/revisions"))
    assert len(history.select(".revision .impact-table")) == 1

    dashboard = page(staff_client.get("/admin/dashboard"))
    edits = dashboard.select_one("table.recent-edits tbody")
    assert edits.select_one("th a")["href"] == f"/admin/articles/{KEY}/revisions"
    assert "Track your order" in edits.get_text()
    assert "-36.0" in edits.get_text()
    notice = dashboard.select_one("table.dashboard-notices tbody tr")
    assert "Deliveries are late" in notice.get_text()
    assert [td.get_text(strip=True) for td in notice.select("td")][1:] == ["0", "0"]
