"""Active notices on customer pages, through one template global (``_notices.html``)."""

from __future__ import annotations

from flask import Blueprint

from kb.notices import NoticeRecord, active_notices
from kb.web.i18n import current_language

# No routes: registering it adds the template global to the app.
bp = Blueprint("notices", __name__)


@bp.app_template_global()
def current_notices(category: str | None = None) -> list[NoticeRecord]:
    """Notices to show now in the page's language (for ``category`` and "all", if given)."""
    return active_notices(current_language(), category)
