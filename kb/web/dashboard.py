"""Back office: the manager dashboard (DESIGN.md section 7 figures), its charts and CSV exports.

Charts are separate ``image/svg+xml`` responses shown with ``<img>``: pygal's SVG carries its
own ``<style>``, which the site's CSP (``style-src 'self'``) would block inline in a page; as an
image it is a document of its own that never runs script. Its response gets a CSP of its own
that allows only that inline style.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from kb.insights.channels import CHANNELS
from kb.insights.dashboard import (
    DEFAULT_DAYS,
    MAX_DAYS,
    TABLE_COLUMNS,
    Dashboard,
    csv_document,
    dashboard_data,
    period_of_days,
    table_rows,
)
from kb.insights.events import EFFORT_SCORES
from kb.insights.metrics import (
    BUCKETS,
    MIN_HOST_PAGE_FLOWS,
    Headline,
    effort_scores,
    trend,
)
from kb.insights.models import utcnow
from kb.web.admin import protect, requires
from kb.web.i18n import LANGUAGE_NAMES, current_language
from kb.web.services import library

bp = protect(Blueprint("dashboard", __name__, url_prefix="/admin/dashboard"))

# Only the SVG's own <style> may apply; no script, no fetching, no framing.
SVG_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
CHARTS = ("flows", "rates", "searches", "effort")
DATE_FORMAT = "%Y-%m-%d"


@dataclass(frozen=True)
class Figure:
    name: str
    label: str
    # "count", "rate" (a Metric shown in %), "ratio" (a Metric shown as a number), "effort".
    kind: str
    definition: str


FIGURES = {
    figure.name: figure
    for figure in (
        Figure(
            "started",
            _l("Contact flows started"),
            "count",
            _l("S: visits that opened the contact flow, counted in the period the flow started."),
        ),
        Figure(
            "resolved",
            _l("Resolved in self-service"),
            "count",
            _l("R: flows where the customer confirmed that an answer solved their problem."),
        ),
        Figure(
            "contacted",
            _l("Contacted"),
            "count",
            _l("C: flows that ended with a submitted contact request."),
        ),
        Figure(
            "abandoned",
            _l("Abandoned"),
            "count",
            _l(
                "A = S − R − C: flows left idle for 30 minutes without an outcome. "
                "They are never counted as deflected."
            ),
        ),
        Figure(
            "in_progress",
            _l("In progress"),
            "count",
            _l(
                "Open flows active in the last 30 minutes: the customer can still continue. "
                "S = R + C + A + in progress."
            ),
        ),
        Figure(
            "deflection",
            _l("Deflection rate"),
            "rate",
            _l(
                "R / (R + C): resolved flows among flows that ended either way. Abandoned flows "
                "are not in it, so read it together with the abandonment rate."
            ),
        ),
        Figure(
            "abandonment",
            _l("Abandonment rate"),
            "rate",
            _l("A / S: abandoned flows among all flows started."),
        ),
        Figure(
            "self_service",
            _l("Self-service score"),
            "ratio",
            _l(
                "Visits with a search or an article view / visits with a contact request. "
                "It can be higher than 1."
            ),
        ),
        Figure(
            "failed_searches",
            _l("Failed searches"),
            "rate",
            _l(
                "A failed search is a search followed by a contact request in the same visit "
                "within 30 minutes; shown as a share of all searches."
            ),
        ),
        Figure(
            "zero_results",
            _l("Zero-result rate"),
            "rate",
            _l("Searches that found no article / all searches."),
        ),
        Figure(
            "click_through",
            _l("Search click-through"),
            "rate",
            _l("Searches with at least one result opened / searches with results."),
        ),
        Figure(
            "effort",
            _l("Customer effort score (CES)"),
            "effort",
            _l(
                "After a flow was resolved in self-service, customers rate how easy it was "
                "from 1 (very difficult) to 7 (very easy). Mean = sum of scores / number of "
                "scores."
            ),
        ),
    )
}
# Deflection and abandonment are one group: they are always shown together.
FIGURE_GROUPS = (
    (
        "flows",
        _l("Contact flows"),
        ("started", "resolved", "contacted", "abandoned", "in_progress"),
    ),
    ("outcomes", _l("Deflection and abandonment"), ("deflection", "abandonment")),
    (
        "search",
        _l("Search"),
        ("self_service", "failed_searches", "zero_results", "click_through"),
    ),
    ("satisfaction", _l("Satisfaction"), ("effort",)),
)
COLUMN_LABELS = {
    "figure": _l("Figure"),
    "value": _l("Value"),
    "numerator": _l("Numerator"),
    "denominator": _l("Denominator"),
    "bucket_start": _l("From (UTC)"),
    "started": _l("Started"),
    "resolved": _l("Resolved"),
    "contacted": _l("Contacted"),
    "abandoned": _l("Abandoned"),
    "in_progress": _l("In progress"),
    "deflection": _l("Deflection rate"),
    "abandonment": _l("Abandonment rate"),
    "searches": _l("Searches"),
    "failed_searches": _l("Failed searches"),
    "failed": _l("Failed searches"),
    "zero_results": _l("Zero results"),
    "click_through": _l("Click-through"),
    "effort_mean": _l("CES mean"),
    "effort_count": _l("CES answers"),
    "query": _l("Query (normalised)"),
    "article": _l("Article key"),
    "title": _l("Title"),
    "category": _l("Topic"),
    "views": _l("Views"),
    "readers": _l("Readers"),
    "helpful_yes": _l("Helpful: yes"),
    "helpful_no": _l("Helpful: no"),
    "helpfulness": _l("Helpfulness"),
    "contacts_after_reading": _l("Contacts after reading"),
    "score": _l("Score"),
    "answers": _l("Answers"),
    "channel": _l("Channel"),
    "host_origin": _l("Site"),
    "host_path": _l("Page"),
}
CHANNEL_NAMES = {
    "site": _l("Help center"),
    "widget": _l("Widget"),
    "api": _l("API"),
}


@dataclass(frozen=True)
class Filters:
    first: dt.date
    last: dt.date
    lang: str | None
    category: str | None
    bucket: str
    channel: str | None = None

    def args(self) -> dict[str, str]:
        """The query string that selects these filters (for links, charts and exports)."""
        return {
            "since": self.first.isoformat(),
            "until": self.last.isoformat(),
            "lang": self.lang or "",
            "category": self.category or "",
            "bucket": self.bucket,
            "channel": self.channel or "",
        }


@bp.get("")
@requires("manager")
def index():
    filters, errors = read_filters()
    dashboard = None if errors else load(filters)
    page = render_template(
        "admin/dashboard.html",
        filters=filters,
        errors=errors,
        dashboard=dashboard,
        figures=FIGURES,
        figure_groups=FIGURE_GROUPS,
        labels=COLUMN_LABELS,
        charts=CHARTS,
        languages=language_choices(),
        categories=category_choices(),
        buckets=bucket_choices(),
        channels=channel_choices(),
        channel_names=CHANNEL_NAMES,
        min_host_page_flows=MIN_HOST_PAGE_FLOWS,
        article_link=article_link,
        edit_title=edit_title,
        category_name=category_name,
        effort_scores=list(EFFORT_SCORES),
        max_days=MAX_DAYS,
    )
    return page, 400 if errors else 200


@bp.get("/chart/<chart>.svg")
@requires("manager")
def chart(chart: str):
    if chart not in CHARTS:
        return plain_error(_("There is no such chart."), 404)
    filters, errors = read_filters()
    if errors:
        return plain_error(" ".join(errors), 400)
    response = Response(render_chart(chart, filters), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_SECURITY_POLICY
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/<table>.csv")
@requires("manager")
def export(table: str):
    if table not in TABLE_COLUMNS:
        return plain_error(_("There is no such table."), 404)
    filters, errors = read_filters()
    if errors:
        return plain_error(" ".join(errors), 400)
    dashboard = load(filters)
    header = [str(COLUMN_LABELS[column]) for column in TABLE_COLUMNS[table]]
    rows = table_rows(dashboard, table, title=lambda key: article_link(key)[0])
    if table == "headline":
        rows = [(str(FIGURES[name].label), *rest) for name, *rest in rows]
    if table == "channels":
        rows = [
            (str(CHANNEL_NAMES[channel]), str(FIGURES[name].label), *rest)
            for channel, name, *rest in rows
        ]
    scope = f"-{filters.lang}" if filters.lang else ""
    scope += f"-{filters.channel}" if filters.channel else ""
    name = f"kb-{table}-{filters.first:%Y%m%d}-{filters.last:%Y%m%d}{scope}.csv"
    response = Response(csv_document(header, rows), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response


# -- input ------------------------------------------------------------------------------------


def read_filters() -> tuple[Filters, list[str]]:
    """The filters of the query string, with a message for each one that is not valid.

    Defaults: the last DEFAULT_DAYS days up to today (UTC), every language, daily buckets.
    """
    errors: list[str] = []
    today = utcnow().date()
    last = read_date("until", today, _("The end date must be a date like 2024-03-31."), errors)
    default_first = last - dt.timedelta(days=DEFAULT_DAYS - 1)
    first = read_date(
        "since", default_first, _("The start date must be a date like 2024-03-01."), errors
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
    category = request.args.get("category", "") or None
    if category is not None and category not in dict(category_choices()):
        errors.append(_("Choose one of the topics offered."))
        category = None
    bucket = request.args.get("bucket", "") or "day"
    if bucket not in BUCKETS:
        errors.append(_("Show trends by day or by week."))
        bucket = "day"
    channel = request.args.get("channel", "") or None
    if channel is not None and channel not in CHANNELS:
        errors.append(_("Choose one of the channels offered."))
        channel = None
    if errors:
        first, last = min(first, last), max(first, last)
    filters = Filters(
        first=first, last=last, lang=lang, category=category, bucket=bucket, channel=channel
    )
    return filters, errors


def read_date(name: str, default: dt.date, message: str, errors: list[str]) -> dt.date:
    value = request.args.get(name, "").strip()
    if not value:
        return default
    try:
        return dt.datetime.strptime(value, DATE_FORMAT).date()
    except ValueError:
        errors.append(message)
        return default


def load(filters: Filters) -> Dashboard:
    return dashboard_data(
        period_of_days(filters.first, filters.last),
        filters.lang,
        filters.bucket,
        article_categories(),
        filters.category,
        channel=filters.channel,
    )


def article_categories() -> dict[str, str]:
    return {article.key: article.category for article in library().all()}


# -- charts -----------------------------------------------------------------------------------


def render_chart(name: str, filters: Filters) -> bytes:
    # Imported here: pygal costs every worker ~7 MB and 30 ms at start, and only managers
    # looking at the dashboard need it.
    from kb.insights import charts

    period = period_of_days(filters.first, filters.last)
    scope = (filters.lang, filters.category, article_categories())
    if name == "effort":
        summary = effort_scores(period, *scope, channel=filters.channel)
        return charts.bar_chart(
            _("Customer effort scores (1 very difficult, 7 very easy)"),
            [str(score) for score in EFFORT_SCORES],
            [(_("Answers"), summary.distribution)],
        )
    # Only the figures this chart draws.
    families = ("searches",) if name == "searches" else ("flows",)
    buckets = trend(period, filters.bucket, *scope, channel=filters.channel, families=families)
    x_labels = [bucket.period.start.strftime(DATE_FORMAT) for bucket in buckets]
    if name == "flows":
        return charts.line_chart(
            _("Contact flows"),
            x_labels,
            [
                (str(COLUMN_LABELS[column]), counts(buckets, column))
                for column in ("started", "resolved", "contacted", "abandoned")
            ],
        )
    columns = ("deflection", "abandonment")
    title = _("Deflection and abandonment")
    if name == "searches":
        columns = ("failed_searches", "zero_results", "click_through")
        title = _("Search")
    return charts.line_chart(
        title,
        x_labels,
        [(str(COLUMN_LABELS[column]), rates(buckets, column)) for column in columns],
        percent=True,
    )


def counts(buckets: Sequence[Headline], name: str) -> list[int]:
    return [getattr(bucket, name) for bucket in buckets]


def rates(buckets: Sequence[Headline], name: str) -> list[float | None]:
    return [getattr(bucket, name).value for bucket in buckets]


# -- presentation helpers ---------------------------------------------------------------------


def language_choices() -> list[tuple[str, str]]:
    return [("", _("All languages"))] + [
        (lang, LANGUAGE_NAMES.get(lang, lang)) for lang in current_app.config["LANGUAGES"]
    ]


def category_choices() -> list[tuple[str, str]]:
    languages = current_app.config["LANGUAGES"]
    found = sorted({c for lang in languages for c in library().categories(lang)})
    return [("", _("All topics"))] + [(c, category_name(c)) for c in found]


def channel_choices() -> list[tuple[str, str]]:
    return [("", _("All channels"))] + [(name, str(CHANNEL_NAMES[name])) for name in CHANNELS]


def bucket_choices() -> list[tuple[str, str]]:
    return [("day", _("By day")), ("week", _("By week (from Monday)"))]


def category_name(category: str) -> str:
    if not category:
        return "—"
    return library().category_name(category, current_language())


def article_link(key: str) -> tuple[str, str | None]:
    """The published article's title and public URL; its key and no URL when it is gone."""
    lang, _sep, slug = key.partition("/")
    article = library().get(lang, slug)
    if article is None:
        return key, None
    return article.title, url_for("public.article", lang=lang, slug=slug)


def edit_title(key: str) -> str:
    """An edited article's title (drafts too), or its key when it is gone."""
    lang, _sep, slug = key.partition("/")
    article = library().get(lang, slug, include_drafts=True)
    return article.title if article is not None else key


def plain_error(message: str, status: int) -> Response:
    return Response(message, status=status, mimetype="text/plain")
