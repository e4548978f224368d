"""Proactive notices: known issues and outages, shown above search and on the contact page."""

from __future__ import annotations

from kb.notices.notices import (
    ALL_TOPICS,
    TEXT_LIMIT,
    TITLE_LIMIT,
    NoticeBoard,
    NoticeEffect,
    NoticeError,
    NoticeRecord,
    active_notices,
    create_notice,
    delete_notice,
    end_notice,
    get_notice,
    list_notices,
    notice_effect,
    update_notice,
)

__all__ = [
    "ALL_TOPICS",
    "TEXT_LIMIT",
    "TITLE_LIMIT",
    "NoticeBoard",
    "NoticeEffect",
    "NoticeError",
    "NoticeRecord",
    "active_notices",
    "create_notice",
    "delete_notice",
    "end_notice",
    "get_notice",
    "list_notices",
    "notice_effect",
    "update_notice",
]
