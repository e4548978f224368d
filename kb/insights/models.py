"""Event tables. Visits are anonymous: a random id from the signed session cookie, no IP."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class ChannelColumns:
    """Where the event came from (kb.insights.channels): "site", "widget" or "api".

    For the widget, also the host page it was opened on: origin and path only, never a query
    string or fragment. Rows from before migration 0006 are "site".
    """

    channel: Mapped[str] = mapped_column(String(8), default="site", server_default="site")
    host_origin: Mapped[str | None] = mapped_column(String(200))
    host_path: Mapped[str | None] = mapped_column(String(500))


class SearchEvent(ChannelColumns, db.Model):
    """A search as the customer typed it (redacted) and what they were shown."""

    __tablename__ = "search_event"
    # Composite indexes for the dashboard queries: migrations 0005 and 0006.
    __table_args__ = (
        # Covers the period's counts (see kb.insights.metrics) without reading the table.
        Index(
            "ix_search_event_created_at_lang",
            "created_at",
            "lang",
            "result_count",
            "visit_id",
            "id",
        ),
        Index("ix_search_event_visit_id_created_at", "visit_id", "created_at"),
        Index("ix_search_event_normalized_query_created_at", "normalized_query", "created_at"),
        Index("ix_search_event_channel_created_at", "channel", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    lang: Mapped[str] = mapped_column(String(8))
    query: Mapped[str] = mapped_column(String(300))
    normalized_query: Mapped[str] = mapped_column(String(300))
    result_count: Mapped[int]
    shown_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    # "search" page, "contact" flow or "api".
    source: Mapped[str] = mapped_column(String(16))
    flow_id: Mapped[int | None] = mapped_column(ForeignKey("contact_flow.id"), index=True)


class ArticleView(ChannelColumns, db.Model):
    __tablename__ = "article_view"
    __table_args__ = (
        # Covers views per article, visits and opened searches per period: migrations 0005, 0007.
        Index(
            "ix_article_view_created_at_article_key",
            "created_at",
            "article_key",
            "visit_id",
            "search_id",
        ),
        # Covers the readers (distinct visits) per article of a period: migration 0008.
        Index("ix_article_view_article_key_created_at", "article_key", "created_at", "visit_id"),
        Index("ix_article_view_channel_created_at", "channel", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    article_key: Mapped[str] = mapped_column(String(200))
    search_id: Mapped[int | None] = mapped_column(ForeignKey("search_event.id"), index=True)
    # 1-based rank of the article in that search's results.
    position: Mapped[int | None]


class Feedback(ChannelColumns, db.Model):
    __tablename__ = "feedback"
    # Votes of a few articles in a period (topic filter, edit impact): migration 0007.
    __table_args__ = (Index("ix_feedback_article_key_created_at", "article_key", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    article_key: Mapped[str] = mapped_column(String(200))
    helpful: Mapped[bool]
    comment: Mapped[str] = mapped_column(Text, default="")


class ContactFlow(ChannelColumns, db.Model):
    """One pass through "answers before the contact form".

    Its channel and host page are where it started; a contact request made from the flow
    belongs to the same channel (the dashboard reads it through ``flow_id``).
    """

    __tablename__ = "contact_flow"
    __table_args__ = (
        # Covers the flow counts of a period: migration 0005.
        Index("ix_contact_flow_started_at_lang", "started_at", "lang", "outcome", "updated_at"),
        Index("ix_contact_flow_channel_started_at", "channel", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[str] = mapped_column(String(32), index=True)
    lang: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    question: Mapped[str] = mapped_column(String(1000), default="")
    suggestions_shown: Mapped[list[str]] = mapped_column(JSON, default=list)
    # None while open; "resolved" (an answer solved it) or "contacted" (request submitted).
    outcome: Mapped[str | None] = mapped_column(String(16), index=True)
    resolved_key: Mapped[str | None] = mapped_column(String(200))


class EffortScore(db.Model):
    """A customer effort score (1-7) given after a contact flow was resolved in self-service."""

    __tablename__ = "effort_score"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 7", name="score_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[str] = mapped_column(String(32), index=True)
    # Unique: one score per flow, enforced by the database as well as by record_effort_score.
    flow_id: Mapped[int | None] = mapped_column(ForeignKey("contact_flow.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    lang: Mapped[str] = mapped_column(String(8))
    score: Mapped[int]
    # The channel of its flow (see ChannelColumns); the host page is the flow's.
    channel: Mapped[str] = mapped_column(String(8), default="site", server_default="site")


class SearchRollupColumns:
    """What both search roll-ups keep per complete UTC day (kb.insights.rollups)."""

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    lang: Mapped[str] = mapped_column(String(8), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    # shown_keys[0], the search's category under a topic filter; "" when nothing was shown.
    first_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    searches: Mapped[int]
    failed: Mapped[int]
    zero_results: Mapped[int]
    with_results: Mapped[int]
    clicked: Mapped[int]


class SearchDay(SearchRollupColumns, db.Model):
    """The searches of one complete UTC day, counted per language, channel, query and top result.

    A roll-up of SearchEvent (kb.insights.rollups): the year's top failed searches and content
    gaps read these instead of every search, and their flags ("failed", "clicked") are the ones
    kb.insights.metrics computes from the raw rows.
    """

    __tablename__ = "search_day"

    # After the shared columns (sort_order), so both tables' keys start with the day.
    normalized_query: Mapped[str] = mapped_column(String(300), primary_key=True, sort_order=1)


class SearchCountDay(SearchRollupColumns, db.Model):
    """SearchDay without the query: what the headline, channel and trend figures read."""

    __tablename__ = "search_count_day"


class RollupDay(db.Model):
    """A UTC day whose roll-ups exist (stale while it has a RollupStaleMark)."""

    __tablename__ = "rollup_day"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    computed_at: Mapped[dt.datetime | None]


class RollupStaleMark(db.Model):
    """A late event or a deletion changed the day's figures: roll it up again.

    Only ever inserted (and deleted by the roll-up that reads them): a customer's contact
    request or article view that marks a past day never waits for, or deadlocks with, a
    roll-up holding that day's rows.
    """

    __tablename__ = "rollup_stale_mark"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(index=True)


class VisitCountDay(db.Model):
    """Visits whose searches and article views all fall on one UTC day in one language and
    channel, counted per day, language and channel (kb.insights.rollups).

    The self-service score counts distinct visits, which do not add up across days, languages
    or channels; these visits do, as each is in exactly one row. The others are in VisitDay.
    """

    __tablename__ = "visit_count_day"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    # The search's language; for an article view, its key's ("ar/refund" -> "ar").
    lang: Mapped[str] = mapped_column(String(8), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    visits: Mapped[int]


class VisitDay(db.Model):
    """The other visits of a complete UTC day, by id: one row per language and channel used.

    A visit is here when it searched or read on more than one day, or in more than one
    language or channel in a day, so that counting these rows' distinct ids is exact.
    """

    __tablename__ = "visit_day"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    visit_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    lang: Mapped[str] = mapped_column(String(8), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)


class VisitKeyDay(db.Model):
    """The visits of a complete UTC day by article: the top result of their searches and the
    articles they read, one row per article, language, channel and visit.

    What the self-service score reads under a topic filter (the articles of a category), where
    a visit counts once however many of its articles are in the topic.
    """

    __tablename__ = "visit_key_day"

    # First, so that a topic's articles are ranges of the primary key.
    article_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    lang: Mapped[str] = mapped_column(String(8), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    visit_id: Mapped[str] = mapped_column(String(32), primary_key=True)
