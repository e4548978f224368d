"""The help widget's own events: its panel opened or closed on a host page.

Everything the customer does inside the panel (searches, articles, contact flows) is recorded
by the usual functions with ``channel=widget``; these rows only say how often the panel was
opened, and on which host page, so "flows started" can be compared with "widget opened".
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db
from kb.insights.channels import WIDGET, Channel
from kb.insights.models import utcnow

WIDGET_EVENTS = ("open", "close")


class WidgetEvent(db.Model):
    """The panel opened or closed; table created by migration 0006."""

    __tablename__ = "widget_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    lang: Mapped[str] = mapped_column(String(8))
    # "open" or "close" (WIDGET_EVENTS).
    event: Mapped[str] = mapped_column(String(8))
    host_origin: Mapped[str | None] = mapped_column(String(200))
    host_path: Mapped[str | None] = mapped_column(String(500))


def record_widget_event(visit_id: str, lang: str, event: str, channel: Channel) -> int:
    """Store an open or close of the panel on ``channel``'s host page; return its id."""
    if event not in WIDGET_EVENTS:
        raise ValueError(f"event must be one of {WIDGET_EVENTS}, not {event!r}")
    if channel.name != WIDGET:
        raise ValueError("widget events happen in the widget channel")
    row = WidgetEvent(
        visit_id=visit_id,
        lang=lang,
        event=event,
        host_origin=channel.host_origin,
        host_path=channel.host_path,
    )
    db.session.add(row)
    db.session.commit()
    return row.id
