"""Event recording rules: redaction, visit ownership, the 30-minute attribution window."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.extensions import db
from kb.insights import (
    open_contact_flow,
    record_search,
    redact,
    resolve_contact_flow,
    searches_before_contact,
    start_contact_flow,
)
from kb.insights.models import SearchEvent, utcnow


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("refund to sara.k+shop@mail.example.com please", "refund to [email] please"),
        ("call me on +971 50 123 4567", "call me on [phone]"),
        ("جوالي 0501234567 ما يرد", "جوالي [phone] ما يرد"),
        ("card 4111 1111 1111 1111 declined", "card [card] declined"),
        ("order 98765432 late", "order [number] late"),
        ("الطلب رقم ١٢٣٤٥٦٧ متأخر", "الطلب رقم [number] متأخر"),
        ("iphone 15 pro 256gb", "iphone 15 pro 256gb"),
        ("return within 14 days", "return within 14 days"),
    ],
)
def test_personal_data_is_redacted_before_storage(text, expected):
    assert redact(text) == expected


def test_stored_search_is_redacted_and_normalised(app):
    with app.app_context():
        record_search("v1", "ar", "وين طلبي رقم 55512345؟ إيميلي a@b.example", 0, [], "search")
        event = db.session.scalars(db.select(SearchEvent)).one()
    assert event.query == "وين طلبي رقم [number]؟ إيميلي [email]"
    assert "55512345" not in event.normalized_query and "a@b" not in event.normalized_query


def test_only_searches_of_the_same_visit_within_30_minutes_are_attributed(app):
    with app.app_context():
        now = utcnow()
        for visit, minutes, query in [
            ("v1", 45, "too early"),
            ("v1", 20, "in window"),
            ("v2", 10, "other visit"),
            ("v1", -5, "after the contact"),
        ]:
            record_search(visit, "en", query, 1, [], "search")
            event = db.session.scalars(
                db.select(SearchEvent).order_by(SearchEvent.id.desc())
            ).first()
            event.created_at = now - dt.timedelta(minutes=minutes)
            db.session.commit()
        found = searches_before_contact("v1", now)
    assert [s.query for s in found] == ["in window"]


def test_a_flow_belongs_to_its_visit_and_resolves_once(app):
    with app.app_context():
        flow_id = start_contact_flow("v1", "en")
        assert open_contact_flow(flow_id, "someone-else") is None
        assert resolve_contact_flow(flow_id, "someone-else", "en/x") is False
        assert resolve_contact_flow(flow_id, "v1", "en/x") is True
        assert resolve_contact_flow(flow_id, "v1", "en/y") is False
        assert open_contact_flow(flow_id, "v1") is None  # closed flows are not reopened
