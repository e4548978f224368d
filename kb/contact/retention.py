"""Data retention: blank contact PII and delete old events (what `flask kb purge` does).

A purged contact request keeps its reference, time, language, topic, handling, answer link and
delivery record (the metrics need them); its name, e-mail address and message become empty.
Events older than the cut-off are deleted outright; links from newer rows to them are cleared
first, so foreign keys hold on every database.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, update

from kb.contact.models import ContactDelivery, ContactRequest
from kb.extensions import db
from kb.insights import rollups
from kb.insights.models import (
    ArticleView,
    ContactFlow,
    EffortScore,
    Feedback,
    SearchEvent,
    utcnow,
)
from kb.insights.widget import WidgetEvent

PURGED_ERROR = "purged before delivery"


def purge(older_than_days: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Purge what was created more than ``older_than_days`` days before ``now``; counts per table.

    A row exactly at the cut-off is kept ("older than" is strict).
    """
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    cutoff = (now or utcnow()) - dt.timedelta(days=older_than_days)
    counts = {"contact_request": _purge_contacts(cutoff, now or utcnow())}

    old_searches = db.select(SearchEvent.id).where(SearchEvent.created_at < cutoff)
    old_flows = db.select(ContactFlow.id).where(ContactFlow.started_at < cutoff)
    counts["article_view"] = _delete(ArticleView, ArticleView.created_at < cutoff)
    _run(update(ArticleView).where(ArticleView.search_id.in_(old_searches)).values(search_id=None))
    counts["feedback"] = _delete(Feedback, Feedback.created_at < cutoff)
    counts["effort_score"] = _delete(EffortScore, EffortScore.created_at < cutoff)
    _run(update(EffortScore).where(EffortScore.flow_id.in_(old_flows)).values(flow_id=None))
    counts["search_event"] = _delete(SearchEvent, SearchEvent.created_at < cutoff)
    _run(update(SearchEvent).where(SearchEvent.flow_id.in_(old_flows)).values(flow_id=None))
    _run(update(ContactRequest).where(ContactRequest.flow_id.in_(old_flows)).values(flow_id=None))
    counts["contact_flow"] = _delete(ContactFlow, ContactFlow.started_at < cutoff)
    counts["widget_event"] = _delete(WidgetEvent, WidgetEvent.created_at < cutoff)
    # The dashboard's daily roll-ups of those days (a view stamped up to a day before its
    # search makes the next day's searches "clicked") are computed again when next read.
    rollups.mark_stale_through((cutoff + rollups.ONE_DAY).date())
    db.session.commit()
    return counts


def _purge_contacts(cutoff: dt.datetime, now: dt.datetime) -> int:
    old = db.select(ContactRequest.id).where(
        ContactRequest.created_at < cutoff, ContactRequest.purged_at.is_(None)
    )
    ids = list(db.session.scalars(old))
    if not ids:
        return 0
    # Never deliver a blanked request: its pending deliveries end here.
    _run(
        update(ContactDelivery)
        .where(ContactDelivery.request_id.in_(ids), ContactDelivery.status == "pending")
        .values(status="failed", next_attempt_at=None, last_error=PURGED_ERROR)
    )
    _run(
        update(ContactRequest)
        .where(ContactRequest.id.in_(ids), ContactRequest.delivery_status == "pending")
        .values(delivery_status="failed")
    )
    _run(
        update(ContactRequest)
        .where(ContactRequest.id.in_(ids))
        .values(name="", email="", message="", purged_at=now)
    )
    return len(ids)


def _delete(model, condition) -> int:
    return _run(delete(model).where(condition)).rowcount or 0


def _run(statement):
    # Bulk statements: no ORM session synchronisation (nothing purged is loaded here).
    return db.session.execute(statement, execution_options={"synchronize_session": False})
