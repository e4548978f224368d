"""The manager dashboard's figures for one period, and its tables as CSV.

The figures themselves (and their definitions) are in :mod:`kb.insights.metrics`; this module
only gathers them for one choice of filters and lays them out as tables for export.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from kb.insights.events import EFFORT_SCORES
from kb.insights.impact import Edit, recent_edits
from kb.insights.metrics import (
    ArticleRow,
    FailedQuery,
    Headline,
    HostPage,
    Metric,
    Period,
    article_table,
    every_channel,
    headline,
    headline_by_channel,
    host_pages_by_deflection,
    host_pages_by_flows,
    lowest_helpfulness,
    most_contacts_after_reading,
    self_service_score,
    top_failed_searches,
    trend,
)
from kb.notices import NoticeEffect, NoticeRecord, list_notices, notice_effect

# The longest period the dashboard computes at once (a year, leap day included).
MAX_DAYS = 366
DEFAULT_DAYS = 30
TOP_QUERIES = 20
# The trend tables and their CSV export show every headline figure but the self-service
# score, whose distinct visits per bucket are not counted.
TREND_FAMILIES = ("flows", "searches", "effort")
TOP_ARTICLES = 10
RECENT_EDITS = 10
RECENT_NOTICES = 10
TOP_HOST_PAGES = 10
# Cells starting with these are formulas to a spreadsheet (customers type the queries).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Dashboard:
    period: Period
    lang: str | None
    category: str | None
    bucket: str
    headline: Headline
    trend: tuple[Headline, ...]
    failed_queries: tuple[FailedQuery, ...]
    articles: tuple[ArticleRow, ...]
    most_contacts: tuple[ArticleRow, ...]
    least_helpful: tuple[ArticleRow, ...]
    # Article revisions made in the period (newest first) with their edit impact.
    recent_edits: tuple[Edit, ...] = ()
    # Notices shown during the period, with contacts on their topic while shown vs before.
    notices: tuple[NoticeImpact, ...] = ()
    # The channel filter (None: every channel) and the headline figures of each channel
    # (only the chosen one under a channel filter).
    channel: str | None = None
    by_channel: tuple[Headline, ...] = ()
    # Widget host pages where most contact flows started / with the lowest deflection rate.
    host_pages_by_flows: tuple[HostPage, ...] = ()
    host_pages_by_deflection: tuple[HostPage, ...] = ()


@dataclass(frozen=True)
class NoticeImpact:
    notice: NoticeRecord
    effect: NoticeEffect


def period_of_days(first: dt.date, last: dt.date) -> Period:
    """The UTC days ``first`` to ``last``, both included; at most MAX_DAYS of them."""
    if last < first:
        raise ValueError("the period ends before it starts")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValueError(f"the period is longer than {MAX_DAYS} days")
    start = dt.datetime.combine(first, dt.time())
    return Period(start, dt.datetime.combine(last, dt.time()) + dt.timedelta(days=1))


def dashboard_data(
    period: Period,
    lang: str | None = None,
    bucket: str = "day",
    article_categories: Mapping[str, str] | None = None,
    category: str | None = None,
    *,
    now: dt.datetime | None = None,
    channel: str | None = None,
) -> Dashboard:
    """Every figure, trend and table of the dashboard for these filters.

    The channel filter applies to every figure, trend and table except recent edits and
    notices, which are about articles and topics, not about where customers came from.
    """
    scope = (lang, category, article_categories)
    articles = article_table(period, *scope, channel=channel)
    if channel is None:
        by_channel = tuple(headline_by_channel(period, *scope, now=now).values())
        # Added up from the channels: only the self-service visits need a query of their own.
        overall = every_channel(by_channel, self_service_score(period, *scope))
    else:
        overall = headline(period, *scope, now=now, channel=channel)
        by_channel = (overall,)
    return Dashboard(
        period=period,
        lang=lang,
        category=category,
        bucket=bucket,
        headline=overall,
        trend=tuple(
            trend(period, bucket, *scope, now=now, channel=channel, families=TREND_FAMILIES)
        ),
        failed_queries=tuple(
            top_failed_searches(
                period, lang, TOP_QUERIES, category, article_categories, channel=channel
            )
        ),
        articles=tuple(articles),
        most_contacts=tuple(most_contacts_after_reading(articles, TOP_ARTICLES)),
        least_helpful=tuple(lowest_helpfulness(articles, TOP_ARTICLES)),
        recent_edits=tuple(recent_edits(RECENT_EDITS, lang, period=period, now=now)),
        notices=tuple(notices_in(period, lang, RECENT_NOTICES, now=now)),
        channel=channel,
        by_channel=by_channel,
        host_pages_by_flows=tuple(
            host_pages_by_flows(period, *scope, limit=TOP_HOST_PAGES, now=now, channel=channel)
        ),
        host_pages_by_deflection=tuple(
            host_pages_by_deflection(period, *scope, limit=TOP_HOST_PAGES, now=now, channel=channel)
        ),
    )


def notices_in(
    period: Period,
    lang: str | None = None,
    limit: int = RECENT_NOTICES,
    *,
    now: dt.datetime | None = None,
) -> list[NoticeImpact]:
    """Notices shown at some time in the period (of ``lang``), latest start first, with effect.

    Effect: :func:`kb.notices.notice_effect` (contacts of the notice's language and topic
    while it was shown, against a window of the same length just before it).
    """
    board = list_notices(now)
    shown = [
        notice
        for notice in (*board.active, *board.past)
        if notice.starts_at < period.end
        and notice.ends_at > period.start
        and (lang is None or notice.lang == lang)
    ]
    shown.sort(key=lambda notice: (notice.starts_at, notice.id), reverse=True)
    found = []
    for notice in shown[:limit]:
        effect = notice_effect(notice.id, now)
        if effect is not None:
            found.append(NoticeImpact(notice, effect))
    return found


# -- tables for export --------------------------------------------------------------------------

HEADLINE_FIGURES = (
    "started",
    "resolved",
    "contacted",
    "abandoned",
    "in_progress",
    "deflection",
    "abandonment",
    "self_service",
    "failed_searches",
    "zero_results",
    "click_through",
    "effort",
)
HOST_PAGE_COLUMNS = (
    "host_origin",
    "host_path",
    "started",
    "resolved",
    "contacted",
    "abandoned",
    "in_progress",
    "deflection",
    "abandonment",
)
TABLE_COLUMNS = {
    "headline": ("figure", "value", "numerator", "denominator"),
    "trend": (
        "bucket_start",
        "started",
        "resolved",
        "contacted",
        "abandoned",
        "in_progress",
        "deflection",
        "abandonment",
        "searches",
        "failed_searches",
        "zero_results",
        "click_through",
        "effort_mean",
        "effort_count",
    ),
    "failed-searches": ("query", "failed", "zero_results", "searches", "click_through"),
    "articles": (
        "article",
        "title",
        "category",
        "views",
        "readers",
        "helpful_yes",
        "helpful_no",
        "helpfulness",
        "contacts_after_reading",
    ),
    "effort": ("score", "answers"),
    "channels": ("channel", "figure", "value", "numerator", "denominator"),
    "host-pages": HOST_PAGE_COLUMNS,
    "host-pages-deflection": HOST_PAGE_COLUMNS,
}
TABLES = tuple(TABLE_COLUMNS)


def table_rows(
    dashboard: Dashboard, table: str, title: Callable[[str], str] = str
) -> list[tuple[object, ...]]:
    """The rows of one exported table, in the order of ``TABLE_COLUMNS[table]``.

    Rates are fractions (0.5, not 50%) and empty when undefined; ``title`` gives an article's
    title from its key.
    """
    if table == "headline":
        return [_headline_row(name, getattr(dashboard.headline, name)) for name in HEADLINE_FIGURES]
    if table == "trend":
        return [_trend_row(bucket) for bucket in dashboard.trend]
    if table == "failed-searches":
        return [
            (q.normalized_query, q.failed, q.zero_results, q.searches, _rate(q.click_through))
            for q in dashboard.failed_queries
        ]
    if table == "articles":
        return [
            (
                row.key,
                title(row.key),
                row.category,
                row.views,
                row.readers,
                row.helpful_yes,
                row.helpful_no,
                _rate(row.helpfulness),
                row.contacts_after_reading,
            )
            for row in dashboard.articles
        ]
    if table == "effort":
        counts = dashboard.headline.effort.distribution
        return list(zip(EFFORT_SCORES, counts, strict=True))
    if table == "channels":
        return [
            (figures.channel, *_headline_row(name, getattr(figures, name)))
            for figures in dashboard.by_channel
            for name in HEADLINE_FIGURES
        ]
    if table == "host-pages":
        return [_host_page_row(page) for page in dashboard.host_pages_by_flows]
    if table == "host-pages-deflection":
        return [_host_page_row(page) for page in dashboard.host_pages_by_deflection]
    raise ValueError(f"unknown table {table!r}; one of {TABLES}")


def csv_document(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 CSV with a byte order mark (so Excel reads Arabic), formulas neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def safe_cell(value: object) -> str:
    """The cell as text; text a spreadsheet would run as a formula gets a leading apostrophe.

    Numbers stay numbers (a negative count cannot happen, but ``-0.5`` is not customer text).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return _number(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def _headline_row(name: str, figure: object) -> tuple[object, ...]:
    if isinstance(figure, Metric):
        return (name, _rate(figure), figure.numerator, figure.denominator)
    if name == "effort":
        mean = figure.mean
        return (name, _rate(mean), mean.numerator, mean.denominator)
    return (name, figure, None, None)


def _trend_row(bucket: Headline) -> tuple[object, ...]:
    return (
        bucket.period.start.date().isoformat(),
        bucket.started,
        bucket.resolved,
        bucket.contacted,
        bucket.abandoned,
        bucket.in_progress,
        _rate(bucket.deflection),
        _rate(bucket.abandonment),
        bucket.failed_searches.denominator,
        _rate(bucket.failed_searches),
        _rate(bucket.zero_results),
        _rate(bucket.click_through),
        _rate(bucket.effort.mean),
        bucket.effort.mean.denominator,
    )


def _host_page_row(page: HostPage) -> tuple[object, ...]:
    flows = page.flows
    return (
        page.origin,
        page.path,
        flows.started,
        flows.resolved,
        flows.contacted,
        flows.abandoned,
        flows.in_progress,
        _rate(flows.deflection),
        _rate(flows.abandonment),
    )


def _rate(metric: Metric) -> float | None:
    return None if metric.value is None else round(metric.value, 4)


def _number(value: int | float) -> str:
    return str(value) if isinstance(value, int) else str(round(value, 4))
