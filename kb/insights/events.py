"""Recording and reading visit events. Callers pass plain values; rows never leave here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Insert, func, insert
from sqlalchemy.exc import IntegrityError

from kb.extensions import db
from kb.insights.channels import SITE_CHANNEL, Channel
from kb.insights.models import (
    ArticleView,
    ContactFlow,
    EffortScore,
    Feedback,
    SearchEvent,
    utcnow,
)
from kb.insights.redact import redact

# A flow idle this long is abandoned; a search this long before a contact is not its cause.
FLOW_IDLE = dt.timedelta(minutes=30)
QUERY_LIMIT = 300
COMMENT_LIMIT = 2000
EFFORT_SCORES = range(1, 8)


@dataclass(frozen=True)
class ContactFlowState:
    id: int
    lang: str
    question: str
    outcome: str | None
    suggestions_shown: tuple[str, ...]
    channel: str = "site"


@dataclass(frozen=True)
class SearchRecord:
    id: int
    created_at: dt.datetime
    lang: str
    query: str
    normalized_query: str
    result_count: int
    shown_keys: tuple[str, ...]
    source: str
    flow_id: int | None
    channel: str = "site"


# Every function below that creates a row takes ``channel`` (a kb.insights.Channel; None means
# kb's own pages) and stores its name and, for the widget, the host page with the row.


def record_search(
    visit_id: str,
    lang: str,
    query: str,
    result_count: int,
    shown_keys: list[str],
    source: str,
    flow_id: int | None = None,
    *,
    channel: Channel | None = None,
) -> int:
    """Store a search with its text redacted; return its id."""
    from kb.search import normalize_query

    safe_query = redact(query)[:QUERY_LIMIT]
    # A plain INSERT ... RETURNING, not an ORM object: every search writes one row, and the
    # ORM's unit of work and the re-read of the row after commit cost more than the search
    # itself (bench/http.py).
    search_id = (
        db.session.connection()
        .execute(
            _insert_search(),
            {
                "visit_id": visit_id,
                "created_at": utcnow(),
                "lang": lang,
                "query": safe_query,
                "normalized_query": normalize_query(safe_query)[:QUERY_LIMIT],
                "result_count": result_count,
                "shown_keys": list(shown_keys),
                "source": source,
                "flow_id": flow_id,
                **_channel_columns(channel),
            },
        )
        .scalar_one()
    )
    db.session.commit()
    return search_id


@cache
def _insert_search() -> Insert:
    # On the table, not the ORM class: the ORM's bulk-insert path costs as much as the write.
    table = SearchEvent.__table__
    return insert(table).returning(table.c.id)


def find_search(search_id: int, visit_id: str) -> SearchRecord | None:
    """The search, if it exists and belongs to this visit (ids in URLs are not trusted)."""
    event = db.session.get(SearchEvent, search_id)
    if event is None or event.visit_id != visit_id:
        return None
    return _search_record(event)


def record_article_view(
    visit_id: str,
    article_key: str,
    search_id: int | None = None,
    position: int | None = None,
    *,
    channel: Channel | None = None,
) -> None:
    """Store an article view, linked to the search it came from when that search is this visit's."""
    if search_id is not None and find_search(search_id, visit_id) is None:
        search_id = position = None
    db.session.add(
        ArticleView(
            visit_id=visit_id,
            article_key=article_key,
            search_id=search_id,
            position=position,
            **_channel_columns(channel),
        )
    )
    db.session.commit()


def record_feedback(
    visit_id: str, article_key: str, helpful: bool, *, channel: Channel | None = None
) -> int:
    feedback = Feedback(
        visit_id=visit_id, article_key=article_key, helpful=helpful, **_channel_columns(channel)
    )
    db.session.add(feedback)
    db.session.commit()
    return feedback.id


def add_feedback_comment(feedback_id: int, visit_id: str, comment: str) -> bool:
    """Attach "what was missing" to this visit's feedback; False if it is not theirs."""
    feedback = db.session.get(Feedback, feedback_id)
    if feedback is None or feedback.visit_id != visit_id:
        return False
    feedback.comment = redact(comment.strip())[:COMMENT_LIMIT]
    db.session.commit()
    return True


def start_contact_flow(visit_id: str, lang: str, *, channel: Channel | None = None) -> int:
    """Start a flow; its channel and host page are where the customer started it."""
    flow = ContactFlow(visit_id=visit_id, lang=lang, **_channel_columns(channel))
    db.session.add(flow)
    db.session.commit()
    return flow.id


def open_contact_flow(
    flow_id: int | None, visit_id: str, *, channel: Channel | None = None
) -> ContactFlowState | None:
    """This visit's flow if it is open, not idle for longer than FLOW_IDLE, and of ``channel``.

    A flow started on kb's pages is not continued in the widget, nor the other way round, so
    each flow counts in exactly one channel.
    """
    flow = _own_flow(flow_id, visit_id)
    if flow is None or flow.outcome is not None or utcnow() - flow.updated_at > FLOW_IDLE:
        return None
    if flow.channel != (channel or SITE_CHANNEL).name:
        return None
    return _flow_state(flow)


