"""The back office's view of contact requests: filter, page through, mark handled, link answers."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import func, or_

from kb.contact.models import ContactRequest
from kb.contact.requests import FIELD_LIMITS, StoredContact, stored_contact
from kb.errors import ContactError
from kb.extensions import db
from kb.insights.models import utcnow

PAGE_SIZE = 50
SEARCH_LIMIT = 200
ANSWER_KEY_LIMIT = 200


@dataclass(frozen=True)
class ContactFilters:
    """What the list shows; None means "any". Dates are UTC days, both ends included."""

    lang: str | None = None
    category: str | None = None
    handled: bool | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    text: str | None = None
    page: int = 1
    per_page: int = PAGE_SIZE


@dataclass(frozen=True)
class ContactPage:
    items: tuple[StoredContact, ...]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def list_contacts(filters: ContactFilters) -> ContactPage:
    """One page of the requests matching ``filters``, newest first."""
    conditions = _conditions(filters)
    total = db.session.scalar(db.select(func.count(ContactRequest.id)).where(*conditions))
    per_page = max(1, filters.per_page)
    number = max(1, filters.page)
    rows = db.session.scalars(
        db.select(ContactRequest)
        .where(*conditions)
        .order_by(ContactRequest.created_at.desc(), ContactRequest.id.desc())
        .limit(per_page)
        .offset((number - 1) * per_page)
    )
    return ContactPage(
        items=tuple(stored_contact(row) for row in rows),
        number=number,
        per_page=per_page,
        total=total or 0,
    )


def mark_handled(reference: str, by: str) -> StoredContact | None:
    """Record that staff member ``by`` dealt with the request; None if there is no such request."""
    request = _request(reference)
    if request is None:
        return None
    request.handled_at = utcnow()
    request.handled_by = by[: FIELD_LIMITS["email"]]
    db.session.commit()
    return stored_contact(request)


def mark_unhandled(reference: str) -> StoredContact | None:
    """Put the request back on the open list."""
    request = _request(reference)
    if request is None:
        return None
    request.handled_at = None
    request.handled_by = None
    db.session.commit()
    return stored_contact(request)


def link_answer(reference: str, key: str | None) -> StoredContact | None:
    """Link the article (key "lang/slug" in the request's language) that would have answered it.

    An empty key removes the link. Raises ContactError for an article in another language.
    """
    request = _request(reference)
    if request is None:
        return None
    if key:
        if len(key) > ANSWER_KEY_LIMIT or not key.startswith(f"{request.lang}/"):
            raise ContactError(f"{key!r} is not an article in the request's language")
        request.answer_key = key
    else:
        request.answer_key = None
    db.session.commit()
    return stored_contact(request)


def _request(reference: str) -> ContactRequest | None:
    if not reference or len(reference) > 16:
        return None
    return db.session.scalar(db.select(ContactRequest).where(ContactRequest.reference == reference))


def _conditions(filters: ContactFilters) -> list:
    conditions = []
    if filters.lang:
        conditions.append(ContactRequest.lang == filters.lang)
    if filters.category is not None:
        conditions.append(ContactRequest.category == filters.category)
    if filters.handled is True:
        conditions.append(ContactRequest.handled_at.is_not(None))
    elif filters.handled is False:
        conditions.append(ContactRequest.handled_at.is_(None))
    if filters.since:
        conditions.append(ContactRequest.created_at >= _midnight(filters.since))
    if filters.until:
        conditions.append(
            ContactRequest.created_at < _midnight(filters.until + dt.timedelta(days=1))
        )
    text = (filters.text or "").strip()[:SEARCH_LIMIT]
    if text:
        pattern = "%" + _escape_like(text) + "%"
        conditions.append(
            or_(
                ContactRequest.message.ilike(pattern, escape="\\"),
                ContactRequest.email.ilike(pattern, escape="\\"),
            )
        )
    return conditions


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min)


def _escape_like(text: str) -> str:
    """Make % and _ match themselves, so a search is always a plain substring search."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
