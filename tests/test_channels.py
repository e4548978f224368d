"""Events carry their channel (site, widget, API) and the widget's host page; the dashboard splits
every headline figure by channel and ranks the widget's host pages. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools

import pytest
from flask import g

from kb import create_app
from kb.accounts import create_user
from kb.contact.models import ContactRequest
from kb.extensions import db
from kb.insights import (
    CHANNELS,
    Channel,
    open_contact_flow,
    record_article_view,
    record_effort_score,
    record_feedback,
    record_flow_question,
    record_search,
    resolve_contact_flow,
    start_contact_flow,
)
from kb.insights.channels import PATH_LIMIT
from kb.insights.metrics import (
    Metric,
    Period,
    article_table,
    effort_scores,
    every_channel,
    flow_counts,
    headline,
    headline_by_channel,
    host_pages_by_deflection,
    host_pages_by_flows,
    search_counts,
    self_service_score,
    top_failed_searches,
    trend,
)
from kb.insights.models import ArticleView, ContactFlow, EffortScore, Feedback, SearchEvent
from kb.web.channel import request_channel

from .conftest import STAFF_PASSWORD, app_config, csrf_token, log_in, page

T0 = dt.datetime(2024, 3, 4, 9, 0)  # a Monday
DAY = Period(T0, T0 + dt.timedelta(days=1))
LATER = T0 + dt.timedelta(days=30)  # every flow of DAY has settled
DAY_ARGS = "since=2024-03-04&until=2024-03-04"
SHOP = "https://shop.example.com"
OTHER_SHOP = "http://127.0.0.1:5001"
_references = itertools.count(1)


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def app(request, tmp_path, shared_index):
    """A fresh database on each engine, with two sites allowed to embed the widget."""
    overrides = {"INDEX_DIR": str(shared_index), "WIDGET_ORIGINS": f"{SHOP},{OTHER_SHOP}"}
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


# -- the channel value ------------------------------------------------------------------------


def test_a_host_path_never_keeps_a_query_string_or_fragment():
    channel = Channel("widget", SHOP, "/orders/track?email=sam@example.com#token=abc")
    assert (channel.host_origin, channel.host_path) == (SHOP, "/orders/track")
    assert Channel("widget", SHOP, "/checkout#step-2").host_path == "/checkout"
    assert Channel("widget", SHOP, "/a\x00b\nc?x").host_path == "/abc"
    assert Channel("widget", SHOP, "/" + "p" * 900).host_path == "/" + "p" * (PATH_LIMIT - 1)


@pytest.mark.parametrize(
    "origin",
    [
        "javascript:alert(1)",
        "https://shop.example.com/path",
        "https://user@shop.example.com",
        "https://" + "a" * 200 + ".example",
        "",
    ],
)
def test_a_host_origin_that_is_not_an_origin_is_dropped_with_its_path(origin):
    channel = Channel("widget", origin, "/checkout")
    assert (channel.name, channel.host_origin, channel.host_path) == ("widget", None, None)


def test_a_path_that_is_a_whole_address_is_dropped():
    channel = Channel("widget", SHOP, "https://shop.example.com/checkout?card=4111")
    assert (channel.host_origin, channel.host_path) == (SHOP, None)


def test_only_known_channels_and_only_the_widget_has_a_host_page():
    assert CHANNELS == ("site", "widget", "api")
    with pytest.raises(ValueError, match="channel"):
        Channel("email")
    with pytest.raises(ValueError, match="host page"):
        Channel("site", SHOP, "/checkout")


# -- the channel of a request ----------------------------------------------------------------


def test_the_request_channel_is_site_api_or_widget_on_an_allowed_host(app):
    with app.test_request_context("/en/search?q=refund"):
        assert request_channel() == Channel("site")
    with app.test_request_context("/api/search?q=refund"):
        assert request_channel() == Channel("api")
    with app.test_request_context("/en/widget"):
        g.widget_host = ("HTTPS://Shop.Example.com:443", "/checkout?order=55#pay")
        assert request_channel() == Channel("widget", SHOP, "/checkout")
    with app.test_request_context("/en/widget"):
        g.widget_host = ("https://evil.example", "/phish")
        assert request_channel() == Channel("widget")
    with app.test_request_context("/en/widget"):
        g.widget_host = (None, None)
        assert request_channel() == Channel("widget")


def test_site_pages_record_site_and_the_api_records_api(app):
    client = app.test_client()
    client.get("/en/search?q=refund")
    client.get("/api/search?q=refund&lang=en")
    article = client.get("/en/articles/track-order")
    client.post(
        "/en/articles/track-order/feedback",
        data={"helpful": "yes", "csrf_token": csrf_token(article)},
    )
    client.get("/en/contact?q=where is my parcel")
    searches = db.session.execute(
        db.select(SearchEvent.source, SearchEvent.channel, SearchEvent.host_origin).order_by(
            SearchEvent.id
        )
    ).all()
    assert searches == [
        ("search", "site", None),
        ("api", "api", None),
        ("contact", "site", None),
    ]
    assert db.session.scalars(db.select(ArticleView.channel)).all() == ["site"]
    assert db.session.scalars(db.select(Feedback.channel)).all() == ["site"]
    assert db.session.scalars(db.select(ContactFlow.channel)).all() == ["site"]
    assert search_counts(around_today(), channel="api").searches == 1
    assert search_counts(around_today(), channel="site").searches == 2


def around_today() -> Period:
    today = dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time())
    return Period(today - dt.timedelta(days=1), today + dt.timedelta(days=2))


def test_widget_events_store_the_host_page_and_the_flow_keeps_its_channel(app):
    on_checkout = Channel("widget", SHOP, "/checkout?coupon=X")
    flow_id = start_contact_flow("v1", "en", channel=on_checkout)
    # The site's contact page does not continue a widget flow, nor the other way round.
    assert open_contact_flow(flow_id, "v1") is None
    assert open_contact_flow(flow_id, "v1", channel=Channel("widget")).channel == "widget"
    # The flow's question is a search in the flow's channel and host page.
    record_flow_question(flow_id, "v1", "where is my parcel", 1, ["en/track-order"])
    record_search("v1", "en", "refund", 1, ["en/refund-policy"], "search", channel=on_checkout)
    record_article_view("v1", "en/track-order", channel=on_checkout)
    record_feedback("v1", "en/track-order", True, channel=on_checkout)
    assert resolve_contact_flow(flow_id, "v1", "en/track-order")
    assert record_effort_score("v1", flow_id, 6)
    for model in (SearchEvent, ArticleView, Feedback, ContactFlow):
        rows = db.session.execute(
            db.select(model.channel, model.host_origin, model.host_path)
        ).all()
        assert set(rows) == {("widget", SHOP, "/checkout")}, model
    assert db.session.scalars(db.select(EffortScore.channel)).all() == ["widget"]


# -- figures per channel ----------------------------------------------------------------------


def flow(visit, minute, outcome=None, channel="site", origin=None, path=None, resolved_key=None):
    row = ContactFlow(
        visit_id=visit,
        lang="en",
        started_at=at(minute),
        updated_at=at(minute + 1),
        outcome=outcome,
        resolved_key=resolved_key or ("en/track-order" if outcome == "resolved" else None),
        suggestions_shown=["en/track-order"],
        channel=channel,
        host_origin=origin,
        host_path=path,
    )
    db.session.add(row)
    db.session.flush()
    return row


def contact(visit, minute, flow_row=None):
    db.session.add(
        ContactRequest(
            reference=f"KB-C{next(_references):07d}",
            visit_id=visit,
            flow_id=flow_row.id if flow_row else None,
            created_at=at(minute),
            lang="en",
            name="Sam",
            email="sam@example.com",
            message="help",
        )
    )


def contacted(visit, minute, **where):
    row = flow(visit, minute, "contacted", **where)
    contact(visit, minute + 2, row)
    return row


def search(visit, minute, channel="site", results=1, source="search"):
    event = SearchEvent(
        visit_id=visit,
        created_at=at(minute),
        lang="en",
        query="parcel",
        normalized_query="parcel",
        result_count=results,
        shown_keys=["en/track-order"] if results else [],
        source=source,
        channel=channel,
    )
    db.session.add(event)
    db.session.flush()
    return event


def view(visit, minute, channel="site", search_id=None):
    db.session.add(
        ArticleView(
            visit_id=visit,
            created_at=at(minute),
            article_key="en/track-order",
            search_id=search_id,
            channel=channel,
        )
    )


def build_three_channels():
    """Site: S=3 R=1 C=1 A=1. Widget: S=6 R=2 C=2 A=2 on three host pages. API: searches only."""
    checkout = {"channel": "widget", "origin": SHOP, "path": "/checkout"}
    orders = {"channel": "widget", "origin": SHOP, "path": "/orders"}
    resolved_on_site = flow("v1", 10, "resolved")
    contacted("v2", 20)
    flow("v3", 30)  # abandoned
    resolved_in_widget = flow("v5", 40, "resolved", **checkout)
    contacted("v6", 50, **checkout)
    contacted("v7", 60, **checkout)
    flow("v8", 70, **checkout)  # abandoned
    flow("v5", 80, "resolved", **orders)
    flow("v11", 90, channel="widget")  # abandoned, on a site not allowed: page not known
    contact("v10", 100)  # no flow: a contact from the help center's own pages
    # Site: v1 and v2 searched, v2 then contacted (failed); the zero-result search is v1's.
    search("v1", 5, results=0)
    search("v2", 15)
    # Widget: v5 searched and read, v6 read, v8 searched; v6 and v7 contacted.
    clicked = search("v5", 35, channel="widget")
    view("v5", 36, channel="widget", search_id=clicked.id)
    view("v6", 45, channel="widget")
    search("v8", 65, channel="widget")
    # API: two searches of one visit, one without results.
    search("v9", 200, channel="api", source="api")
    search("v9", 201, channel="api", source="api", results=0)
    db.session.add_all(
        [
            EffortScore(
                visit_id="v1", flow_id=resolved_on_site.id, lang="en", score=6, created_at=at(12)
            ),
            EffortScore(
                visit_id="v5",
                flow_id=resolved_in_widget.id,
                lang="en",
                score=2,
                created_at=at(42),
                channel="widget",
            ),
        ]
    )
    db.session.commit()


def counts(figures):
    return (figures.started, figures.resolved, figures.contacted, figures.abandoned)


def test_every_headline_figure_is_split_by_channel(app):
    build_three_channels()
    split = headline_by_channel(DAY, now=LATER)
    assert list(split) == ["site", "widget", "api"]
    site, widget, api = split.values()
    assert [figures.channel for figures in split.values()] == ["site", "widget", "api"]

    assert counts(site) == (3, 1, 1, 1)
    assert site.deflection == Metric(0.5, 1, 2)
    assert site.abandonment == Metric(1 / 3, 1, 3)
    # v1, v2 searched / v2 contacted in a site flow, v10 without a flow.
    assert site.self_service == Metric(1.0, 2, 2)
    assert site.failed_searches == Metric(0.5, 1, 2)  # v2's search, 7 minutes before
    assert site.zero_results == Metric(0.5, 1, 2)
    assert site.click_through == Metric(0.0, 0, 1)
    assert (site.effort.mean, site.effort.distribution) == (Metric(6.0, 6, 1), (0,) * 5 + (1, 0))

    assert counts(widget) == (6, 2, 2, 2)
    assert widget.deflection == Metric(0.5, 2, 4)
    assert widget.abandonment == Metric(2 / 6, 2, 6)
    # v5, v6, v8 searched or read / v6, v7 contacted from widget flows.
    assert widget.self_service == Metric(1.5, 3, 2)
    assert widget.failed_searches == Metric(0.0, 0, 2)
    assert widget.click_through == Metric(0.5, 1, 2)
    assert widget.effort.mean == Metric(2.0, 2, 1)

    # API searches count under "api"; no flow there, so its rates have no data.
    assert counts(api) == (0, 0, 0, 0)
    assert api.deflection.value is None and api.abandonment.value is None
    assert api.self_service == Metric(None, 1, 0)
    assert api.zero_results == Metric(0.5, 1, 2)
    assert api.effort.mean.value is None

    # The parts add up to every channel together, except self-service visits.
    total = headline(DAY, now=LATER)
    assert counts(total) == (9, 3, 3, 3)
    assert total.deflection == Metric(0.5, 3, 6)
    assert total.failed_searches == Metric(1 / 6, 1, 6)
    assert total.self_service == Metric(6 / 4, 6, 4)
    # The dashboard adds the total up from the channels instead of computing it again.
    assert every_channel(split.values(), self_service_score(DAY)) == total


@pytest.mark.parametrize("lang, category", [("en", None), (None, "orders"), ("ar", "orders")])
def test_the_channels_add_up_under_every_filter(app, lang, category):
    build_three_channels()
    scope = (DAY, lang, category, {"en/track-order": "orders"})
    split = headline_by_channel(*scope, now=LATER)
    assert every_channel(split.values(), self_service_score(*scope)) == headline(*scope, now=LATER)


def test_the_channel_filter_applies_to_every_figure(app):
    build_three_channels()
    for name, figures in headline_by_channel(DAY, now=LATER).items():
        assert headline(DAY, now=LATER, channel=name) == figures
    assert counts(flow_counts(DAY, now=LATER, channel="widget")) == (6, 2, 2, 2)
    assert search_counts(DAY, channel="api").searches == 2
    assert self_service_score(DAY, channel="widget") == Metric(1.5, 3, 2)
    assert effort_scores(DAY, channel="site").mean == Metric(6.0, 6, 1)
    assert sum(bucket.started for bucket in trend(DAY, now=LATER, channel="widget")) == 6
    assert [q.failed for q in top_failed_searches(DAY, channel="site")] == [1]
    assert top_failed_searches(DAY, channel="widget") == []
    (row,) = article_table(DAY, channel="widget")
    assert (row.key, row.views, row.readers) == ("en/track-order", 2, 2)
    assert article_table(DAY, channel="site") == []
    with pytest.raises(ValueError, match="channel"):
        headline(DAY, channel="email")


def pages(rows):
    return [
        (page.origin, page.path, *counts(page.flows), page.flows.deflection.value) for page in rows
    ]


def test_host_pages_where_most_contact_flows_start(app):
    build_three_channels()
    assert pages(host_pages_by_flows(DAY, now=LATER)) == [
        (SHOP, "/checkout", 4, 1, 2, 1, 1 / 3),
        (None, None, 1, 0, 0, 1, None),  # the page is not known: not an allowed site
        (SHOP, "/orders", 1, 1, 0, 0, 1.0),
    ]
    assert pages(host_pages_by_flows(DAY, now=LATER, limit=1)) == [
        (SHOP, "/checkout", 4, 1, 2, 1, 1 / 3)
    ]
    assert host_pages_by_flows(DAY, now=LATER, channel="site") == []


def test_host_pages_are_ranked_by_deflection_only_with_enough_ended_flows(app):
    build_three_channels()
    cart = {"channel": "widget", "origin": OTHER_SHOP, "path": "/cart"}
    account = {"channel": "widget", "origin": SHOP, "path": "/account"}
    flow("c1", 300, "resolved", **cart)
    for visit in ("c2", "c3", "c4", "c5"):
        contacted(visit, 310, **cart)
    flow("c6", 320, **cart)  # abandoned: not in the rate
    for visit in ("a1", "a2", "a3", "a4"):  # 0% deflection, but only 4 ended flows
        contacted(visit, 330, **account)
    db.session.commit()
    assert pages(host_pages_by_deflection(DAY, now=LATER)) == [
        (OTHER_SHOP, "/cart", 6, 1, 4, 1, 0.2),
    ]
    assert pages(host_pages_by_deflection(DAY, now=LATER, min_flows=1)) == [
        (SHOP, "/account", 4, 0, 4, 0, 0.0),
        (OTHER_SHOP, "/cart", 6, 1, 4, 1, 0.2),
        (SHOP, "/checkout", 4, 1, 2, 1, 1 / 3),
        (SHOP, "/orders", 1, 1, 0, 0, 1.0),
    ]


def test_a_contact_request_is_in_the_channel_of_its_flow(app):
    widget_flow = contacted("v1", 10, channel="widget", origin=SHOP, path="/checkout")
    contact("v2", 20)  # no flow: the help center
    db.session.commit()
    assert self_service_score(DAY, channel="widget") == Metric(0.0, 0, 1)
    assert self_service_score(DAY, channel="site") == Metric(0.0, 0, 1)
    assert widget_flow.channel == "widget"


# -- the dashboard ----------------------------------------------------------------------------


# The figures are checked on both engines above; the pages on the engine of the test run.
@pytest.fixture
def dashboard_app(tmp_path, shared_index):
    app = create_app(
        app_config(tmp_path, INDEX_DIR=str(shared_index), WIDGET_ORIGINS=f"{SHOP},{OTHER_SHOP}")
    )
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def manager(dashboard_app):
    create_user("manager@kb.example", STAFF_PASSWORD, "manager")
    client = dashboard_app.test_client()
    assert log_in(client, "manager@kb.example").status_code == 302
    return client


def cells(row):
    return [" ".join(cell.get_text().split()) for cell in row.find_all(["th", "td"])]


def read_csv(response):
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_dashboard_shows_headline_figures_by_channel(manager):
    build_three_channels()
    html = page(manager.get(f"/admin/dashboard?{DAY_ARGS}"))
    table = html.find(id="channels-heading").find_next("table")
    assert cells(table.thead.tr) == ["Figure", "Help center", "Widget", "API"]
    rows = {cells(row)[0]: cells(row)[1:] for row in table.tbody("tr")}
    assert rows["Contact flows started"] == ["3", "6", "0"]
    assert rows["Abandoned"] == ["1", "2", "0"]
    assert rows["Deflection rate"] == ["50% 1 / 2", "50% 2 / 4", "—no data 0 / 0"]
    assert rows["Self-service score"] == ["1.0 2 / 2", "1.5 3 / 2", "—no data 1 / 0"]
    assert rows["Zero-result rate"][2] == "50% 1 / 2"
    link = table.tbody.find("a", string="Deflection rate")
    assert html.find(id=link["href"][1:]).find("summary").get_text() == "How is this counted?"
    assert html.find(id="channels-heading").find_next("details").find("p").get_text().strip()


def test_dashboard_lists_the_widgets_host_pages(manager):
    build_three_channels()
    html = page(manager.get(f"/admin/dashboard?{DAY_ARGS}"))
    most = html.find(id="host-pages-most-flows").find_next("table")
    assert [cells(row) for row in most.tbody("tr")] == [
        [f"{SHOP}/checkout", "4", "1", "2", "1", "33%"],
        ["Page not known", "1", "0", "0", "1", "—no data"],
        [f"{SHOP}/orders", "1", "1", "0", "0", "100%"],
    ]
    lowest = html.find(id="host-pages-lowest-deflection")
    assert "at least 5 flows" in lowest.find_next("p").get_text()
    assert lowest.find_next("p").find_next("p").get_text() == (
        "No host page has enough finished contact flows in this period."
    )

    arabic = page(manager.get(f"/admin/dashboard?{DAY_ARGS}", headers={"Accept-Language": "ar"}))
    assert arabic.html["dir"] == "rtl"
    host = arabic.find(id="host-pages-most-flows").find_next("table").tbody.th.span
    assert host["dir"] == "ltr" and host.get_text() == f"{SHOP}/checkout"


def test_the_channel_filter_applies_to_the_dashboard_and_exports(manager):
    build_three_channels()
    html = page(manager.get(f"/admin/dashboard?{DAY_ARGS}&channel=widget"))
    assert html.find("select", id="channel").find("option", selected=True)["value"] == "widget"
    started = html.find(id="figure-started").find(class_="figure-value").get_text(strip=True)
    assert started == "6"
    table = html.find(id="channels-heading").find_next("table")
    assert cells(table.thead.tr) == ["Figure", "Widget"]
    chart = html.find("figure", class_="chart").img["src"]
    assert "channel=widget" in chart
    assert manager.get(chart).status_code == 200
    csv_link = html.find(id="host-pages-heading").find_next("a", download=True)["href"]
    assert "channel=widget" in csv_link

    site = page(manager.get(f"/admin/dashboard?{DAY_ARGS}&channel=site"))
    section = site.find(id="host-pages-heading").parent
    assert "Host pages are known only for the widget channel." in section.get_text()
    assert section.find("table") is None

    response = manager.get(f"/admin/dashboard?{DAY_ARGS}&channel=email")
    assert response.status_code == 400
    assert "Choose one of the channels offered." in response.get_data(as_text=True)


def test_channel_and_host_page_tables_export_as_csv(manager):
    build_three_channels()
    response = manager.get(f"/admin/dashboard/channels.csv?{DAY_ARGS}")
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="kb-channels-20240304-20240304.csv"'
    )
    rows = read_csv(response)
    assert rows[0] == ["Channel", "Figure", "Value", "Numerator", "Denominator"]
    by_cell = {(row[0], row[1]): row[2:] for row in rows[1:]}
    assert by_cell[("Help center", "Deflection rate")] == ["0.5", "1", "2"]
    assert by_cell[("Widget", "Contact flows started")] == ["6", "", ""]
    assert by_cell[("API", "Deflection rate")] == ["", "0", "0"]
    assert by_cell[("API", "Zero-result rate")] == ["0.5", "1", "2"]
    assert len(rows) == 1 + 3 * 12

    hosts = read_csv(manager.get(f"/admin/dashboard/host-pages.csv?{DAY_ARGS}"))
    assert hosts[0] == [
        "Site",
        "Page",
        "Started",
        "Resolved",
        "Contacted",
        "Abandoned",
        "In progress",
        "Deflection rate",
        "Abandonment rate",
    ]
    assert hosts[1] == [SHOP, "/checkout", "4", "1", "2", "1", "0", "0.3333", "0.25"]
    assert hosts[2][:3] == ["", "", "1"]

    lowest = read_csv(
        manager.get(f"/admin/dashboard/host-pages-deflection.csv?{DAY_ARGS}&channel=widget")
    )
    assert lowest == [hosts[0]]  # no page has 5 ended flows yet


# -- the migration ----------------------------------------------------------------------------


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def unmigrated_app(request, tmp_path, shared_index):
    """An app on an empty database of each engine, for running the migrations."""
    overrides = {"INDEX_DIR": str(shared_index)}
    if request.param == "postgres":
        overrides["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    app = create_app(app_config(tmp_path, **overrides))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_migration_makes_api_searches_api_and_the_rest_site(unmigrated_app):
    runner = unmigrated_app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade", "0005"])
    assert result.exit_code == 0, result.output
    with unmigrated_app.app_context():
        db.session.execute(
            db.text(
                "INSERT INTO search_event (visit_id, created_at, lang, query, normalized_query,"
                " result_count, shown_keys, source) VALUES"
                " ('v1', '2024-03-04 09:00:00', 'en', 'refund', 'refund', 1, '[]', 'api'),"
                " ('v1', '2024-03-04 09:01:00', 'en', 'refund', 'refund', 1, '[]', 'search')"
            )
        )
        db.session.commit()
        db.session.remove()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with unmigrated_app.app_context():
        rows = db.session.execute(
            db.select(SearchEvent.source, SearchEvent.channel, SearchEvent.host_path).order_by(
                SearchEvent.id
            )
        ).all()
        assert rows == [("api", "api", None), ("search", "site", None)]
