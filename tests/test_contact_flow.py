"""The deflection flow: answers before the form, then a stored, traceable contact request."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kb.contact import find_contact
from kb.contact.models import ContactRequest
from kb.extensions import db
from kb.insights import searches_before_contact
from kb.insights.models import ContactFlow, SearchEvent

from .conftest import csrf_token, drop_table, page, textarea_text

FORM = {"name": "Sara", "email": "sara@example.com", "category": "orders"}


def submit(client, lang, question, **fields):
    form_page = client.get(f"/{lang}/contact", query_string={"q": question, "step": "form"})
    data = {**FORM, "message": question, "question": question, **fields}
    data["csrf_token"] = csrf_token(form_page)
    return client.post(f"/{lang}/contact", data=data)


@pytest.mark.parametrize(
    ("lang", "question", "label"),
    [
        ("en", "how long does a refund take", "What do you need help with?"),
        ("ar", "متى ترجع فلوسي", "وش تحتاج مساعدة فيه؟"),
    ],
)
def test_answers_appear_before_the_form(client, lang, question, label):
    first = page(client.get(f"/{lang}/contact"))
    assert first.find("label", attrs={"for": "question"}).get_text(strip=True) == label
    assert first.find("form", attrs={"method": "post", "action": f"/{lang}/contact"}) is None
    # The form is one click away, even before typing anything.
    still = first.find("button", attrs={"name": "step", "value": "form"})
    assert still.has_attr("formnovalidate") and still["formaction"].endswith("#contact-form")

    html = page(client.get(f"/{lang}/contact", query_string={"q": question}))
    suggestion = html.select_one(".suggestion details")
    assert suggestion.summary.get_text(strip=True)
    assert suggestion.select_one(".article-body").get_text(strip=True)  # opens in place
    assert suggestion.find("input", attrs={"name": "article"})["value"] == f"{lang}/refund-timing"
    assert html.find("form", attrs={"method": "post", "action": f"/{lang}/contact"}) is None
    still = html.find("button", attrs={"name": "step", "value": "form"})
    assert still is not None


def test_i_still_need_help_shows_the_form_prefilled_with_the_question(client):
    html = page(client.get("/en/contact", query_string={"q": "my parcel is late", "step": "form"}))
    form = html.find("form", attrs={"method": "post", "action": "/en/contact"})
    assert textarea_text(form, "message") == "my parcel is late"
    assert form.find("input", attrs={"name": "website"})  # honeypot
    assert form.find("input", attrs={"name": "csrf_token"})


def test_yes_this_solved_it_resolves_the_flow(app, client):
    html = client.get("/en/contact", query_string={"q": "forgot my password"})
    response = client.post(
        "/en/contact/solved",
        data={
            "article": "en/reset-password",
            "question": "forgot my password",
            "csrf_token": csrf_token(html),
        },
        follow_redirects=True,
    )
    assert "Glad we could help" in page(response).get_text()
    with app.app_context():
        flow = db.session.scalars(db.select(ContactFlow)).one()
    assert (flow.outcome, flow.resolved_key) == ("resolved", "en/reset-password")
    assert "en/reset-password" in flow.suggestions_shown


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_submitted_request_is_stored_and_confirmed_with_its_reference(app, client, lang):
    response = submit(client, lang, "my order 123456789 never arrived")
    assert response.status_code == 302 and response.location.endswith(f"/{lang}/contact/sent")
    confirmation = page(client.get(response.location))
    reference = confirmation.select_one(".reference").get_text(strip=True)
    with app.app_context():
        stored = find_contact(reference)
        flow = db.session.scalars(db.select(ContactFlow)).one()
    assert stored is not None and stored.email == "sara@example.com"
    assert stored.message == "my order 123456789 never arrived"  # the request keeps full text
    assert stored.lang == lang and stored.flow_id == flow.id
    assert flow.outcome == "contacted"


def test_a_contact_can_be_traced_to_the_searches_before_it(app, client):
    """search -> contact flow -> contact: the stored request joins to the visit's searches."""
    client.get("/en/search?q=refund not received")
    client.get("/en/contact", query_string={"q": "refund for order 12345678 still missing"})
    response = submit(client, "en", "refund for order 12345678 still missing")
    reference = page(client.get(response.location)).select_one(".reference").get_text(strip=True)

    other_visit = app.test_client()
    other_visit.get("/en/search?q=reset password")

    with app.app_context():
        contact = find_contact(reference)
        searches = searches_before_contact(contact.visit_id, contact.created_at)
        flow = db.session.get(ContactFlow, contact.flow_id)
    assert [(s.query, s.source) for s in searches] == [
        ("refund not received", "search"),
        ("refund for order [number] still missing", "contact"),
    ]
    assert searches[1].flow_id == flow.id
    assert "en/refund-timing" in searches[1].shown_keys


def test_invalid_form_keeps_everything_the_customer_typed(app, client):
    response = submit(client, "en", "help with my card", email="not-an-email")
    assert response.status_code == 400
    html = page(response)
    assert html.find("input", attrs={"name": "email"})["value"] == "not-an-email"
    assert textarea_text(html, "message") == "help with my card"
    assert html.find("input", attrs={"name": "email"})["aria-invalid"] == "true"
    with app.app_context():
        assert db.session.scalars(db.select(ContactRequest)).first() is None


def test_filled_honeypot_looks_successful_but_stores_nothing(app, client):
    response = submit(client, "en", "buy cheap watches", website="http://spam.example")
    assert response.status_code == 302
    assert page(client.get(response.location)).select_one(".reference")
    with app.app_context():
        assert db.session.scalars(db.select(ContactRequest)).first() is None


