"""The manager dashboard: figures, charts, CSV exports and filters."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import xml.etree.ElementTree as ET

import pytest

from kb.contact.models import ContactRequest
from kb.extensions import db
from kb.insights.dashboard import csv_document, safe_cell
from kb.insights.models import ArticleView, ContactFlow, EffortScore, Feedback, SearchEvent

from .conftest import log_in, page

# A Monday; the period of the tests is that week.
T0 = dt.datetime(2024, 3, 4, 9, 0)
WEEK = "since=2024-03-04&until=2024-03-10"
_references = itertools.count(1)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def add_search(visit, minute, query, results=1, shown=("en/track-order",), lang="en"):
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
    db.session.flush()
    return event


def add_flow(visit, minute, outcome=None, resolved_key=None, lang="en"):
    flow = ContactFlow(
        visit_id=visit,
        lang=lang,
        started_at=at(minute),
        updated_at=at(minute + 1),
        outcome=outcome,
        resolved_key=resolved_key,
        suggestions_shown=["en/track-order"],
    )
    db.session.add(flow)
    db.session.flush()
    return flow


def add_contact(visit, minute, flow=None, lang="en", category="orders"):
    db.session.add(
        ContactRequest(
            reference=f"KB-T{next(_references):07d}",
            visit_id=visit,
            flow_id=flow.id if flow else None,
            created_at=at(minute),
            lang=lang,
            name="Test",
            email="test@example.invalid",
            category=category,
            message="help",
        )
    )


@pytest.fixture
def events(app):
    """Three flows (one resolved, one contacted, one abandoned) and what led to them."""
    with app.app_context():
        resolved = add_flow("v1", 0, "resolved", "en/track-order")
        db.session.add(
            EffortScore(visit_id="v1", flow_id=resolved.id, lang="en", score=6, created_at=at(3))
        )
        search = add_search("v2", 60, "where is my parcel")
        db.session.add(
            ArticleView(
                visit_id="v2",
                article_key="en/track-order",
                search_id=search.id,
                position=1,
                created_at=at(61),
            )
        )
        db.session.add(
            Feedback(visit_id="v2", article_key="en/track-order", helpful=False, created_at=at(62))
        )
        contacted = add_flow("v2", 63, "contacted")
        add_contact("v2", 65, contacted)
        add_flow("v3", 24 * 60)  # abandoned: idle long before "now"
        add_search("v4", 25 * 60, '=HYPERLINK("x")', results=0)
        add_contact("v4", 25 * 60 + 5, category="")
        db.session.commit()


@pytest.fixture
def manager(app, staff):
    client = app.test_client()
    assert log_in(client, staff["manager"]).status_code == 302
    return client


def figure_text(html, name: str) -> str:
    return " ".join(html.find(id=f"figure-{name}").find(class_="figure-value").get_text().split())


def test_dashboard_shows_exact_figures(manager, events):
    response = manager.get(f"/admin/dashboard?{WEEK}")
    assert response.status_code == 200
    html = page(response)
    assert figure_text(html, "started") == "3"
    assert figure_text(html, "resolved") == "1"
    assert figure_text(html, "contacted") == "1"
    assert figure_text(html, "abandoned") == "1"
    assert figure_text(html, "in-progress") == "0"
    assert figure_text(html, "deflection") == "50% 1 / 2"
    assert figure_text(html, "abandonment") == "33% 1 / 3"
    # Visits with a search or view (v2, v4) / visits with a contact (v2, v4).
    assert figure_text(html, "self-service") == "1.0 2 / 2"
    assert figure_text(html, "failed-searches") == "100% 2 / 2"
    assert figure_text(html, "zero-results") == "50% 1 / 2"
    assert figure_text(html, "click-through") == "100% 1 / 1"
    assert figure_text(html, "effort") == "6.0 1 answer"


def test_deflection_and_abandonment_are_shown_together_with_definitions(manager, events):
    html = page(manager.get(f"/admin/dashboard?{WEEK}"))
    group = html.find(class_="figure-group-outcomes")
    assert group.find(id="figure-deflection") and group.find(id="figure-abandonment")
    for figure in html.find_all(class_="figure"):
        details = figure.find("details")
        assert details.find("summary").get_text() == "How is this counted?"
        assert details.find("p").get_text().strip()
    deflection = html.find(id="figure-deflection").find("details").get_text()
    assert "R / (R + C)" in deflection


def test_trend_tables_follow_the_charts(manager, events):
    html = page(manager.get(f"/admin/dashboard?{WEEK}"))
    charts = html.find_all("figure", class_="chart")
    assert len(charts) == 4
    for chart in charts:
        table = chart.find_next_sibling("div", class_="table-scroll")
        assert table is not None and table.find("table")
        assert chart.find("img")["src"].startswith("/admin/dashboard/chart/")
    flows = html.find(id="trend-flows").find_next("table")
    rows = [[c.get_text(strip=True) for c in tr.find_all(["th", "td"])] for tr in flows.tbody("tr")]
    assert len(rows) == 7
    assert rows[0][1:] == ["2", "1", "1", "0", "0"]
    assert rows[1][1:] == ["1", "0", "0", "1", "0"]


def test_weekly_buckets(manager, events):
    html = page(manager.get(f"/admin/dashboard?{WEEK}&bucket=week"))
    flows = html.find(id="trend-flows").find_next("table")
    assert len(flows.tbody("tr")) == 1


def test_top_failed_searches_and_articles(manager, events):
    html = page(manager.get(f"/admin/dashboard?{WEEK}"))
    failed = html.find(id="failed-heading").find_next("table")
    queries = [tr.th.get_text(strip=True) for tr in failed.tbody("tr")]
    assert queries == ['=HYPERLINK("x")', "where is my parcel"]
    most = html.find(id="most-contacts").find_next("table")
    link = most.tbody.tr.th.a
    assert link["href"] == "/en/articles/track-order"
    assert link.get_text(strip=True) == "Track your order"
    lowest = html.find(id="lowest-helpfulness").find_next("table")
    assert [c.get_text(strip=True) for c in lowest.tbody.tr("td")] == ["0%", "0", "1"]


def test_empty_period_shows_no_data_never_zero_percent(manager):
    response = manager.get(f"/admin/dashboard?{WEEK}")
    assert response.status_code == 200
    html = page(response)
    for name in (
        "deflection",
        "abandonment",
        "self-service",
        "failed-searches",
        "zero-results",
        "click-through",
        "effort",
    ):
        text = figure_text(html, name)
        assert text.startswith("—no data"), (name, text)
        assert "0%" not in text
    assert figure_text(html, "started") == "0"


def test_default_period_is_the_last_30_days(manager):
    html = page(manager.get("/admin/dashboard"))
    today = dt.datetime.now(dt.UTC).date()
    assert html.find("input", id="until")["value"] == today.isoformat()
    assert html.find("input", id="since")["value"] == (today - dt.timedelta(days=29)).isoformat()
    assert len(html.find(id="trend-flows").find_next("table").tbody("tr")) == 30


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=2024-13-01", "The start date must be a date like 2024-03-01."),
        ("until=yesterday", "The end date must be a date like 2024-03-31."),
        ("since=2024-03-10&until=2024-03-01", "The start date must not be after the end date."),
        ("since=2020-01-01&until=2024-01-01", "Choose a period of at most 366 days."),
        ("lang=fr", "Choose one of the languages offered."),
        ("bucket=hour", "Show trends by day or by week."),
        ("category=nope", "Choose one of the topics offered."),
    ],
)
def test_bad_filters_are_a_400_with_a_message(manager, query, message):
    response = manager.get(f"/admin/dashboard?{query}")
    assert response.status_code == 400
    alert = page(response).find(role="alert")
    assert message in alert.get_text()
    export = manager.get(f"/admin/dashboard/trend.csv?{query}")
    assert export.status_code == 400
    assert message in export.get_data(as_text=True)
    chart = manager.get(f"/admin/dashboard/chart/flows.svg?{query}")
    assert chart.status_code == 400


def test_a_full_year_is_allowed(manager):
    assert manager.get("/admin/dashboard?since=2024-01-01&until=2024-12-31").status_code == 200


def test_arabic_dashboard_is_right_to_left(manager, events):
    response = manager.get(f"/admin/dashboard?{WEEK}", headers={"Accept-Language": "ar"})
    assert response.status_code == 200
    html = page(response)
    assert html.html["lang"] == "ar" and html.html["dir"] == "rtl"
    # Strings the catalogue already translates appear in Arabic.
    assert html.find("button", type="submit", class_="button").get_text(strip=True) == "تصفية"
    assert "مقالات" in html.find(id="articles-heading").get_text()


@pytest.mark.parametrize("chart", ["flows", "rates", "searches", "effort"])
def test_charts_are_safe_svg(manager, events, chart):
    response = manager.get(f"/admin/dashboard/chart/{chart}.svg?{WEEK}")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "script" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    root = ET.fromstring(response.data)
    assert root.tag.endswith("svg")
    assert not [el for el in root.iter() if str(el.tag).endswith("script")]
    assert b"<script" not in response.data and b"javascript:" not in response.data


def test_chart_titles_follow_the_language(manager, events):
    english = manager.get(f"/admin/dashboard/chart/flows.svg?{WEEK}")
    root = ET.fromstring(english.data)
    titles = [el.text for el in root.iter() if str(el.tag).endswith("title")]
    assert "Contact flows" in titles


def test_unknown_chart_or_table_is_a_404(manager):
    assert manager.get("/admin/dashboard/chart/nope.svg").status_code == 404
    assert manager.get("/admin/dashboard/nope.csv").status_code == 404


def read_csv(response) -> list[list[str]]:
    data = response.data
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_exports(manager, events):
    response = manager.get(f"/admin/dashboard/headline.csv?{WEEK}&lang=en")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="kb-headline-20240304-20240310-en.csv"'
    )
    rows = read_csv(response)
    assert rows[0] == ["Figure", "Value", "Numerator", "Denominator"]
    by_figure = {row[0]: row[1:] for row in rows[1:]}
    assert by_figure["Deflection rate"] == ["0.5", "1", "2"]
    assert by_figure["Abandonment rate"] == ["0.3333", "1", "3"]
    assert by_figure["Contact flows started"] == ["3", "", ""]

    trend = read_csv(manager.get(f"/admin/dashboard/trend.csv?{WEEK}"))
    assert trend[0][:3] == ["From (UTC)", "Started", "Resolved"]
    assert trend[1][:3] == ["2024-03-04", "2", "1"]
    assert len(trend) == 8

    articles = read_csv(manager.get(f"/admin/dashboard/articles.csv?{WEEK}"))
    assert articles[1][:3] == ["en/track-order", "Track your order", "orders"]


def test_csv_neutralises_formulas_in_customer_text(manager, events):
    rows = read_csv(manager.get(f"/admin/dashboard/failed-searches.csv?{WEEK}"))
    assert rows[0][0] == "Query (normalised)"
    assert rows[1][0] == '\'=HYPERLINK("x")'


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_get_an_apostrophe(text):
    assert safe_cell(text) == "'" + text


def test_plain_cells_and_numbers_are_unchanged():
    assert safe_cell("where is my order") == "where is my order"
    assert safe_cell("أين طلبي") == "أين طلبي"
    assert safe_cell(0.25) == "0.25"
    assert safe_cell(3) == "3"
    assert safe_cell(None) == ""
    document = csv_document(["a"], [["=x"], ["طلب"]])
    assert document == "\ufeffa\r\n'=x\r\nطلب\r\n".encode()


def test_writer_cannot_see_the_dashboard(app, staff):
    client = app.test_client()
    log_in(client, staff["writer"])
    assert client.get("/admin/dashboard").status_code == 403
    assert client.get("/admin/dashboard/trend.csv").status_code == 403
    assert client.get("/admin/dashboard/chart/flows.svg").status_code == 403


def test_managers_see_the_dashboard_link(manager):
    html = page(manager.get("/admin/"))
    assert html.find("a", href="/admin/dashboard")
