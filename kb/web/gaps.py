"""Back office: content gaps for writers (the questions that still end in a contact).

The ranking and its definitions are in :mod:`kb.insights.gaps`; this view reads the filters,
asks for the gaps and renders them with links to the editor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _

from kb.insights.dashboard import DEFAULT_DAYS, MAX_DAYS, csv_document, period_of_days
from kb.insights.gaps import ContentGap, content_gaps
from kb.insights.models import utcnow
from kb.web.admin import protect, requires
from kb.web.dashboard import language_choices, read_date
from kb.web.services import article_store, library

bp = protect(Blueprint("gaps", __name__, url_prefix="/admin/gaps"))

GAPS_SHOWN = 50
CSV_COLUMNS = (
    "lang",
    "query",
    "variants",
    "searches",
    "failed",
    "zero_results",
    "click_through",
    "shown",
    "opened",
    "linked",
    "top_article",
)


@dataclass(frozen=True)
class GapFilters:
    first: dt.date
    last: dt.date
    lang: str | None

    def args(self) -> dict[str, str]:
        return {
            "since": self.first.isoformat(),
            "until": self.last.isoformat(),
            "lang": self.lang or "",
        }


@bp.get("")
@requires("writer")
def index():
    filters, errors = read_filters()
    gaps = [] if errors else find_gaps(filters)
    page = render_template(
        "admin/gaps.html",
        filters=filters,
        errors=errors,
        gaps=gaps,
        languages=language_choices(),
        article_title=article_title,
        max_days=MAX_DAYS,
    )
    return page, 400 if errors else 200


@bp.get("/gaps.csv")
@requires("writer")
def export():
    filters, errors = read_filters()
    if errors:
        return Response(" ".join(errors), status=400, mimetype="text/plain")
    rows = [
        (
            gap.lang,
            gap.query,
            " | ".join(gap.variants),
            gap.searches,
            gap.failed,
            gap.zero_results,
            None if gap.click_through.value is None else round(gap.click_through.value, 4),
            counted(gap.shown),
            counted(gap.opened),
            counted(gap.linked),
            gap.top_article or "",
        )
        for gap in find_gaps(filters)
    ]
    scope = f"-{filters.lang}" if filters.lang else ""
    name = f"kb-content-gaps-{filters.first:%Y%m%d}-{filters.last:%Y%m%d}{scope}.csv"
    response = Response(csv_document(CSV_COLUMNS, rows), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def read_filters() -> tuple[GapFilters, list[str]]:
    """Period (default: the last DEFAULT_DAYS days, UTC) and language of the query string."""
    errors: list[str] = []
    last = read_date(
        "until", utcnow().date(), _("The end date must be a date like 2024-03-31."), errors
    )
    first = read_date(
        "since",
        last - dt.timedelta(days=DEFAULT_DAYS - 1),
        _("The start date must be a date like 2024-03-01."),
        errors,
    )
    if not errors:
        if last < first:
            errors.append(_("The start date must not be after the end date."))
        elif (last - first).days + 1 > MAX_DAYS:
            errors.append(_("Choose a period of at most %(days)d days.", days=MAX_DAYS))
    lang = request.args.get("lang", "") or None
    if lang is not None and lang not in current_app.config["LANGUAGES"]:
        errors.append(_("Choose one of the languages offered."))
        lang = None
    if errors:
        first, last = min(first, last), max(first, last)
    return GapFilters(first=first, last=last, lang=lang), errors


def find_gaps(filters: GapFilters) -> list[ContentGap]:
    existing = {article.key for article in article_store().articles()}
    period = period_of_days(filters.first, filters.last)
    return content_gaps(period, filters.lang, GAPS_SHOWN, existing_keys=existing)


def article_title(key: str) -> str | None:
    """The title of the article (drafts too); None when it no longer exists."""
    lang, _sep, slug = key.partition("/")
    article = library().get(lang, slug, include_drafts=True)
    return article.title if article is not None else None


def counted(items) -> str:
    return " | ".join(f"{item.key} ({item.count})" for item in items)