def attach_flow_suggestions(flow_id: int | None, visit_id: str, keys: list[str]) -> None:
    """Remember answers shown while the customer types (not a search of its own)."""
    flow = _own_flow(flow_id, visit_id)
    if flow is None:
        return
    _add_shown(flow, keys)
    db.session.commit()


def record_flow_question(
    flow_id: int,
    visit_id: str,
    question: str,
    result_count: int,
    keys: list[str],
    *,
    channel: Channel | None = None,
) -> int | None:
    """Record the flow's question as a search, once per distinct question; return its id.

    The search is in ``channel``, by default the flow's own channel and host page.
    """
    flow = _own_flow(flow_id, visit_id)
    if flow is None:
        return None
    safe_question = redact(question)[:1000]
    _add_shown(flow, keys)
    if safe_question == flow.question:
        db.session.commit()
        return None
    flow.question = safe_question
    return record_search(
        visit_id,
        flow.lang,
        question,
        result_count,
        keys,
        "contact",
        flow_id=flow.id,
        channel=channel or _flow_channel(flow),
    )


def _add_shown(flow: ContactFlow, keys: list[str]) -> None:
    shown = list(flow.suggestions_shown or [])
    flow.suggestions_shown = shown + [key for key in keys if key not in shown]
    flow.updated_at = utcnow()


def resolve_contact_flow(flow_id: int | None, visit_id: str, article_key: str) -> bool:
    """The customer said this answer solved their problem."""
    flow = _own_flow(flow_id, visit_id)
    if flow is None or flow.outcome is not None:
        return False
    flow.outcome = "resolved"
    flow.resolved_key = article_key
    db.session.commit()
    return True


def close_flow_as_contacted(flow_id: int | None, visit_id: str) -> int | None:
    """Mark the flow contacted without committing: the caller commits with the contact."""
    flow = _own_flow(flow_id, visit_id)
    if flow is None:
        return None
    flow.outcome = "contacted"
    return flow.id


def record_effort_score(
    visit_id: str, flow_id: int | None, score: int, *, channel: Channel | None = None
) -> bool:
    """Store the effort score (1-7) of this visit's resolved flow, once; False if not allowed.

    The score is in ``channel``, by default the channel its flow started in.
    """
    if isinstance(score, bool) or not isinstance(score, int) or score not in EFFORT_SCORES:
        return False
    flow = _own_flow(flow_id, visit_id)
    if flow is None or flow.outcome != "resolved":
        return False
    if db.session.scalar(db.select(EffortScore.id).where(EffortScore.flow_id == flow.id)):
        return False
    db.session.add(
        EffortScore(
            visit_id=visit_id,
            flow_id=flow.id,
            lang=flow.lang,
            score=score,
            channel=(channel or _flow_channel(flow)).name,
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # a concurrent request scored the same flow first
        return False
    return True


def searches_before_contact(visit_id: str, contacted_at: dt.datetime) -> list[SearchRecord]:
    """The visit's searches in the FLOW_IDLE window before a contact, oldest first."""
    events = db.session.scalars(
        db.select(SearchEvent)
        .where(
            SearchEvent.visit_id == visit_id,
            SearchEvent.created_at <= contacted_at,
            SearchEvent.created_at >= contacted_at - FLOW_IDLE,
        )
        .order_by(SearchEvent.created_at, SearchEvent.id)
    )
    return [_search_record(event) for event in events]


def popular_article_keys(lang: str, limit: int, days: int = 30) -> list[str]:
    """Most viewed article keys in ``lang`` over the last ``days`` days."""
    since = utcnow() - dt.timedelta(days=days)
    views = func.count(ArticleView.id)
    rows = db.session.execute(
        db.select(ArticleView.article_key, views)
        .where(ArticleView.created_at >= since, ArticleView.article_key.like(f"{lang}/%"))
        .group_by(ArticleView.article_key)
        .order_by(views.desc(), ArticleView.article_key)
        .limit(limit)
    )
    return [key for key, _ in rows]


def _channel_columns(channel: Channel | None) -> dict[str, str | None]:
    channel = channel or SITE_CHANNEL
    return {
        "channel": channel.name,
        "host_origin": channel.host_origin,
        "host_path": channel.host_path,
    }


def _flow_channel(flow: ContactFlow) -> Channel:
    return Channel(flow.channel or SITE_CHANNEL.name, flow.host_origin, flow.host_path)


def _own_flow(flow_id: int | None, visit_id: str) -> ContactFlow | None:
    if flow_id is None:
        return None
    flow = db.session.get(ContactFlow, flow_id)
    return flow if flow is not None and flow.visit_id == visit_id else None


def _flow_state(flow: ContactFlow) -> ContactFlowState:
    return ContactFlowState(
        id=flow.id,
        lang=flow.lang,
        question=flow.question,
        outcome=flow.outcome,
        suggestions_shown=tuple(flow.suggestions_shown or ()),
        channel=flow.channel,
    )


def _search_record(event: SearchEvent) -> SearchRecord:
    return SearchRecord(
        id=event.id,
        created_at=event.created_at,
        lang=event.lang,
        query=event.query,
        normalized_query=event.normalized_query,
        result_count=event.result_count,
        shown_keys=tuple(event.shown_keys or ()),
        source=event.source,
        flow_id=event.flow_id,
        channel=event.channel,
    )
