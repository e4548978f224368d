"""Back office contact requests: list and filters, the visit's journey, handled, linked answers."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.contact import (
    ContactFilters,
    find_contact,
    link_answer,
    list_contacts,
    mark_handled,
    mark_unhandled,
)
from kb.contact.models import ContactRequest
from kb.errors import ContactError
from kb.extensions import db
from kb.insights import visit_journey
from kb.insights.models import ArticleView, ContactFlow, Feedback, SearchEvent

from .conftest import csrf_token, log_in, page

NOW = dt.datetime(2026, 3, 10, 12, 0, 0)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def add_contact(reference: str, *, at: dt.datetime = NOW, **fields) -> None:
    values = {
        "visit_id": "visit-a",
        "lang": "en",
        "name": "Sara",
        "email": "sara@example.com",
        "category": "orders",
        "message": "Where is my parcel?",
    }
    db.session.add(ContactRequest(reference=reference, created_at=at, **{**values, **fields}))
    db.session.commit()


def references(contacts_page) -> list[str]:
    return [item.reference for item in contacts_page.items]


@pytest.fixture
def manager(client, staff):
    assert log_in(client, staff["manager"]).status_code == 302
    return client


@pytest.fixture
def inbox(app):
    """Five requests over three days, in both languages, one handled."""
    with app.app_context():
        add_contact("KB-A", at=NOW - dt.timedelta(days=2), message="Refund for order 1")
        add_contact(
            "KB-B",
            at=NOW - dt.timedelta(days=1),
            lang="ar",
            category="returns",
            message="متى يصلني المبلغ",
            email="layla@example.com",
        )
        add_contact("KB-C", at=NOW - minutes(30), category="", message="100% broken_thing")
        add_contact("KB-D", at=NOW, category="other", email="omar@shop.example")
        add_contact("KB-E", at=NOW + minutes(1), category="returns", message="Wrong size")
        mark_handled("KB-E", by="manager@kb.example")
    return app


def test_list_is_newest_first_and_every_filter_narrows_it(inbox):
    with inbox.app_context():
        assert references(list_contacts(ContactFilters())) == [
            "KB-E",
            "KB-D",
            "KB-C",
            "KB-B",
            "KB-A",
        ]
        assert references(list_contacts(ContactFilters(lang="ar"))) == ["KB-B"]
        assert references(list_contacts(ContactFilters(category="returns"))) == ["KB-E", "KB-B"]
        assert references(list_contacts(ContactFilters(category=""))) == ["KB-C"]
        assert references(list_contacts(ContactFilters(handled=True))) == ["KB-E"]
        assert "KB-E" not in references(list_contacts(ContactFilters(handled=False)))
        # Date range: UTC days, both ends included.
        yesterday = (NOW - dt.timedelta(days=1)).date()
        assert references(list_contacts(ContactFilters(since=yesterday, until=yesterday))) == [
            "KB-B"
        ]
        assert references(list_contacts(ContactFilters(since=NOW.date()))) == [
            "KB-E",
            "KB-D",
            "KB-C",
        ]
        # Text search in message and e-mail, case-insensitive; % and _ match only themselves.
        assert references(list_contacts(ContactFilters(text="refund"))) == ["KB-A"]
        assert references(list_contacts(ContactFilters(text="SHOP.example"))) == ["KB-D"]
        assert references(list_contacts(ContactFilters(text="100%"))) == ["KB-C"]
        assert references(list_contacts(ContactFilters(text="n_th"))) == ["KB-C"]
        assert references(list_contacts(ContactFilters(text="o_e"))) == []  # not "broken"
        assert references(list_contacts(ContactFilters(text="المبلغ"))) == ["KB-B"]
        both = ContactFilters(lang="en", category="returns", handled=True, text="size")
        assert references(list_contacts(both)) == ["KB-E"]


def test_list_page_shows_filtered_requests_to_managers(inbox, manager):
    html = page(manager.get("/admin/contacts", query_string={"lang": "en", "status": "open"}))
    rows = html.select("table.contact-table tbody tr")
    assert [row.a.get_text(strip=True) for row in rows] == ["KB-D", "KB-C", "KB-A"]
    assert "sara@example.com" in rows[-1].get_text()
    assert (
        html.find("select", attrs={"name": "lang"}).find("option", selected=True)["value"] == "en"
    )

    html = page(manager.get("/admin/contacts", query_string={"category": "none", "q": "broken"}))
    assert [a.get_text() for a in html.select("table.contact-table tbody a")] == ["KB-C"]

    # A bad value in one filter is shown as an error and ignored, never a 500.
    response = manager.get("/admin/contacts", query_string={"since": "not-a-date", "lang": "ar"})
    assert response.status_code == 200
    html = page(response)
    assert html.select_one(".field-error")
    assert [a.get_text() for a in html.select("table.contact-table tbody a")] == ["KB-B"]


def test_list_is_paginated_keeping_the_filters(app, manager):
    with app.app_context():
        for n in range(55):
            add_contact(f"KB-P{n:02d}", at=NOW - minutes(n))
    first = page(manager.get("/admin/contacts", query_string={"lang": "en"}))
    assert len(first.select("table.contact-table tbody tr")) == 50
    assert first.select_one("table.contact-table tbody a").get_text() == "KB-P00"
    older = first.find("a", rel="next")["href"]
    assert "lang=en" in older and "page=2" in older
    second = page(manager.get(older))
    assert [a.get_text() for a in second.select("table.contact-table tbody a")] == [
        f"KB-P{n}" for n in range(50, 55)
    ]
    assert second.find("a", rel="next") is None and second.find("a", rel="prev")
    # A page past the end is empty, not an error.
    assert manager.get("/admin/contacts?page=9").status_code == 200


@pytest.fixture
def journey(app):
    """Visit "visit-a" contacts support at NOW; around it, events that must and must not show."""
    with app.app_context():
        old = SearchEvent(
            visit_id="visit-a",
            created_at=NOW - minutes(31),
            lang="en",
            query="too early",
            normalized_query="too early",
            result_count=1,
            shown_keys=["en/gift-cards"],
            source="search",
        )
        search = SearchEvent(
            visit_id="visit-a",
            created_at=NOW - minutes(25),
            lang="en",
            query="parcel late",
            normalized_query="parcel late",
            result_count=2,
            shown_keys=["en/track-order", "en/refund-timing"],
            source="search",
        )
        db.session.add_all([old, search])
        db.session.flush()
        flow = ContactFlow(
            visit_id="visit-a",
            lang="en",
            started_at=NOW - minutes(10),
            updated_at=NOW,
            question="my parcel is late",
            suggestions_shown=["en/track-order"],
            outcome="contacted",
        )
        db.session.add(flow)
        db.session.flush()
        db.session.add_all(
            [
                ArticleView(
                    visit_id="visit-a",
                    created_at=NOW - minutes(20),
                    article_key="en/track-order",
                    search_id=search.id,
                    position=1,
                ),
                ArticleView(
                    visit_id="visit-a", created_at=NOW - minutes(12), article_key="en/refund-timing"
                ),
                Feedback(
                    visit_id="visit-a",
                    created_at=NOW - minutes(19),
                    article_key="en/track-order",
                    helpful=False,
                    comment="no tracking link",
                ),
                SearchEvent(
                    visit_id="visit-a",
                    created_at=NOW - minutes(9),
                    lang="en",
                    query="my parcel is late",
                    normalized_query="parcel late",
                    result_count=1,
                    shown_keys=["en/track-order"],
                    source="contact",
                    flow_id=flow.id,
                ),
                # Another visit at the same time, and this visit after the request: not shown.
                SearchEvent(
                    visit_id="visit-b",
                    created_at=NOW - minutes(5),
                    lang="en",
                    query="someone else",
                    normalized_query="someone else",
                    result_count=0,
                    shown_keys=[],
                    source="search",
                ),
                ArticleView(
                    visit_id="visit-b", created_at=NOW - minutes(5), article_key="en/gift-cards"
                ),
                SearchEvent(
                    visit_id="visit-a",
                    created_at=NOW + minutes(1),
                    lang="en",
                    query="after",
                    normalized_query="after",
                    result_count=0,
                    shown_keys=[],
                    source="search",
                ),
            ]
        )
        db.session.commit()
        add_contact("KB-J", at=NOW, flow_id=flow.id)
    return app


def test_journey_is_this_visit_in_the_30_minutes_before_in_time_order(journey):
    with journey.app_context():
        steps = visit_journey("visit-a", NOW)
    assert [(step.kind, NOW - step.at) for step in steps] == [
        ("search", minutes(25)),
        ("article_view", minutes(20)),
        ("feedback", minutes(19)),
        ("article_view", minutes(12)),
        ("contact_flow", minutes(10)),
        ("search", minutes(9)),
    ]
    search, view, feedback, direct_view, flow, flow_search = steps
    assert (search.query, search.source, search.result_count) == ("parcel late", "search", 2)
    assert search.shown_keys == ("en/track-order", "en/refund-timing")
    assert (view.article_key, view.from_query, view.position) == (
        "en/track-order",
        "parcel late",
        1,
    )
    assert direct_view.from_query is None
    assert (feedback.helpful, feedback.comment) == (False, "no tracking link")
    assert (flow.query, flow.shown_keys, flow.outcome) == (
        "my parcel is late",
        ("en/track-order",),
        "contacted",
    )
    assert flow_search.source == "contact"


def test_journey_window_boundaries_are_inclusive(journey):
    with journey.app_context():
        steps = visit_journey("visit-a", NOW - minutes(1))  # 31 minutes back is the window start
    assert NOW - minutes(31) in [step.at for step in steps]
    assert all(step.at <= NOW - minutes(1) for step in steps)


def test_detail_page_shows_the_request_and_its_journey(journey, manager):
    html = page(manager.get("/admin/contacts/KB-J"))
    assert "sara@example.com" in html.select_one(".facts").get_text()
    assert html.select_one(".contact-message").get_text() == "Where is my parcel?"
    steps = html.select("ol.journey > li")
    assert [step["class"][1] for step in steps] == [
        "journey-search",
        "journey-article-view",
        "journey-feedback",
        "journey-article-view",
        "journey-contact-flow",
        "journey-search",
    ]
    text = html.select_one("ol.journey").get_text(" ", strip=True)
    assert "parcel late" in text and "Track your order" in text and "no tracking link" in text
    assert "too early" not in text and "someone else" not in text and "after" not in text
    assert "25 minutes before" in steps[0].get_text(" ", strip=True)
    shown = [a["href"] for a in steps[0].select(".journey-shown a")]
    assert shown == ["/en/articles/track-order", "/en/articles/refund-timing"]


def test_customer_text_is_escaped(app, manager):
    with app.app_context():
        add_contact("KB-X", message="<script>alert(1)</script>", name="<b>Eve</b>")
    response = manager.get("/admin/contacts/KB-X")
    assert b"<script>alert(1)" not in response.data
    assert page(response).select_one(".contact-message").get_text() == "<script>alert(1)</script>"


def test_mark_handled_records_who_and_when_and_can_be_undone(app, manager):
    with app.app_context():
        add_contact("KB-H")
    detail = manager.get("/admin/contacts/KB-H")
    form = page(detail).find("form", action="/admin/contacts/KB-H/handled")
    assert form.find("input", attrs={"name": "handled"})["value"] == "yes"
    response = manager.post(
        "/admin/contacts/KB-H/handled", data={"handled": "yes", "csrf_token": csrf_token(detail)}
    )
    assert response.status_code == 302 and response.location == "/admin/contacts/KB-H"
    html = page(manager.get(response.location))
    assert "Handled by manager@kb.example" in html.find(id="handled-status").get_text()
    with app.app_context():
        stored = find_contact("KB-H")
    assert stored.handled_by == "manager@kb.example"
    assert dt.datetime.now(dt.UTC).replace(tzinfo=None) - stored.handled_at < minutes(1)

    manager.post(
        "/admin/contacts/KB-H/handled", data={"handled": "no", "csrf_token": csrf_token(detail)}
    )
    with app.app_context():
        stored = find_contact("KB-H")
    assert (stored.handled_at, stored.handled_by) == (None, None)
    with app.app_context():
        assert mark_unhandled("KB-NOPE") is None


def test_answer_is_chosen_from_the_published_articles_of_its_language(app, manager):
    with app.app_context():
        add_contact("KB-L")
        add_contact("KB-M", lang="ar")
    detail = manager.get("/admin/contacts/KB-L")
    options = page(detail).find("select", attrs={"name": "answer"}).find_all("option")
    # en/gift-cards is a draft.
    assert {o["value"] for o in options} == {
        "",
        "en/refund-timing",
        "en/reset-password",
        "en/track-order",
    }
    token = csrf_token(detail)
    response = manager.post(
        "/admin/contacts/KB-L/answer", data={"answer": "en/track-order", "csrf_token": token}
    )
    assert response.status_code == 302
    with app.app_context():
        assert find_contact("KB-L").answer_key == "en/track-order"
    html = page(manager.get("/admin/contacts/KB-L"))
    selected = html.find("select", attrs={"name": "answer"}).find("option", selected=True)
    assert selected["value"] == "en/track-order"

    # Another language's article (or a made-up key) is refused and changes nothing.
    for bad in ("ar/track-order", "en/no-such-article"):
        manager.post("/admin/contacts/KB-L/answer", data={"answer": bad, "csrf_token": token})
        with app.app_context():
            assert find_contact("KB-L").answer_key == "en/track-order"
    arabic = page(manager.get("/admin/contacts/KB-M")).find("select", attrs={"name": "answer"})
    assert "ar/card-declined" in {o["value"] for o in arabic.find_all("option")}

    manager.post("/admin/contacts/KB-L/answer", data={"answer": "", "csrf_token": token})
    with app.app_context():
        assert find_contact("KB-L").answer_key is None
        with pytest.raises(ContactError):
            link_answer("KB-L", "ar/track-order")


def test_only_managers_and_admins_see_contact_requests(app, client, staff):
    with app.app_context():
        add_contact("KB-W")
    assert client.get("/admin/contacts").status_code == 302  # to the login page
    log_in(client, staff["writer"])
    home = client.get("/admin/")
    assert page(home).find("a", href="/admin/contacts") is None
    for url in ("/admin/contacts", "/admin/contacts/KB-W"):
        response = client.get(url)
        assert response.status_code == 403
        assert b"sara@example.com" not in response.data
    token = csrf_token(client.get("/admin/password"))
    response = client.post(
        "/admin/contacts/KB-W/handled", data={"handled": "yes", "csrf_token": token}
    )
    assert response.status_code == 403
    with app.app_context():
        assert find_contact("KB-W").handled_at is None

    admin = app.test_client()
    log_in(admin, staff["admin"])
    assert admin.get("/admin/contacts/KB-W").status_code == 200
    assert page(admin.get("/admin/")).find("a", href="/admin/contacts")


def test_unknown_reference_is_not_found(manager):
    assert manager.get("/admin/contacts/KB-NOPE").status_code == 404
    assert manager.get("/admin/contacts/" + "X" * 300).status_code == 404
