"""Retention: `flask kb purge` blanks old contact PII and deletes old events; no IP is stored."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from kb import create_app
from kb.contact import purge
from kb.contact.models import ContactDelivery, ContactRequest
from kb.extensions import db
from kb.insights.models import (
    ArticleView,
    ContactFlow,
    EffortScore,
    Feedback,
    SearchEvent,
    utcnow,
)
from kb.insights.widget import WidgetEvent

from .conftest import app_config, csrf_token, page

NOW = dt.datetime(2026, 6, 1, 12, 0, 0)
DAYS = 30
CUTOFF = NOW - dt.timedelta(days=DAYS)
OLD = CUTOFF - dt.timedelta(seconds=1)  # just older than the period: purged
KEPT = CUTOFF  # exactly at the cut-off: kept


def add_visit(visit: str, at: dt.datetime) -> dict:
    flow = ContactFlow(visit_id=visit, lang="en", started_at=at, updated_at=at, outcome="contacted")
    db.session.add(flow)
    db.session.flush()
    search = SearchEvent(
        visit_id=visit, created_at=at, lang="en", query="refund", normalized_query="refund",
        result_count=1, shown_keys=["en/refund-timing"], source="contact", flow_id=flow.id,
    )  # fmt: skip
    db.session.add(search)
    db.session.flush()
    db.session.add_all(
        [
            ArticleView(visit_id=visit, created_at=at, article_key="en/refund-timing",
                        search_id=search.id, position=1),
            Feedback(visit_id=visit, created_at=at, article_key="en/refund-timing", helpful=True),
            EffortScore(visit_id=visit, flow_id=flow.id, created_at=at, lang="en", score=6),
            WidgetEvent(visit_id=visit, created_at=at, lang="en", event="open",
                        host_origin="https://shop.example.com", host_path="/checkout"),
            ContactRequest(reference=f"KB-{visit.upper()}", visit_id=visit, flow_id=flow.id,
                           created_at=at, lang="en", name="Sara Ali", email="sara@example.com",
                           category="orders", message=f"message of {visit}"),
        ]
    )  # fmt: skip
    db.session.commit()
    return {"flow": flow.id, "search": search.id}


def test_purge_removes_exactly_what_is_older_than_the_period(app):
    with app.app_context():
        old = add_visit("old", OLD)
        add_visit("kept", KEPT)
        # A newer view of an old search and a newer search in an old flow: links are cleared.
        db.session.add(
            ArticleView(visit_id="late", created_at=KEPT, article_key="en/track-order",
                        search_id=old["search"], position=2)
        )  # fmt: skip
        db.session.add(
            SearchEvent(visit_id="old", created_at=KEPT, lang="en", query="late",
                        normalized_query="late", result_count=0, shown_keys=[],
                        source="contact", flow_id=old["flow"])
        )  # fmt: skip
        pending = db.session.scalar(
            db.select(ContactRequest).where(ContactRequest.reference == "KB-OLD")
        )
        db.session.add(
            ContactDelivery(request_id=pending.id, channel="webhook", next_attempt_at=OLD)
        )
        db.session.commit()

        counts = purge(DAYS, now=NOW)
        assert counts == {
            "contact_request": 1,
            "article_view": 1,
            "feedback": 1,
            "effort_score": 1,
            "search_event": 1,
            "contact_flow": 1,
            "widget_event": 1,
        }
        purged = db.session.scalar(
            db.select(ContactRequest).where(ContactRequest.reference == "KB-OLD")
        )
        assert (purged.name, purged.email, purged.message) == ("", "", "")
        assert purged.purged_at == NOW
        # Kept for metrics: reference, time, language, topic.
        assert (purged.created_at, purged.lang, purged.category) == (OLD, "en", "orders")
        assert purged.flow_id is None and purged.delivery_status == "failed"
        delivery = db.session.scalar(db.select(ContactDelivery))
        assert (delivery.status, delivery.next_attempt_at) == ("failed", None)

        kept = db.session.scalar(
            db.select(ContactRequest).where(ContactRequest.reference == "KB-KEPT")
        )
        assert (kept.name, kept.email, kept.message) == ("Sara Ali", "sara@example.com",
                                                         "message of kept")  # fmt: skip
        assert kept.purged_at is None and kept.flow_id is not None
        for model in (SearchEvent, ArticleView, Feedback, EffortScore, WidgetEvent):
            times = set(db.session.scalars(db.select(model.created_at)))
            assert times == {KEPT}, model
        assert set(db.session.scalars(db.select(ContactFlow.started_at))) == {KEPT}
        late_view = db.session.scalar(db.select(ArticleView).where(ArticleView.visit_id == "late"))
        assert late_view.search_id is None
        late_search = db.session.scalar(db.select(SearchEvent).where(SearchEvent.query == "late"))
        assert late_search.flow_id is None

        # Purging again changes nothing.
        assert set(purge(DAYS, now=NOW).values()) == {0}


def test_purge_command_uses_the_retention_days_and_prints_counts(app):
    app.config["RETENTION_DAYS"] = 10
    with app.app_context():
        add_visit("ancient", utcnow() - dt.timedelta(days=11))
        add_visit("recent", utcnow() - dt.timedelta(days=9))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["kb", "purge"])
    assert result.exit_code == 0, result.output
    assert "older than 10 days" in result.output
    assert "1 contact requests blanked" in result.output
    assert "1 search_event rows deleted" in result.output
    result = runner.invoke(args=["kb", "purge", "--older-than", "5"])
    assert result.exit_code == 0, result.output
    assert (
        "1 contact requests blanked" in result.output and "1 feedback rows deleted" in result.output
    )
    result = runner.invoke(args=["kb", "purge", "--older-than", "0"])
    assert result.exit_code == 2


def test_purged_request_shows_as_purged_in_the_back_office(app, staff):
    from .conftest import log_in

    with app.app_context():
        add_visit("gone", OLD)
        purge(DAYS, now=NOW)
    client = app.test_client()
    log_in(client, staff["manager"])
    html = page(client.get("/admin/contacts/KB-GONE"))
    assert "Personal data removed" in html.get_text()
    assert "Sara Ali" not in html.get_text()
    assert html.find("form", attrs={"action": "/admin/contacts/KB-GONE/deliver"}) is None


def customer_flows(client, marker: str) -> None:
    """Search, read, give feedback, open the contact flow, send a request, score effort."""
    client.get("/en/search", query_string={"q": "refund"})
    article = client.get("/en/articles/refund-timing")
    client.post(
        "/en/articles/refund-timing/feedback",
        data={"helpful": "no", "csrf_token": csrf_token(article)},
    )
    form_page = client.get("/en/contact", query_string={"q": "refund missing", "step": "form"})
    response = client.post(
        "/en/contact",
        data={"name": "Sara", "email": "sara@example.com", "category": "orders",
              "message": f"refund missing {marker}", "question": "refund missing",
              "csrf_token": csrf_token(form_page)},
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)
    flow_page = client.get("/en/contact", query_string={"q": "forgot my password"})
    solved = client.post(
        "/en/contact/solved",
        data={"article": "en/reset-password", "question": "forgot my password",
              "csrf_token": csrf_token(flow_page)},
    )  # fmt: skip
    resolved = client.get(solved.location)
    client.post(
        "/en/contact/effort",
        data={"score": "6", "article": "reset-password", "csrf_token": csrf_token(resolved)},
    )
    client.get("/api/search", query_string={"q": "refund", "lang": "en"})


def test_no_ip_address_is_stored_anywhere(app):
    address = "203.0.113.197"
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    customer_flows(client, "ip-check-marker")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(EffortScore.id))) == 1
        assert db.session.scalar(db.select(db.func.count(ContactRequest.id))) == 1
        inspector = sa.inspect(db.engine)
        rows_seen = 0
        for table in inspector.get_table_names():
            for row in db.session.execute(sa.text(f'SELECT * FROM "{table}"')):
                rows_seen += 1
                for value in row:
                    assert address not in str(value), f"{table} stores the IP address"
                    assert "203.0.113" not in str(value), f"{table} stores part of the IP"
        assert rows_seen > 5


def test_the_search_index_never_holds_contact_text(writable_app):
    marker = "zqxcontactmarker7731"
    client = writable_app.test_client()
    customer_flows(client, marker)
    result = writable_app.test_cli_runner().invoke(args=["kb", "index"])
    assert result.exit_code == 0, result.output
    index_dir = writable_app.config["INDEX_DIR"]
    files = [path for path in index_dir.rglob("*") if path.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        assert marker.encode() not in data, path
        assert marker.encode("utf-16-le") not in data, path
    with writable_app.app_context():
        assert marker in db.session.scalar(db.select(ContactRequest.message))


@pytest.mark.postgres
def test_purge_keeps_foreign_keys_on_postgresql(tmp_path, shared_index, postgres_url):
    """PostgreSQL enforces foreign keys (SQLite here does not): the order of deletes matters."""
    app = create_app(app_config(tmp_path, DATABASE_URL=postgres_url, INDEX_DIR=str(shared_index)))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        old = add_visit("old", OLD)
        add_visit("kept", KEPT)
        db.session.add(
            ArticleView(visit_id="late", created_at=KEPT, article_key="en/track-order",
                        search_id=old["search"], position=2)
        )  # fmt: skip
        db.session.commit()
        counts = purge(DAYS, now=NOW)
        assert counts["contact_flow"] == 1 and counts["contact_request"] == 1
        assert db.session.scalar(db.select(db.func.count(ContactFlow.id))) == 1
        db.session.remove()
        db.engine.dispose()
