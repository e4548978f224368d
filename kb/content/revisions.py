"""Article revisions: who changed which article file when, with its full text before and after.

The article files stay the source of truth; a revision is the history of one editor action,
kept so that changes can be read as diffs, restored, and set against the metrics.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db
from kb.insights.models import utcnow

ACTIONS = ("create", "edit", "unpublish", "publish", "restore")
DIFF_CONTEXT_LINES = 3


class ArticleRevision(db.Model):
    __tablename__ = "article_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "lang/slug", the article's key.
    article_key: Mapped[str] = mapped_column(String(80), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # The e-mail address of the back-office user.
    author: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(16))
    # The whole file before the change (None when the action created the file) and after it.
    content_before: Mapped[str | None] = mapped_column(Text)
    content_after: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class Revision:
    id: int
    article_key: str
    created_at: dt.datetime
    author: str
    action: str
    content_before: str | None
    content_after: str

    def diff(self) -> list[DiffLine]:
        return diff_lines(self.content_before, self.content_after)


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff: ``kind`` is "same", "added", "removed" or "gap" (skipped lines)."""

    kind: str
    text: str = ""
    old_number: int | None = None
    new_number: int | None = None


def record_revision(
    article_key: str, author: str, action: str, before: str | None, after: str
) -> ArticleRevision:
    """Add a revision to the session (the caller commits once the file is written)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown revision action {action!r}")
    row = ArticleRevision(
        article_key=article_key,
        author=author,
        action=action,
        content_before=before,
        content_after=after,
    )
    db.session.add(row)
    db.session.flush()
    return row


def list_revisions(article_key: str, limit: int = 100) -> list[Revision]:
    """The article's revisions, newest first."""
    rows = db.session.scalars(
        db.select(ArticleRevision)
        .where(ArticleRevision.article_key == article_key)
        .order_by(ArticleRevision.created_at.desc(), ArticleRevision.id.desc())
        .limit(limit)
    )
    return [as_revision(row) for row in rows]


def get_revision(article_key: str, revision_id: int) -> Revision | None:
    row = db.session.get(ArticleRevision, revision_id)
    if row is None or row.article_key != article_key:
        return None
    return as_revision(row)


def as_revision(row: ArticleRevision) -> Revision:
    return Revision(
        id=row.id,
        article_key=row.article_key,
        created_at=row.created_at,
        author=row.author,
        action=row.action,
        content_before=row.content_before,
        content_after=row.content_after,
    )


def diff_lines(before: str | None, after: str) -> list[DiffLine]:
    """A line diff of two file texts with a few lines of context around each change."""
    old = (before or "").splitlines()
    new = after.splitlines()
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for number, group in enumerate(matcher.get_grouped_opcodes(DIFF_CONTEXT_LINES)):
        if number or group[0][1] > 0:
            lines.append(DiffLine("gap"))
        for tag, old_start, old_end, new_start, new_end in group:
            if tag == "equal":
                for offset, text in enumerate(old[old_start:old_end]):
                    lines.append(
                        DiffLine("same", text, old_start + offset + 1, new_start + offset + 1)
                    )
                continue
            for offset, text in enumerate(old[old_start:old_end]):
                lines.append(DiffLine("removed", text, old_number=old_start + offset + 1))
            for offset, text in enumerate(new[new_start:new_end]):
                lines.append(DiffLine("added", text, new_number=new_start + offset + 1))
    return lines
