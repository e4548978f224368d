"""The stored contact request."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db
from kb.insights.models import utcnow


class ContactRequest(db.Model):
    __tablename__ = "contact_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the customer quotes to support; random so it reveals nothing about volume.
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    visit_id: Mapped[str] = mapped_column(String(32), index=True)
    flow_id: Mapped[int | None] = mapped_column(ForeignKey("contact_flow.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    lang: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    category: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(Text)
    # "pending" until `flask kb deliver` has passed it on by e-mail or webhook.
    delivery_status: Mapped[str] = mapped_column(String(16), default="pending")
    # Back office: when and by whom (staff e-mail address) the request was dealt with.
    handled_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    handled_by: Mapped[str | None] = mapped_column(String(254))
    # The article ("lang/slug") that would have answered it: feeds the content-gap list.
    answer_key: Mapped[str | None] = mapped_column(String(200), index=True)
