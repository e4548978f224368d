"""What customers type is stored on every database, PostgreSQL included.

PostgreSQL refuses a NUL character in text where SQLite stores it: a query with one was a 500
on PostgreSQL only. The PostgreSQL pass (`make test-postgres`) is where these tests matter.
"""

from __future__ import annotations

import pytest

from kb.extensions import db
from kb.insights.models import ContactFlow, SearchEvent


@pytest.mark.parametrize(
    ("path", "args"),
    [
        ("/en/search", {}),
        ("/api/search", {"lang": "en"}),
        ("/en/contact", {}),
    ],
)
def test_a_query_with_a_nul_character_is_answered_and_stored_without_it(app, client, path, args):
    response = client.get(path, query_string={"q": "refund\x00 card", **args})
    assert response.status_code == 200
    with app.app_context():
        stored = db.session.scalars(db.select(SearchEvent.query)).all()
    assert stored == ["refund card"]


def test_a_contact_question_with_a_nul_character_is_kept_without_it(app, client):
    client.get("/en/contact", query_string={"q": "card\x00 charged twice"})
    with app.app_context():
        questions = db.session.scalars(db.select(ContactFlow.question)).all()
    assert questions == ["card charged twice"]
