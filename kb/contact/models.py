"""The stored contact request and its delivery to the support team, per channel."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db
from kb.insights.models import utcnow


class ContactRequest(db.Model):
    __tablename__ = "contact_request"
    # "Was there a contact in this visit within 30 minutes?": migration 0005.
    __table_args__ = (Index("ix_contact_request_visit_id_created_at", "visit_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the customer quotes to support; random so it reveals nothing about volume.
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    visit_id: Mapped[str] = mapped_column(String(32))
    flow_id: Mapped[int | None] = mapped_column(ForeignKey("contact_flow.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    lang: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    category: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(Text)
    # "pending" until `flask kb deliver` has passed it on to every configured channel, then
    # "delivered"; "failed" once a channel gave up; "simulated" rows are never delivered.
    delivery_status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    # Back office: when and by whom (staff e-mail address) the request was dealt with.
    handled_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    handled_by: Mapped[str | None] = mapped_column(String(254))
    # The article ("lang/slug") that would have answered it: feeds the content-gap list.
    answer_key: Mapped[str | None] = mapped_column(String(200), index=True)
    # When `flask kb purge` blanked name, e-mail and message (the rest is kept for metrics).
    purged_at: Mapped[dt.datetime | None]


class ContactDelivery(db.Model):
    """One channel's delivery of one request: attempts and the retry schedule."""

    __tablename__ = "contact_delivery"
    __table_args__ = (UniqueConstraint("request_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("contact_request.id"))
    # "email" or "webhook".
    channel: Mapped[str] = mapped_column(String(16))
    # "pending" (due at next_attempt_at), "delivered" or "failed" (gave up).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    last_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[dt.datetime | None]
