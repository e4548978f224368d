"""A visit's journey before a moment (usually a contact request), as one time-ordered list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kb.extensions import db
from kb.insights.events import FLOW_IDLE
from kb.insights.models import ArticleView, ContactFlow, Feedback, SearchEvent

# Steps of the same second keep the order a customer goes through them.
KIND_ORDER = {"contact_flow": 0, "search": 1, "article_view": 2, "feedback": 3}


@dataclass(frozen=True)
class JourneyStep:
    """One thing the visitor did. ``kind`` says which of the optional fields are filled in.

    - "search": query, source ("search", "contact", "api"), result_count, shown_keys
    - "article_view": article_key, from_query (the search it was opened from) and position
    - "feedback": article_key, helpful, comment
    - "contact_flow": query (the flow's last question), shown_keys (every answer suggested
      during the flow, including those shown while typing), outcome
    """

    at: dt.datetime
    kind: str
    query: str = ""
    source: str = ""
    result_count: int | None = None
    shown_keys: tuple[str, ...] = ()
    article_key: str = ""
    from_query: str | None = None
    position: int | None = None
    helpful: bool | None = None
    comment: str = ""
    outcome: str | None = None


def visit_journey(
    visit_id: str, until: dt.datetime, window: dt.timedelta = FLOW_IDLE
) -> list[JourneyStep]:
    """What the visit did in ``window`` (30 minutes) up to ``until``, oldest first.

    A contact flow belongs to the journey when it was open at some time in the window (it may
    have started earlier: customers can take a while to describe their problem).
    """
    since = until - window
    steps = [
        *_searches(visit_id, since, until),
        *_article_views(visit_id, since, until),
        *_feedback(visit_id, since, until),
        *_contact_flows(visit_id, since, until),
    ]
    steps.sort(key=lambda step: (step.at, KIND_ORDER[step.kind]))
    return steps


def _searches(visit_id: str, since: dt.datetime, until: dt.datetime) -> list[JourneyStep]:
    events = db.session.scalars(
        db.select(SearchEvent)
        .where(
            SearchEvent.visit_id == visit_id,
            SearchEvent.created_at >= since,
            SearchEvent.created_at <= until,
        )
        .order_by(SearchEvent.created_at, SearchEvent.id)
    )
    return [
        JourneyStep(
            at=event.created_at,
            kind="search",
            query=event.query,
            source=event.source,
            result_count=event.result_count,
            shown_keys=tuple(event.shown_keys or ()),
        )
        for event in events
    ]


def _article_views(visit_id: str, since: dt.datetime, until: dt.datetime) -> list[JourneyStep]:
    rows = db.session.execute(
        db.select(ArticleView, SearchEvent.query)
        .outerjoin(SearchEvent, SearchEvent.id == ArticleView.search_id)
        .where(
            ArticleView.visit_id == visit_id,
            ArticleView.created_at >= since,
            ArticleView.created_at <= until,
        )
        .order_by(ArticleView.created_at, ArticleView.id)
    )
    return [
        JourneyStep(
            at=view.created_at,
            kind="article_view",
            article_key=view.article_key,
            from_query=query,
            position=view.position,
        )
        for view, query in rows
    ]


def _feedback(visit_id: str, since: dt.datetime, until: dt.datetime) -> list[JourneyStep]:
    rows = db.session.scalars(
        db.select(Feedback)
        .where(
            Feedback.visit_id == visit_id,
            Feedback.created_at >= since,
            Feedback.created_at <= until,
        )
        .order_by(Feedback.created_at, Feedback.id)
    )
    return [
        JourneyStep(
            at=row.created_at,
            kind="feedback",
            article_key=row.article_key,
            helpful=row.helpful,
            comment=row.comment,
        )
        for row in rows
    ]


def _contact_flows(visit_id: str, since: dt.datetime, until: dt.datetime) -> list[JourneyStep]:
    flows = db.session.scalars(
        db.select(ContactFlow)
        .where(
            ContactFlow.visit_id == visit_id,
            ContactFlow.started_at <= until,
            ContactFlow.updated_at >= since,
        )
        .order_by(ContactFlow.started_at, ContactFlow.id)
    )
    return [
        JourneyStep(
            at=flow.started_at,
            kind="contact_flow",
            query=flow.question,
            shown_keys=tuple(flow.suggestions_shown or ()),
            outcome=flow.outcome,
        )
        for flow in flows
    ]
