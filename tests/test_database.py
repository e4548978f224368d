"""Migrations match the models, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from kb import create_app
from kb.contact import find_contact
from kb.insights import searches_before_contact

from .conftest import app_config, csrf_token, page


def migrated_app(tmp_path, shared_index, database_url):
    app = create_app(app_config(tmp_path, DATABASE_URL=database_url, INDEX_DIR=str(shared_index)))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output  # the migrations describe the models exactly
    return app


def walk_a_visit_to_a_contact(app) -> None:
    client = app.test_client()
    client.get("/en/search?q=refund")
    form_page = client.get("/en/contact", query_string={"q": "refund missing", "step": "form"})
    response = client.post(
        "/en/contact",
        data={
            "name": "Sam",
            "email": "sam@example.com",
            "message": "refund missing",
            "question": "refund missing",
            "csrf_token": csrf_token(form_page),
        },
    )
    reference = page(client.get(response.location)).select_one(".reference").get_text(strip=True)
    with app.app_context():
        contact = find_contact(reference)
        searches = searches_before_contact(contact.visit_id, contact.created_at)
    assert [(s.query, s.source) for s in searches] == [
        ("refund", "search"),
        ("refund missing", "contact"),
    ]


@pytest.mark.sqlite
def test_sqlite_migrations_create_the_schema_the_app_uses(tmp_path, shared_index):
    app = migrated_app(tmp_path, shared_index, f"sqlite:///{tmp_path / 'migrated.sqlite3'}")
    walk_a_visit_to_a_contact(app)


@pytest.mark.postgres
def test_postgresql_migrations_and_the_contact_trace(tmp_path, shared_index, postgres_url):
    app = migrated_app(tmp_path, shared_index, postgres_url)
    walk_a_visit_to_a_contact(app)
    with app.app_context():
        from kb.extensions import db

        db.engine.dispose()
