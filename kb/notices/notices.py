"""Publish proactive notices (known issues, outages) and measure their effect on contacts.

A notice is active from ``starts_at`` (included) to ``ends_at`` (excluded), in UTC. It is shown
for its language; on a page about one category it is shown when its category is that category
or "all"; pages without a category (home, search, contact) show every active notice of the
language.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlalchemy.exc import SQLAlchemyError

from kb.contact.models import ContactRequest
from kb.errors import KBError
from kb.extensions import db
from kb.insights.models import utcnow
from kb.notices.models import Notice

logger = logging.getLogger(__name__)

ALL_TOPICS = "all"
TITLE_LIMIT = 200
TEXT_LIMIT = 1000
CATEGORY_LIMIT = 64
LANG_LIMIT = 8
PAST_SHOWN = 50


class NoticeError(KBError):
    """A notice cannot be saved or changed as asked."""


@dataclass(frozen=True)
class NoticeRecord:
    id: int
    title: str
    text: str
    lang: str
    category: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    created_by: str

    def status(self, now: dt.datetime | None = None) -> str:
        """The status at ``now`` (UTC): "scheduled", "active" or "past"."""
        now = now or utcnow()
        if now < self.starts_at:
            return "scheduled"
        return "active" if now < self.ends_at else "past"


@dataclass(frozen=True)
class NoticeBoard:
    """Every notice, by status at one moment (past: the most recent PAST_SHOWN)."""

    active: tuple[NoticeRecord, ...]
    scheduled: tuple[NoticeRecord, ...]
    past: tuple[NoticeRecord, ...]


@dataclass(frozen=True)
class NoticeEffect:
    """Contacts of the notice's language and topic while it was active and just before.

    The active window runs from the start to the end (or to now while still active); the
    "before" window has the same length and ends where the notice started. Both half-open.
    """

    window_start: dt.datetime
    window_end: dt.datetime
    hours: float
    contacts_during: int
    contacts_before_same_length: int

    @property
    def started(self) -> bool:
        return self.window_end > self.window_start


def create_notice(
    *,
    title: str,
    text: str,
    lang: str,
    category: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    by: str = "",
) -> NoticeRecord:
    """Validate and store a notice; raise NoticeError when a value is not acceptable."""
    values = _validated(title, text, lang, category, starts_at, ends_at)
    notice = Notice(**values, created_by=by[:254])
    db.session.add(notice)
    db.session.commit()
    return _record(notice)


def update_notice(
    notice_id: int,
    *,
    title: str,
    text: str,
    lang: str,
    category: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
) -> NoticeRecord | None:
    """Change every field of a notice; None if it does not exist."""
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        return None
    for name, value in _validated(title, text, lang, category, starts_at, ends_at).items():
        setattr(notice, name, value)
    db.session.commit()
    return _record(notice)


def end_notice(notice_id: int, now: dt.datetime | None = None) -> NoticeRecord | None:
    """Stop showing an active notice now; raise NoticeError if it is not active."""
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        return None
    now = now or utcnow()
    if _record(notice).status(now) != "active":
        raise NoticeError("only an active notice can be ended")
    notice.ends_at = now
    db.session.commit()
    return _record(notice)


def delete_notice(notice_id: int) -> bool:
    """Remove a notice for good; False if it did not exist."""
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        return False
    db.session.delete(notice)
    db.session.commit()
    return True


def get_notice(notice_id: int) -> NoticeRecord | None:
    notice = db.session.get(Notice, notice_id)
    return _record(notice) if notice is not None else None


def list_notices(now: dt.datetime | None = None) -> NoticeBoard:
    """Active notices (ending soonest first), scheduled (starting soonest first), recent past."""
    now = now or utcnow()
    active = db.session.scalars(
        db.select(Notice)
        .where(Notice.starts_at <= now, Notice.ends_at > now)
        .order_by(Notice.ends_at, Notice.id)
    )
    scheduled = db.session.scalars(
        db.select(Notice).where(Notice.starts_at > now).order_by(Notice.starts_at, Notice.id)
    )
    past = db.session.scalars(
        db.select(Notice)
        .where(Notice.starts_at <= now, Notice.ends_at <= now)
        .order_by(Notice.ends_at.desc(), Notice.id.desc())
        .limit(PAST_SHOWN)
    )
    return NoticeBoard(
        active=tuple(map(_record, active)),
        scheduled=tuple(map(_record, scheduled)),
        past=tuple(map(_record, past)),
    )


def active_notices(
    lang: str, category: str | None = None, now: dt.datetime | None = None
) -> list[NoticeRecord]:
    """Notices to show now in ``lang``: all of them, or those for ``category`` (and "all").

    Customer pages must open even when the database does not answer: then there are none.
    """
    now = now or utcnow()
    query = db.select(Notice).where(
        Notice.lang == lang, Notice.starts_at <= now, Notice.ends_at > now
    )
    if category:
        query = query.where(or_(Notice.category == ALL_TOPICS, Notice.category == category))
    try:
        notices = db.session.scalars(query.order_by(Notice.starts_at.desc(), Notice.id.desc()))
        return [_record(notice) for notice in notices]
    except SQLAlchemyError:
        db.session.rollback()
        logger.exception("active notices could not be read")
        return []


def notice_effect(notice_id: int, now: dt.datetime | None = None) -> NoticeEffect | None:
    """Contacts on the notice's topic while it was active vs. an equal window right before."""
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        return None
    now = now or utcnow()
    start = notice.starts_at
    end = max(start, min(notice.ends_at, now))
    length = end - start
    conditions = [ContactRequest.lang == notice.lang]
    if notice.category != ALL_TOPICS:
        conditions.append(ContactRequest.category == notice.category)

    def contacts(since: dt.datetime, until: dt.datetime) -> int:
        if until <= since:
            return 0
        return db.session.scalar(
            db.select(func.count(ContactRequest.id)).where(
                *conditions, ContactRequest.created_at >= since, ContactRequest.created_at < until
            )
        )

    return NoticeEffect(
        window_start=start,
        window_end=end,
        hours=round(length.total_seconds() / 3600, 1),
        contacts_during=contacts(start, end),
        contacts_before_same_length=contacts(start - length, start),
    )


def _validated(
    title: str,
    text: str,
    lang: str,
    category: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
) -> dict:
    title, text, lang, category = title.strip(), text.strip(), lang.strip(), category.strip()
    for name, value, limit in (
        ("title", title, TITLE_LIMIT),
        ("text", text, TEXT_LIMIT),
        ("language", lang, LANG_LIMIT),
        ("topic", category, CATEGORY_LIMIT),
    ):
        if not value:
            raise NoticeError(f"the {name} is missing")
        if len(value) > limit:
            raise NoticeError(f"the {name} is longer than {limit} characters")
    starts_at, ends_at = _utc(starts_at), _utc(ends_at)
    if ends_at <= starts_at:
        raise NoticeError("the end must be after the start")
    return {
        "title": title,
        "text": text,
        "lang": lang,
        "category": category,
        "starts_at": starts_at,
        "ends_at": ends_at,
    }


def _utc(moment: dt.datetime) -> dt.datetime:
    """Naive UTC, as every timestamp in the database (aware values are converted)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def _record(notice: Notice) -> NoticeRecord:
    return NoticeRecord(
        id=notice.id,
        title=notice.title,
        text=notice.text,
        lang=notice.lang,
        category=notice.category,
        starts_at=notice.starts_at,
        ends_at=notice.ends_at,
        created_by=notice.created_by,
    )
