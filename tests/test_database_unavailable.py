"""When the database cannot store a contact request, the customer is told and keeps the text."""

from __future__ import annotations

import sqlite3
import time

import pytest

from kb import create_app
from kb.contact.models import ContactRequest
from kb.extensions import db

from .conftest import app_config, csrf_token, page, textarea_text

MESSAGE = "My order 1234 arrived broken, please help"
FIELDS = {"name": "Sara", "email": "sara@example.com", "category": "orders"}


def assert_error_with_text_kept(response) -> None:
    assert response.status_code == 503
    assert response.location is None  # no redirect to the success page
    html = page(response)
    assert "could not send your message" in html.select_one("[role=alert]").get_text()
    form = html.find("form", attrs={"method": "post", "action": "/en/contact"})
    assert textarea_text(form, "message") == MESSAGE
    assert form.find("input", attrs={"name": "name"})["value"] == "Sara"
    assert form.find("input", attrs={"name": "email"})["value"] == "sara@example.com"
    assert html.select_one(".reference") is None


@pytest.mark.sqlite
def test_locked_sqlite_shows_an_error_and_keeps_the_text(tmp_path, shared_index):
    database = tmp_path / "kb.sqlite3"
    app = create_app(app_config(tmp_path, INDEX_DIR=str(shared_index), SQLITE_BUSY_TIMEOUT=0.3))
    with app.app_context():
        db.create_all()
        assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["timeout"] == 0.3
    client = app.test_client()
    form_page = client.get("/en/contact", query_string={"q": MESSAGE, "step": "form"})
    data = {**FIELDS, "message": MESSAGE, "question": MESSAGE, "csrf_token": csrf_token(form_page)}

    blocker = sqlite3.connect(database, timeout=0, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        response = client.post("/en/contact", data=data)
        assert time.monotonic() - started < 5  # the short busy timeout, not a hung worker
        assert_error_with_text_kept(response)
        # No success page for a request that was not stored.
        assert client.get("/en/contact/sent").status_code == 302
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(ContactRequest.id))) == 0
    # Once the lock is gone, sending again works and is stored.
    retry = client.post("/en/contact", data=data)
    assert retry.status_code == 302 and retry.location.endswith("/en/contact/sent")
    with app.app_context():
        assert db.session.scalar(db.select(ContactRequest.message)) == MESSAGE
    app_engine_dispose(app)


def test_unreachable_postgresql_shows_an_error_and_keeps_the_text(tmp_path, shared_index):
    app = create_app(
        app_config(
            tmp_path,
            INDEX_DIR=str(shared_index),
            # Nothing listens on port 1: like a stopped server.
            DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2",
            WTF_CSRF_ENABLED=False,  # the form page itself needs the database
        )
    )
    client = app.test_client()
    started = time.monotonic()
    response = client.post("/en/contact", data={**FIELDS, "message": MESSAGE, "question": MESSAGE})
    assert time.monotonic() - started < 10
    assert_error_with_text_kept(response)
    assert client.get("/en/contact/sent").status_code == 302
    app_engine_dispose(app)


def app_engine_dispose(app) -> None:
    with app.app_context():
        db.engine.dispose()