def test_missing_csrf_token_keeps_the_message(app, client):
    data = {**FORM, "message": "where is my refund", "question": ""}
    response = client.post("/en/contact", data=data)
    assert response.status_code == 400
    html = page(response)
    assert textarea_text(html, "message") == "where is my refund"
    assert html.select_one("[role=alert]")


def test_database_failure_shows_an_error_with_the_text_still_in_the_form(app, client):
    form_page = client.get("/en/contact", query_string={"q": "card charged twice", "step": "form"})
    with app.app_context():
        drop_table(ContactRequest.__table__)  # a real failure of the real database
    response = client.post(
        "/en/contact",
        data={
            **FORM,
            "message": "card charged twice",
            "question": "",
            "csrf_token": csrf_token(form_page),
        },
    )
    assert response.status_code == 503
    html = page(response)
    assert textarea_text(html, "message") == "card charged twice"
    assert "Nothing was lost" in html.select_one("[role=alert]").get_text()


def test_overlong_message_is_refused_not_stored(app, client):
    response = submit(client, "en", "x", message="x" * 5001)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalars(db.select(ContactRequest)).first() is None


def test_contact_searches_are_recorded_once_per_question(app, client):
    for _ in range(3):
        client.get("/en/contact", query_string={"q": "where is my order"})
    with app.app_context():
        events = db.session.scalars(db.select(SearchEvent)).all()
    assert [(e.query, e.source) for e in events] == [("where is my order", "contact")]


def test_resolving_from_live_suggestions_records_the_typed_question(app, client):
    """With JS the question was never submitted as a page; the solved form carries it."""
    html = client.get("/en/contact")
    client.get("/api/search?q=forgot my password&lang=en&limit=5&context=contact")
    client.post(
        "/en/contact/solved",
        data={
            "article": "en/reset-password",
            "question": "forgot my password",
            "csrf_token": csrf_token(html),
        },
    )
    with app.app_context():
        flow = db.session.scalars(db.select(ContactFlow)).one()
        events = db.session.scalars(db.select(SearchEvent)).all()
    assert (flow.outcome, flow.question) == ("resolved", "forgot my password")
    assert [(e.query, e.source, e.flow_id) for e in events] == [
        ("forgot my password", "contact", flow.id)
    ]


def test_rate_limited_contact_keeps_the_message(tmp_path, shared_index):
    from kb import create_app

    from .conftest import app_config

    app = create_app(
        app_config(
            tmp_path,
            INDEX_DIR=str(shared_index),
            RATELIMIT_ENABLED=True,
            CONTACT_RATE_LIMIT="2 per minute",
        )
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()
    statuses = [submit(client, "en", f"question {n}").status_code for n in range(3)]
    assert statuses == [302, 302, 429]
    html = page(submit(client, "en", "my fourth question"))
    assert textarea_text(html, "message") == "my fourth question"
    assert "wait a minute" in html.select_one("[role=alert]").get_text()
    with app.app_context():
        assert len(db.session.scalars(db.select(ContactRequest)).all()) == 2


def test_effort_survey_after_a_solved_problem_records_one_score(app, client):
    from kb.insights.models import EffortScore

    html = client.get("/en/contact", query_string={"q": "forgot my password"})
    resolved = client.post(
        "/en/contact/solved",
        data={"article": "en/reset-password", "csrf_token": csrf_token(html)},
        follow_redirects=True,
    )
    survey = page(resolved).select_one("form.effort-survey")
    assert survey.legend.get_text(strip=True) == "How easy was it to solve your problem?"
    assert [i["value"] for i in survey.find_all("input", attrs={"name": "score"})] == list(
        "1234567"
    )
    token = csrf_token(resolved)
    refused = client.post("/en/contact/effort", data={"score": "9", "csrf_token": token})
    assert refused.status_code == 302
    response = client.post(
        "/en/contact/effort",
        data={"score": "6", "article": "reset-password", "csrf_token": token},
        follow_redirects=True,
    )
    assert "Thank you for your answer." in page(response).get_text()
    assert page(response).select_one("form.effort-survey") is None
    client.post("/en/contact/effort", data={"score": "1", "csrf_token": token})  # only once
    with app.app_context():
        scores = db.session.scalars(db.select(EffortScore)).all()
        flow = db.session.scalars(db.select(ContactFlow)).one()
    assert [(s.score, s.flow_id, s.lang) for s in scores] == [(6, flow.id, "en")]


@pytest.mark.sqlite
def test_a_contact_request_is_fsynced_on_sqlite_and_searches_are_not(app, client):
    # synchronous=FULL (2) makes SQLite fsync the commit: a contact request survives a power
    # cut; searches are written with NORMAL (1), which survives a crash of kb, not of the OS.
    seen: dict[str, list[int]] = {}

    def note_sync_mode(connection, _cursor, statement, *_args):
        table = statement.split()[2] if statement.startswith("INSERT INTO") else None
        if table in ("contact_request", "search_event"):
            raw = connection.connection.dbapi_connection
            seen.setdefault(table, []).append(raw.execute("PRAGMA synchronous").fetchone()[0])

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note_sync_mode)
    try:
        assert submit(client, "ar", "متى ترجع فلوسي").status_code == 302
        client.get("/api/search", query_string={"q": "refund", "lang": "en"})
        client.get("/api/search", query_string={"q": "parcel", "lang": "en"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", note_sync_mode)
    assert seen["contact_request"] == [2]
    assert seen["search_event"] and set(seen["search_event"]) == {1}
