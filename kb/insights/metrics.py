"""The figures of DESIGN.md section 7, computed in SQL over a period, a language and a category.

Every function takes a :class:`Period` (UTC naive datetimes as stored, half-open
``[start, end)``) and the optional filters ``lang`` and ``category``. The database knows no
article categories (they live in the Markdown front matter), so a category filter also needs
``article_categories``, a mapping of article key (``"en/refund-policy"``) to category that the
caller builds from ``kb.content``; passing a category without it is a ``ValueError``.

What belongs to a category:

- an article: its category in ``article_categories``;
- a search: the category of its top result (``shown_keys[0]``); zero-result searches have
  no category, so under a category filter the zero-result rate is undefined (None);
- a contact request: the category the customer chose on the form;
- a contact flow: for a resolved flow, the category of the article that solved it; for a
  contacted flow, the category chosen on the form; for other flows (open, abandoned, or
  contacted without a chosen category), the category of the first answer suggested to them;
- an effort score: the category of its flow.

The keyword ``channel`` ("site", "widget" or "api", kb.insights.channels) limits every figure
to events recorded in that channel; a contact request belongs to the channel of the flow it
ended, kb's own pages ("site") when it ended none. :func:`headline_by_channel` gives the
headline figures of each channel, :func:`host_pages_by_flows` and
:func:`host_pages_by_deflection` the widget's host pages.

Each event is counted in the period of its own timestamp (a search by when it was made, a
flow by when it started), and what happened after it is read as the database knows it now,
so past periods settle and trend buckets add up (see :func:`flow_counts`).

Rates are :class:`Metric` values: the numerator and denominator always, the value only when
the denominator is not zero (None, never a 0% made of no data). Queries are set-based
(aggregates over ranges of the timestamp-first covering indexes of migration 0005; "failed"
and "clicked" as sets of search ids built once per statement, see :func:`_search_flags`) and
run on SQLite and PostgreSQL; the two expressions SQL has no
portable spelling for (shifting a timestamp, truncating it to a day or week) are wrapped in
small constructs compiled per dialect below. The search counts, top failed searches and
self-service visits of the whole past days of a period come from the daily roll-ups of
kb.insights.rollups, the rest of the period from the raw rows: the same figures, as a year
reads days instead of events.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace

from sqlalchemy import (
    DateTime,
    Float,
    and_,
    case,
    cast,
    func,
    null,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement, Select, expression
from sqlalchemy.sql.visitors import InternalTraversal

from kb.contact.models import ContactRequest
from kb.extensions import db
from kb.insights.channels import CHANNELS, SITE, WIDGET
from kb.insights.events import EFFORT_SCORES, FLOW_IDLE
from kb.insights.models import (
    ArticleView,
    ContactFlow,
    EffortScore,
    Feedback,
    SearchCountDay,
    SearchDay,
    SearchEvent,
    VisitCountDay,
    VisitDay,
    VisitKeyDay,
    utcnow,
)

# A search or an article view this long before a contact in the same visit is its cause.
ATTRIBUTION_WINDOW = FLOW_IDLE
# Grouping the headline figures by channel instead of by a trend bucket (headline_by_channel).
BY_CHANNEL = "channel"
# The headline's figures by the queries that compute them (see trend).
FAMILIES = ("flows", "searches", "self_service", "effort")
# How much earlier than its search an article view may be stamped (clocks of several servers).
VIEW_CLOCK_MARGIN = dt.timedelta(days=1)
BUCKETS = ("day", "week")


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC, as naive datetimes like the stored ones."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("a period is given in naive UTC datetimes, as they are stored")
        if self.start >= self.end:
            raise ValueError("a period must end after it starts")


@dataclass(frozen=True)
class Metric:
    """A ratio with its parts; ``value`` is None when the denominator is 0 (no data)."""

    value: float | None
    numerator: int
    denominator: int

    @classmethod
    def ratio(cls, numerator: int, denominator: int) -> Metric:
        value = numerator / denominator if denominator else None
        return cls(value=value, numerator=numerator, denominator=denominator)


UNDEFINED = Metric(value=None, numerator=0, denominator=0)


@dataclass(frozen=True)
class FlowCounts:
    """Contact flows started in a period, by how they ended (S = R + C + A + in progress)."""

    started: int
    resolved: int
    contacted: int
    abandoned: int
    in_progress: int

    @property
    def deflection(self) -> Metric:
        """R / (R + C): abandoned flows are never counted as deflected."""
        return Metric.ratio(self.resolved, self.resolved + self.contacted)

    @property
    def abandonment(self) -> Metric:
        """A / S, always shown next to the deflection rate."""
        return Metric.ratio(self.abandoned, self.started)


@dataclass(frozen=True)
class SearchCounts:
    searches: int
    failed: int
    zero_results: int
    with_results: int
    clicked: int


@dataclass(frozen=True)
class EffortSummary:
    """Customer effort scores: the mean (sum of scores / number of scores) and how many of each."""

    mean: Metric
    # Number of answers per score: distribution[0] is score 1, distribution[6] is score 7.
    distribution: tuple[int, ...]


@dataclass(frozen=True)
class Headline:
    """The dashboard's figures for one period (or one trend bucket)."""

    period: Period
    lang: str | None
    category: str | None
    started: int
    resolved: int
    contacted: int
    abandoned: int
    in_progress: int
    deflection: Metric
    abandonment: Metric
    self_service: Metric
    failed_searches: Metric
    zero_results: Metric
    click_through: Metric
    effort: EffortSummary
    # The channel these figures are limited to; None for every channel.
    channel: str | None = None


@dataclass(frozen=True)
class FailedQuery:
    normalized_query: str
    searches: int
    failed: int
    zero_results: int
    click_through: Metric


@dataclass(frozen=True)
class ArticleRow:
    key: str
    category: str
    views: int
    readers: int
    helpful_yes: int
    helpful_no: int
    helpfulness: Metric
    contacts_after_reading: int


@dataclass(frozen=True)
class HostPage:
    """Contact flows started in the widget on one host page (origin + path, None if unknown)."""

    origin: str | None
    path: str | None
    flows: FlowCounts


# -- public figures ---------------------------------------------------------------------------


def headline(
    period: Period,
    lang: str | None = None,
    category: str | None = None,
    article_categories: Mapping[str, str] | None = None,
    *,
    now: dt.datetime | None = None,
    channel: str | None = None,
) -> Headline:
    """Every headline figure of the period; ``now`` decides which open flows are in progress."""
    scope = _Scope.of(period, lang, category, article_categories, channel)
    return _headlines(scope, None, now or utcnow())[None]


def trend(
    period: Period,
    bucket: str = "day",
    lang: str | None = None,
    category: str | None = None,
    article_categories: Mapping[str, str] | None = None,
    *,
    now: dt.datetime | None = None,
    channel: str | None = None,
    families: Collection[str] = FAMILIES,
) -> list[Headline]:
    """One :class:`Headline` per UTC day or ISO week (from Monday) of the period, oldest first.

    Each bucket's ``period`` is the bucket clipped to ``period``; empty buckets are included
    (zero counts, undefined rates) so charts have a continuous axis. Each figure is one grouped
    query for all buckets, not one query per bucket. Only the figures of ``families`` (of
    FAMILIES) are computed, the others are left empty (zero counts, undefined rates): a chart
    needs one family, and the dashboard shows no trend of the self-service score, whose
    distinct visits per bucket cost a read of every search and view of the period.
    """
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {BUCKETS}, not {bucket!r}")
    scope = _Scope.of(period, lang, category, article_categories, channel)
    figures = _headlines(scope, bucket, now or utcnow(), families)
    return [figures[start] for start in _bucket_starts(period, bucket)]


def flow_counts(
    period: Period,
    lang: str | None = None,
    category: str | None = None,
    article_categories: Mapping[str, str] | None = None,
    *,
    now: dt.datetime | None = None,
    channel: str | None = None,
) -> FlowCounts:
    """Contact flows started in the period (S) and how each one ended.

    - resolved R: the customer confirmed that an answer solved it (outcome "resolved");
    - contacted C: it ended with a submitted contact request (outcome "contacted");
    - in progress: still open and active at most FLOW_IDLE (30 min) before ``now`` (default:
      the current time), so the customer can still continue it, exactly as the contact page
      would (``open_contact_flow``);
    - abandoned A: every other flow, i.e. still open and idle for more than FLOW_IDLE.

    So S = R + C + A + in progress, and A = S - R - C once no flow is in progress. A flow
    belongs to the period it started in and its outcome is read as it is now, however late it
    came: a past period's figures settle 30 minutes after its last flow went quiet and trend
    buckets add up to the whole period. A flow that went quiet and was finished later (a tab
    left open) counts by its outcome, never as abandoned.
    """
    scope = _Scope.of(period, lang, category, article_categories, channel)
    return _flow_counts(scope, None, now or utcnow()).get(None, _NO_FLOWS)


def search_counts(
    period: Period,
    lang: str | None = None,
    category: str | None = None,
    article_categories: Mapping[str, str] | None = None,
    *,
    channel: str | None = None,
) -> SearchCounts:
    """Searches made in the period, with the failed, zero-result and clicked ones among them.

    - failed: a contact request was made in the same visit at the same time or within
      ATTRIBUTION_WINDOW (30 min, inclusive) after the search, the same window the contact
      trace uses (``searches_before_contact``); the contact may fall after the period;
    - zero results: ``result_count == 0``;
    - clicked: it had at least one result and at least one article view records it as its
      search (``ArticleView.search_id``), however many views it led to.

    Searches from every source count (search page, contact flow question, API).
    """
    scope = _Scope.of(period, lang, category, article_categories, channel)
    return _search_counts(scope, None).get(None, _NO_SEARCHES)


def failed_searches(
    period: Period,
    lang: str | None = None,
    category: str | None = None,
    article_categories: Mapping[str, str] | None = None,
    *,
    channel: str | None = None,
) -> Metric:
    """Failed searches / searches (see :func:`search_counts` for "failed")."""
    counts = search_counts(period, lang, category, article_categories, channel=channel)
    return Metric.ratio(counts.failed, counts.searches)


def zero_result_rate(
    period: Period,
    lang: str | None = None,
    category: str | None = None,
    article_categories: Mapping[str, str] | None = None,
    *,
    channel: str | None = None,
) -> Metric:
    """Searches with no result / searches; undefined under a category filter (see module)."""
    counts = search_counts(period, lang, category, article_categories, channel=channel)
    return _zero_result_rate(counts, category)


def click_through(
    period: Period,
    lang: str | None = None,
    category: str | None = None,
    article_categories: Mapping[str, str] | None = None,
    *,
    channel: str | None = None,
) -> Metric:
    """Searches with results from which an article was opened / searches with results."""
    counts = search_counts(period, lang, category, article_categories, channel=channel)
    return Metric.ratio(counts.clicked, counts.with_results)


def self_service_score(
    period: Period,
    lang: str | None = None,
    category: str | None = None,
    article_categories: Mapping[str, str] | None = None,
    *,
    channel: str | None = None,
) -> Metric:
    """Visits with a search or an article view / visits with a contact request (may exceed 1).

    Both are distinct visit ids with such an event in the period. Per language: searches in
    that language, views of articles in it, contact requests made in it; per category: see
    the module docstring.
    """
    scope = _Scope.of(period, lang, category, article_categories, channel)
    return _self_service(scope, None).get(None, UNDEFINED)


def effort_scores(
    period: Period,
    lang: str | None = None,
    category: str | None = None,
    article_categories: Mapping[str, str] | None = None,
    *,
    channel: str | None = None,
) -> EffortSummary:
    """CES given in the period: mean and distribution over the scores 1-7."""
    scope = _Scope.of(period, lang, category, article_categories, channel)
    return _effort(scope, None).get(None, _NO_EFFORT)


def top_failed_searches(
    period: Period,
    lang: str | None = None,
    limit: int = 20,
    category: str | None = None,
    article_categories: Mapping[str, str] | None = None,
    *,
    channel: str | None = None,
) -> list[FailedQuery]:
    """Normalised queries with at least one failed search, most failed first.

    Ties: more searches first, then alphabetical, so the order is stable.
    """
    scope = _Scope.of(period, lang, category, article_categories, channel)
    rolled, live = _split_by_rollups(scope.period)
    parts = [] if rolled is None else [_rolled_queries(replace(scope, period=rolled))]
    parts += [_raw_queries(replace(scope, period=piece)) for piece in live]
    combined = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    # Grouped once and materialized: filtering and sorting on the sums in the same SELECT
    # made both databases build the "failed" set three times.
    queries = (
        select(
            combined.c.query,
            func.sum(combined.c.searches).label("searches"),
            func.sum(combined.c.failed).label("failed"),
            func.sum(combined.c.zero_results).label("zero_results"),
            func.sum(combined.c.with_results).label("with_results"),
            func.sum(combined.c.clicked).label("clicked"),
        )
        .group_by(combined.c.query)
        .cte("queries")
        .prefix_with("MATERIALIZED")
    )
    rows = db.session.execute(
        select(queries)
        .where(queries.c.failed > 0)
        .order_by(queries.c.failed.desc(), queries.c.searches.desc(), queries.c.query)
        .limit(limit)
    )
    return [
        FailedQuery(
            normalized_query=query,
            searches=int(count),
            failed=int(fails),
            zero_results=int(zeros),
            click_through=Metric.ratio(int(clicked), int(with_results)),
        )
        for query, count, fails, zeros, with_results, clicked in rows
    ]


def _raw_queries(scope: _Scope) -> Select:
    """Searches of the period per normalised query, with their flags, from the raw rows."""
    flags = _search_flags(scope.period)
    return (
        select(
            SearchEvent.normalized_query.label("query"),
            func.count().label("searches"),
            func.sum(flags.failed).label("failed"),
            func.sum(flags.zero_results).label("zero_results"),
            func.sum(flags.with_results).label("with_results"),
            func.sum(flags.clicked).label("clicked"),
        )
        .where(*_search_filters(scope))
        .group_by(SearchEvent.normalized_query)
    )


def _rolled_queries(scope: _Scope) -> Select:
    """The same as :func:`_raw_queries` from the daily roll-ups (whole days only)."""
    return (
        select(
            SearchDay.normalized_query.label("query"),
            func.sum(SearchDay.searches).label("searches"),
            func.sum(SearchDay.failed).label("failed"),
            func.sum(SearchDay.zero_results).label("zero_results"),
            func.sum(SearchDay.with_results).label("with_results"),
            func.sum(SearchDay.clicked).label("clicked"),
        )
        .where(*_rolled_search_filters(scope))
        .group_by(SearchDay.normalized_query)
    )


def article_table(
    period: Period,
    lang: str | None = None,
    category: str | None = None,
    article_categories: Mapping[str, str] | None = None,
    *,
    channel: str | None = None,
) -> list[ArticleRow]:
    """One row per article with a view, a vote or a contact after reading in the period.

    - views: article views in the period; readers: distinct visits among them;
    - helpful yes / no: votes in the period; helpfulness = yes / (yes + no);
    - contacts after reading: contact requests made in the same visit at the same time or
      within ATTRIBUTION_WINDOW (30 min, inclusive) after a view of the article in the period,
      each request counted once per article however often it was read first.

    Sorted by key; see :func:`most_contacts_after_reading` and :func:`lowest_helpfulness`.
    """
    scope = _Scope.of(period, lang, category, article_categories, channel)
    views = {
        key: (count, readers)
        for key, count, readers in db.session.execute(
            select(
                ArticleView.article_key, func.count(), func.count(ArticleView.visit_id.distinct())
            )
            .where(
                *_article_filters(
                    scope, ArticleView.article_key, ArticleView.created_at, ArticleView.channel
                )
            )
            .group_by(ArticleView.article_key)
        )
    }
    votes = {
        key: (int(yes), int(no))
        for key, yes, no in db.session.execute(
            select(
                Feedback.article_key,
                func.sum(case((Feedback.helpful, 1), else_=0)),
                func.sum(case((Feedback.helpful, 0), else_=1)),
            )
            .where(
                *_article_filters(
                    scope, Feedback.article_key, Feedback.created_at, Feedback.channel
                )
            )
            .group_by(Feedback.article_key)
        )
    }
    contacts = dict(
        db.session.execute(
            select(ArticleView.article_key, func.count(ContactRequest.id.distinct()))
            .join(
                ContactRequest,
                and_(
                    ContactRequest.visit_id == ArticleView.visit_id,
                    _within_window(ArticleView.created_at, ContactRequest.created_at),
                ),
            )
            .where(
                *_article_filters(
                    scope, ArticleView.article_key, ArticleView.created_at, ArticleView.channel
                )
            )
            .group_by(ArticleView.article_key)
        ).all()
    )
    categories = article_categories or {}
    rows = []
    for key in sorted(views.keys() | votes.keys() | contacts.keys()):
        count, readers = views.get(key, (0, 0))
        yes, no = votes.get(key, (0, 0))
        rows.append(
            ArticleRow(
                key=key,
                category=categories.get(key, ""),
                views=count,
                readers=readers,
                helpful_yes=yes,
                helpful_no=no,
                helpfulness=Metric.ratio(yes, yes + no),
                contacts_after_reading=contacts.get(key, 0),
            )
        )
    return rows


def headline_by_channel(
    period: Period,
    lang: str | None = None,
    category: str | None = None,
    article_categories: Mapping[str, str] | None = None,
    *,
    now: dt.datetime | None = None,
) -> dict[str, Headline]:
    """Every headline figure for each channel of CHANNELS, in that order.

    Each is :func:`headline` with the channel filter: a search, an article view, a vote, a
    flow and an effort score count in the channel they were recorded in; a contact request in
    the channel of the flow it ended (kb's own pages when it ended no flow). So the counts and
    the rates' numerators and denominators add up to the figures of every channel, except
    the self-service score's visits: one visit can use more than one channel.
    """
    scope = _Scope.of(period, lang, category, article_categories)
    # Grouped by channel: one query per family for all channels (the same rows and sums as
    # one filtered query per channel, a third of the work).
    return _headlines(scope, BY_CHANNEL, now or utcnow())


def every_channel(parts: Iterable[Headline], self_service: Metric) -> Headline:
    """The headline of all channels together, added up from ``headline_by_channel``'s parts.

    Equal to :func:`headline` without a channel filter, given that one's ``self_service``
    (the one figure that does not add up), and cheaper than computing it again.
    """
    parts = list(parts)

    def total(name: str) -> int:
        return sum(getattr(part, name) for part in parts)

    def added(metrics: list[Metric]) -> Metric:
        return Metric.ratio(
            sum(metric.numerator for metric in metrics),
            sum(metric.denominator for metric in metrics),
        )

    flows = FlowCounts(
        *(total(name) for name in ("started", "resolved", "contacted", "abandoned", "in_progress"))
    )
    return replace(
        parts[0],
        started=flows.started,
        resolved=flows.resolved,
        contacted=flows.contacted,
        abandoned=flows.abandoned,
        in_progress=flows.in_progress,
        deflection=flows.deflection,
        abandonment=flows.abandonment,
        self_service=self_service,
        failed_searches=added([part.failed_searches for part in parts]),
        zero_results=added([part.zero_results for part in parts]),
        click_through=added([part.click_through for part in parts]),
        effort=EffortSummary(
            mean=added([part.effort.mean for part in parts]),
            distribution=tuple(
                sum(part.effort.distribution[index] for part in parts)
                for index in range(len(EFFORT_SCORES))
            ),
        ),
        channel=None,
    )


def host_pages_by_flows(
    period: Period,
    lang: str | None = None,
    category: str | None = None,
    article_categories: Mapping[str, str] | None = None,
    *,
    limit: int = 20,
    now: dt.datetime | None = None,
    channel: str | None = None,
) -> list[HostPage]:
    """Widget host pages where most contact flows started in the period, most first.

    Ties: more contacted flows first, then by origin and path. Flows whose host page is not
    known (an origin not in KB_WIDGET_ORIGINS) are one row with origin and path None.
    """
    scope = _Scope.of(period, lang, category, article_categories, channel)
    now = now or utcnow()
    started, _resolved, contacted, _in_progress = _flow_aggregates(now)
    return _host_pages(scope, now, [started.desc(), contacted.desc()], limit)


# A host page is ranked by its deflection rate only with at least this many flows that ended
# resolved or contacted (the rate's denominator): below it, one or two customers decide it.
MIN_HOST_PAGE_FLOWS = 5


def host_pages_by_deflection(
    period: Period,
    lang: str | None = None,
    category: str | None = None,
    article_categories: Mapping[str, str] | None = None,
    *,
    limit: int = 20,
    min_flows: int = MIN_HOST_PAGE_FLOWS,
    now: dt.datetime | None = None,
    channel: str | None = None,
) -> list[HostPage]:
    """Widget host pages with the lowest deflection rate R / (R + C) in the period.

    Only pages with ``R + C >= min_flows``; ties: more ended flows first, then more flows
    started, then by origin and path.
    """
    scope = _Scope.of(period, lang, category, article_categories, channel)
    now = now or utcnow()
    started, resolved, contacted, _in_progress = _flow_aggregates(now)
    ended = resolved + contacted
    return _host_pages(
        scope,
        now,
        [(cast(resolved, Float) / ended).asc(), ended.desc(), started.desc()],
        limit,
        having=ended >= max(min_flows, 1),
    )


def most_contacts_after_reading(rows: Iterable[ArticleRow], limit: int = 10) -> list[ArticleRow]:
    """Articles most often read just before a contact: the first ones to fix."""
    found = [row for row in rows if row.contacts_after_reading > 0]
    found.sort(key=lambda row: (-row.contacts_after_reading, -row.views, row.key))
    return found[:limit]


def lowest_helpfulness(
    rows: Iterable[ArticleRow], limit: int = 10, min_votes: int = 1
) -> list[ArticleRow]:
    """Least helpful articles with at least ``min_votes`` votes; more votes first on a tie."""
    found = [row for row in rows if row.helpfulness.denominator >= max(min_votes, 1)]
    found.sort(key=lambda row: (row.helpfulness.value, -row.helpfulness.denominator, row.key))
    return found[:limit]


# -- scope and per-family queries -------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    period: Period
    lang: str | None
    category: str | None
    # Article keys of the category; None when there is no category filter.
    keys: frozenset[str] | None
    # One of CHANNELS, or None for every channel.
    channel: str | None = None

    @classmethod
    def of(
        cls,
        period: Period,
        lang: str | None,
        category: str | None,
        article_categories: Mapping[str, str] | None,
        channel: str | None = None,
    ) -> _Scope:
        keys = None
        if category is not None:
            if article_categories is None:
                raise ValueError("a category filter needs article_categories (key -> category)")
            keys = frozenset(key for key, value in article_categories.items() if value == category)
        if channel is not None and channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}, not {channel!r}")
        return cls(period=period, lang=lang, category=category, keys=keys, channel=channel)

    def during(self, column: ColumnElement) -> ColumnElement:
        return and_(column >= self.period.start, column < self.period.end)


_NO_FLOWS = FlowCounts(started=0, resolved=0, contacted=0, abandoned=0, in_progress=0)
_NO_SEARCHES = SearchCounts(searches=0, failed=0, zero_results=0, with_results=0, clicked=0)
_NO_EFFORT = EffortSummary(mean=UNDEFINED, distribution=(0,) * len(EFFORT_SCORES))


def _headlines(
    scope: _Scope, bucket: str | None, now: dt.datetime, families: Collection[str] = FAMILIES
) -> dict:
    flows = _flow_counts(scope, bucket, now) if "flows" in families else {}
    searches = _search_counts(scope, bucket) if "searches" in families else {}
    self_service = _self_service(scope, bucket) if "self_service" in families else {}
    effort = _effort(scope, bucket) if "effort" in families else {}
    if bucket is None:
        keys = [None]
    elif bucket == BY_CHANNEL:
        keys = list(CHANNELS)
    else:
        keys = _bucket_starts(scope.period, bucket)
    result = {}
    for key in keys:
        flow = flows.get(key, _NO_FLOWS)
        search = searches.get(key, _NO_SEARCHES)
        over_time = bucket is not None and bucket != BY_CHANNEL
        result[key] = Headline(
            period=_bucket_period(scope.period, key, bucket) if over_time else scope.period,
            lang=scope.lang,
            category=scope.category,
            started=flow.started,
            resolved=flow.resolved,
            contacted=flow.contacted,
            abandoned=flow.abandoned,
            in_progress=flow.in_progress,
            deflection=flow.deflection,
            abandonment=flow.abandonment,
            self_service=self_service.get(key, UNDEFINED),
            failed_searches=Metric.ratio(search.failed, search.searches),
            zero_results=_zero_result_rate(search, scope.category),
            click_through=Metric.ratio(search.clicked, search.with_results),
            effort=effort.get(key, _NO_EFFORT),
            channel=key if bucket == BY_CHANNEL else scope.channel,
        )
    return result


def _flow_counts(scope: _Scope, bucket: str | None, now: dt.datetime) -> dict:
    rows = _grouped(ContactFlow.started_at, bucket, _flow_aggregates(now), _flow_filters(scope))
    return {
        key: FlowCounts(
            started=started,
            resolved=r,
            contacted=c,
            abandoned=started - r - c - p,
            in_progress=p,
        )
        for key, (started, r, c, p) in rows.items()
    }


def _host_pages(
    scope: _Scope,
    now: dt.datetime,
    order: list[ColumnElement],
    limit: int,
    having: ColumnElement | None = None,
) -> list[HostPage]:
    if scope.channel not in (None, WIDGET):
        return []  # only the widget has host pages
    statement = (
        select(ContactFlow.host_origin, ContactFlow.host_path, *_flow_aggregates(now))
        .where(*_flow_filters(replace(scope, channel=WIDGET)))
        .group_by(ContactFlow.host_origin, ContactFlow.host_path)
        # Unknown pages (NULL) sort the same way on every database.
        .order_by(
            *order,
            func.coalesce(ContactFlow.host_origin, ""),
            func.coalesce(ContactFlow.host_path, ""),
        )
        .limit(limit)
    )
    if having is not None:
        statement = statement.having(having)
    pages = []
    for origin, path, *values in db.session.execute(statement):
        started, resolved, contacted, in_progress = (int(value or 0) for value in values)
        flows = FlowCounts(
            started=started,
            resolved=resolved,
            contacted=contacted,
            abandoned=started - resolved - contacted - in_progress,
            in_progress=in_progress,
        )
        pages.append(HostPage(origin=origin, path=path, flows=flows))
    return pages


def _flow_aggregates(now: dt.datetime) -> list[ColumnElement]:
    """Flows started, resolved, contacted and in progress at ``now`` (see flow_counts)."""
    resolved = ContactFlow.outcome == "resolved"
    contacted = ContactFlow.outcome == "contacted"
    in_progress = and_(ContactFlow.outcome.is_(None), ContactFlow.updated_at >= now - FLOW_IDLE)
    return [func.count(), _count_if(resolved), _count_if(contacted), _count_if(in_progress)]


def _flow_filters(scope: _Scope) -> list[ColumnElement]:
    filters = [scope.during(ContactFlow.started_at)]
    if scope.lang is not None:
        filters.append(ContactFlow.lang == scope.lang)
    if scope.channel is not None:
        filters.append(ContactFlow.channel == scope.channel)
    if scope.keys is not None:
        filters.append(_flow_in_category(scope.category, scope.keys))
    return filters


def _flow_in_category(category: str, keys: frozenset[str]) -> ColumnElement:
    """A flow of the topic: resolved by one of its articles, else the category chosen in
    the flow's first contact request, else (none chosen) its first suggestion's."""
    resolved = and_(ContactFlow.outcome == "resolved", ContactFlow.resolved_key.in_(keys))
    contacted = ContactFlow.outcome == "contacted"
    chose_none = ContactFlow.id.not_in(
        _flows_whose_first_request(func.coalesce(ContactRequest.category, "") != "")
    )
    suggested_it = and_(
        or_(ContactFlow.outcome.is_(None), contacted),
        ContactFlow.suggestions_shown[0].as_string().in_(keys),
        chose_none,
    )
    if category == "":
        chose_it = and_(contacted, chose_none)
    else:
        chose_it = and_(
            contacted,
            ContactFlow.id.in_(_flows_whose_first_request(ContactRequest.category == category)),
        )
    return or_(resolved, chose_it, suggested_it)


def _flows_whose_first_request(condition: ColumnElement) -> Select:
    """The ids of the flows whose first contact request meets ``condition``.

    A set built once per statement, in one pass over the requests (the first one meets it
    when it is also the first of those that do), where a lookup of each flow's first request
    costs a probe per flow of the period.
    """
    return (
        select(ContactRequest.flow_id)
        .where(ContactRequest.flow_id.is_not(None))
        .group_by(ContactRequest.flow_id)
        .having(func.min(ContactRequest.id) == func.min(case((condition, ContactRequest.id))))
    )


@dataclass(frozen=True)
class _SearchFlags:
    failed: ColumnElement
    zero_results: ColumnElement
    with_results: ColumnElement
    clicked: ColumnElement


def _search_flags(period: Period | None = None) -> _SearchFlags:
    """0/1 expressions per SearchEvent row, to be summed.

    Given the ``period`` the summed searches come from, "failed" and "opened" are a search's
    membership in :func:`_failed_search_ids` and :func:`_opened_search_ids`: sets built once
    per statement from the few rows near the period, where a lookup per search costs a probe
    per row (and, on PostgreSQL, a plan expensive enough to be JIT-compiled). Without it, an
    ``EXISTS`` per search, for callers that read few searches.
    """
    if period is None:
        contact_followed = (
            select(ContactRequest.id)
            .where(
                ContactRequest.visit_id == SearchEvent.visit_id,
                _within_window(SearchEvent.created_at, ContactRequest.created_at),
            )
            .exists()
        )
        opened = select(ArticleView.id).where(ArticleView.search_id == SearchEvent.id).exists()
    else:
        contact_followed = SearchEvent.id.in_(_failed_search_ids(period))
        opened = SearchEvent.id.in_(_opened_search_ids(period))
    has_results = SearchEvent.result_count > 0
    return _SearchFlags(
        failed=case((contact_followed, 1), else_=0),
        zero_results=case((SearchEvent.result_count == 0, 1), else_=0),
        with_results=case((has_results, 1), else_=0),
        clicked=case((and_(has_results, opened), 1), else_=0),
    )


def _failed_search_ids(period: Period) -> Select:
    """The ids of the failed searches of ``period`` (and maybe a few others: callers filter).

    Driven from the contact requests, which are far fewer than searches: each request that
    can follow a search of the period (made from its start to ATTRIBUTION_WINDOW after its
    end) finds its visit's searches in the window before it on the (visit_id, created_at)
    index.
    """
    searched = aliased(SearchEvent)  # not correlated with the searches being summed
    return (
        select(searched.id)
        .join(
            ContactRequest,
            and_(
                ContactRequest.visit_id == searched.visit_id,
                _within_window(searched.created_at, ContactRequest.created_at),
            ),
        )
        .where(
            ContactRequest.created_at >= period.start,
            ContactRequest.created_at <= period.end + ATTRIBUTION_WINDOW,
            searched.created_at >= period.start,
            searched.created_at < period.end,
        )
    )


def _opened_search_ids(period: Period) -> Select:
    """The ids of the searches an article view of ``period`` or later came from.

    A view is recorded after the search it came from (``record_article_view`` checks that
    the search exists), so the views of the period's searches are among those made since its
    start; VIEW_CLOCK_MARGIN more covers servers whose clocks disagree.
    """
    return select(ArticleView.search_id).where(
        ArticleView.created_at >= period.start - VIEW_CLOCK_MARGIN,
        ArticleView.search_id.is_not(None),
    )


def _search_filters(scope: _Scope) -> list[ColumnElement]:
    filters = [scope.during(SearchEvent.created_at)]
    if scope.lang is not None:
        filters.append(SearchEvent.lang == scope.lang)
    if scope.channel is not None:
        filters.append(SearchEvent.channel == scope.channel)
    if scope.keys is not None:
        filters.append(SearchEvent.shown_keys[0].as_string().in_(scope.keys))
    return filters


def _search_counts(scope: _Scope, bucket: str | None) -> dict:
    """Search counts per bucket: daily roll-ups for the whole past days, raw rows for the rest."""
    rolled, live = _split_by_rollups(scope.period)
    parts = [] if rolled is None else [_rolled_search_counts(replace(scope, period=rolled), bucket)]
    parts += [_raw_search_counts(replace(scope, period=piece), bucket) for piece in live]
    totals: dict = {}
    for part in parts:
        for key, values in part.items():
            before = totals.get(key)
            totals[key] = (
                values if before is None else tuple(map(sum, zip(before, values, strict=True)))
            )
    return {key: SearchCounts(*values) for key, values in totals.items()}


def _raw_search_counts(scope: _Scope, bucket: str | None) -> dict:
    flags = _search_flags(scope.period)
    return _grouped(
        SearchEvent.created_at,
        bucket,
        [
            func.count(),
            func.sum(flags.failed),
            func.sum(flags.zero_results),
            func.sum(flags.with_results),
            func.sum(flags.clicked),
        ],
        _search_filters(scope),
    )


def _rolled_search_counts(scope: _Scope, bucket: str | None) -> dict:
    return _grouped(
        SearchCountDay.day,
        bucket,
        [
            func.sum(SearchCountDay.searches),
            func.sum(SearchCountDay.failed),
            func.sum(SearchCountDay.zero_results),
            func.sum(SearchCountDay.with_results),
            func.sum(SearchCountDay.clicked),
        ],
        _rolled_search_filters(scope, SearchCountDay),
    )


def _rolled_search_filters(scope: _Scope, table=SearchDay) -> list[ColumnElement]:
    """:func:`_search_filters` on a search roll-up table: the period must be whole UTC days."""
    filters = _rolled_filters(scope, table)
    if scope.keys is not None:
        filters.append(table.__table__.c.first_key.in_(scope.keys))
    return filters


def _rolled_filters(scope: _Scope, table) -> list[ColumnElement]:
    """The scope's days, language and channel on any roll-up table (no article filter)."""
    columns = table.__table__.c
    filters = [columns.day >= scope.period.start.date(), columns.day < scope.period.end.date()]
    if scope.lang is not None:
        filters.append(columns.lang == scope.lang)
    if scope.channel is not None:
        filters.append(columns.channel == scope.channel)
    return filters


def _split_by_rollups(period: Period) -> tuple[Period | None, list[Period]]:
    """The whole past days of ``period`` (rolled up now if needed) and the rest of it."""
    from kb.insights.rollups import rolled_period

    rolled = rolled_period(period.start, period.end)
    if rolled is None:
        return None, [period]
    start, end = rolled
    live = [Period(a, b) for a, b in ((period.start, start), (end, period.end)) if a < b]
    return Period(start, end), live


def _zero_result_rate(counts: SearchCounts, category: str | None) -> Metric:
    # A search without results showed no article, so it has no category to be counted in.
    if category is not None:
        return UNDEFINED
    return Metric.ratio(counts.zero_results, counts.searches)


def _self_service(scope: _Scope, bucket: str | None) -> dict:
    helping = _helped_visits(scope, bucket)
    contact_filters = [scope.during(ContactRequest.created_at)]
    if scope.lang is not None:
        contact_filters.append(ContactRequest.lang == scope.lang)
    if scope.category is not None:
        contact_filters.append(ContactRequest.category == scope.category)
    if scope.channel is not None:
        contact_filters.append(_contact_channel_is(scope.channel))
    contacting = _grouped(
        ContactRequest.created_at,
        bucket,
        [func.count(ContactRequest.visit_id.distinct())],
        contact_filters,
    )
    return {
        key: Metric.ratio(helping.get(key, 0), contacting.get(key, (0,))[0])
        for key in helping.keys() | contacting.keys()
    }


def _helped_visits(scope: _Scope, bucket: str | None) -> dict:
    """Visits with a search or an article view in scope, per bucket (None: in all).

    Per channel or in all, from the daily visit roll-ups for the whole past days of the
    period and the raw rows for the rest; per day or week, from the raw rows.
    """
    if bucket in (None, BY_CHANNEL):
        rolled, live = _split_by_rollups(scope.period)
        if rolled is not None:
            return _rolled_helped_visits(scope, bucket, rolled, live)
    # Without buckets, the visit ids alone: a constant column beside them makes PostgreSQL
    # sort the union (on disk, at a million events) instead of hashing it.
    helped = _raw_helped(scope, bucket).subquery()
    if bucket is None:
        helped_rows = select(null(), func.count()).select_from(helped)
    else:
        helped_rows = select(helped.c[0], func.count()).group_by(helped.c[0])
    return {_bucket_value(key, bucket): count for key, count in db.session.execute(helped_rows)}


def _raw_helped(scope: _Scope, bucket: str | None, among: Select | None = None) -> Select:
    """The distinct (bucket key, visit id) of the searches and views in scope (no key: ids).

    ``among``: only the visits of this selection of ids.
    """
    search_columns = [SearchEvent.visit_id]
    view_columns = [ArticleView.visit_id]
    if bucket is not None:
        search_columns.insert(0, _bucket_key(SearchEvent.created_at, bucket))
        view_columns.insert(0, _bucket_key(ArticleView.created_at, bucket))
    searches = select(*search_columns).where(*_search_filters(scope))
    views = select(*view_columns).where(
        *_article_filters(
            scope, ArticleView.article_key, ArticleView.created_at, ArticleView.channel
        )
    )
    if among is not None:
        searches = searches.where(SearchEvent.visit_id.in_(among))
        views = views.where(ArticleView.visit_id.in_(among))
    return union(searches, views)


def _rolled_helped_visits(
    scope: _Scope, bucket: str | None, rolled: Period, live: list[Period]
) -> dict:
    """:func:`_helped_visits` from the visit roll-ups of ``rolled`` and the raw ``live`` rows.

    A visit is counted once: in VisitCountDay (it has no other row anywhere) or among the
    ids of VisitDay (under a topic filter: among the ids of VisitKeyDay), or among those
    active in ``live`` that have nothing in scope in ``rolled``.
    """
    by_channel = bucket == BY_CHANNEL
    on_rolled = replace(scope, period=rolled)
    counted: Counter = Counter()
    ids: set[tuple[str | None, str]] = set()
    if scope.keys is not None:
        channel = VisitKeyDay.channel if by_channel else null()
        visits = select(channel, func.count(VisitKeyDay.visit_id.distinct())).where(
            *_rolled_filters(on_rolled, VisitKeyDay),
            VisitKeyDay.article_key.in_(scope.keys),
        )
        if by_channel:
            visits = visits.group_by(channel)
        for bucket_key, count in db.session.execute(visits):
            counted[bucket_key] += count
    else:
        totals = (
            select(VisitCountDay.channel, func.sum(VisitCountDay.visits))
            .where(*_rolled_filters(on_rolled, VisitCountDay))
            .group_by(VisitCountDay.channel)
        )
        for channel, visits in db.session.execute(totals):
            counted[channel if by_channel else None] += int(visits)
        listed = select(VisitDay.channel, VisitDay.visit_id).where(
            *_rolled_filters(on_rolled, VisitDay)
        )
        ids = {
            (channel if by_channel else None, visit_id)
            for channel, visit_id in db.session.execute(listed.distinct())
        }
    key = BY_CHANNEL if by_channel else None
    for piece in live:
        live_scope = replace(scope, period=piece)
        active = set(db.session.execute(_raw_helped(live_scope, key)).tuples())
        # The few of them also active in scope on the rolled days are counted there already.
        returning = _raw_helped(on_rolled, key, among=_raw_helped(live_scope, None))
        new = active - set(db.session.execute(returning).tuples())
        ids |= {row if by_channel else (None, *row) for row in new}
    counted.update(bucket_key for bucket_key, _visit_id in ids)
    return dict(counted)


def _contact_channel_is(channel: str) -> ColumnElement:
    return _contact_channel() == channel


def _contact_channel() -> ColumnElement:
    """A contact request is in the channel of the flow it ended (kb's pages without a flow)."""
    flow_channel = (
        select(ContactFlow.channel)
        .where(ContactFlow.id == ContactRequest.flow_id)
        .scalar_subquery()
    )
    return func.coalesce(flow_channel, SITE)


def _effort(scope: _Scope, bucket: str | None) -> dict:
    key = _bucket_key(EffortScore.created_at, bucket)
    statement = select(key, EffortScore.score, func.count()).where(
        scope.during(EffortScore.created_at)
    )
    if scope.lang is not None:
        statement = statement.where(EffortScore.lang == scope.lang)
    if scope.channel is not None:
        statement = statement.where(EffortScore.channel == scope.channel)
    if scope.keys is not None:
        statement = statement.join(ContactFlow, ContactFlow.id == EffortScore.flow_id).where(
            ContactFlow.resolved_key.in_(scope.keys)
        )
    group = [EffortScore.score] if bucket is None else [key, EffortScore.score]
    counts: dict = {}
    for bucket_start, score, count in db.session.execute(statement.group_by(*group)):
        counts.setdefault(_bucket_value(bucket_start, bucket), {})[score] = count
    return {
        bucket_start: EffortSummary(
            mean=Metric.ratio(
                sum(score * count for score, count in scores.items()), sum(scores.values())
            ),
            distribution=tuple(scores.get(score, 0) for score in EFFORT_SCORES),
        )
        for bucket_start, scores in counts.items()
    }


def _article_filters(
    scope: _Scope,
    key_column: ColumnElement,
    time_column: ColumnElement,
    channel_column: ColumnElement,
) -> list[ColumnElement]:
    filters = [scope.during(time_column)]
    if scope.lang is not None:
        filters.append(key_column.startswith(f"{scope.lang}/", autoescape=True))
    if scope.channel is not None:
        filters.append(channel_column == scope.channel)
    if scope.keys is not None:
        filters.append(key_column.in_(scope.keys))
    return filters


def _count_if(condition: ColumnElement) -> ColumnElement:
    return func.sum(case((condition, 1), else_=0))


def _grouped(
    time_column: ColumnElement,
    bucket: str | None,
    aggregates: list[ColumnElement],
    filters: list[ColumnElement],
) -> dict:
    """``{bucket start (or None): (aggregate values...)}``; SUM over no rows counts as 0."""
    if bucket == BY_CHANNEL and time_column.expression.table is ContactRequest.__table__:
        # A request's channel is its flow's (see _contact_channel), joined here rather than
        # looked up per request: on PostgreSQL the lookups' estimated cost got the plan
        # JIT-compiled, which took longer than running it.
        key = func.coalesce(ContactFlow.channel, SITE)
        statement = (
            select(key, *aggregates)
            .select_from(ContactRequest)
            .outerjoin(ContactFlow, ContactFlow.id == ContactRequest.flow_id)
        )
    else:
        key = _bucket_key(time_column, bucket)
        statement = select(key, *aggregates)
    statement = statement.where(*filters)
    if bucket is not None:
        statement = statement.group_by(key)
    result = {}
    for row in db.session.execute(statement):
        if bucket is None and row[1] == 0:
            continue  # no rows at all: let callers use their empty value
        result[_bucket_value(row[0], bucket)] = tuple(int(value or 0) for value in row[1:])
    return result


# -- time arithmetic and buckets --------------------------------------------------------------


def _within_window(earlier: ColumnElement, later: ColumnElement) -> ColumnElement:
    """``earlier <= later <= earlier + ATTRIBUTION_WINDOW`` (both ends included).

    Written as ``later - ATTRIBUTION_WINDOW <= earlier``: ``later`` is the contact request's
    time, and contacts are few, so the shift is computed for the rare index match instead of
    for every search or article view scanned (a third of the dashboard's time on SQLite).
    """
    return and_(later >= earlier, earlier >= _Shifted(later, -ATTRIBUTION_WINDOW))


class _Shifted(expression.FunctionElement):
    """A timestamp column plus a whole number of seconds, exact on every dialect."""

    type = DateTime()
    inherit_cache = True
    name = "kb_shifted"
    # The shift is compiled into the SQL text, so it must be part of the statement cache key.
    _traverse_internals = [
        *expression.FunctionElement._traverse_internals,
        ("seconds", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, column: ColumnElement, delta: dt.timedelta):
        if delta.microseconds:
            raise ValueError("only whole seconds can be added to a timestamp")
        self.seconds = int(delta.total_seconds())
        super().__init__(column)


@compiles(_Shifted)
def _shifted_default(element, compiler, **kw):
    column = compiler.process(list(element.clauses)[0], **kw)
    return f"({column} + INTERVAL '{element.seconds} seconds')"


@compiles(_Shifted, "sqlite")
def _shifted_sqlite(element, compiler, **kw):
    # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff': shift the whole seconds with strftime
    # and keep the fraction as it was, so the result compares as a string like stored values.
    column = compiler.process(list(element.clauses)[0], **kw)
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', {column}, '{element.seconds:+d} seconds')"
        f" || substr({column}, 20))"
    )


class _BucketStart(expression.FunctionElement):
    """The start of the UTC day or ISO week (Monday) a timestamp falls in."""

    inherit_cache = True
    name = "kb_bucket_start"
    _traverse_internals = [
        *expression.FunctionElement._traverse_internals,
        ("unit", InternalTraversal.dp_string),
    ]

    def __init__(self, column: ColumnElement, unit: str):
        if unit not in BUCKETS:
            raise ValueError(f"bucket must be one of {BUCKETS}, not {unit!r}")
        self.unit = unit
        super().__init__(column)


@compiles(_BucketStart)
def _bucket_start_default(element, compiler, **kw):
    raise CompileError(f"trend buckets are not implemented for {compiler.dialect.name}")


@compiles(_BucketStart, "postgresql")
def _bucket_start_postgresql(element, compiler, **kw):
    # The unit is one of BUCKETS, written literally so SELECT and GROUP BY are the same text.
    column = compiler.process(list(element.clauses)[0], **kw)
    return f"date_trunc('{element.unit}', {column})"


@compiles(_BucketStart, "sqlite")
def _bucket_start_sqlite(element, compiler, **kw):
    column = compiler.process(list(element.clauses)[0], **kw)
    if element.unit == "week":
        # 'weekday 0' moves to the next Sunday (or stays on one); six days back is its Monday.
        return f"date({column}, 'weekday 0', '-6 days')"
    # The stored text starts with the date: cutting it is several times cheaper than date().
    return f"substr({column}, 1, 10)"


def _bucket_key(column: ColumnElement, bucket: str | None) -> ColumnElement:
    """What rows are grouped by: nothing, their channel, or the day or week of ``column``."""
    if bucket is None:
        return null()
    if bucket == BY_CHANNEL:
        return _channel_of(column)
    return _BucketStart(column, bucket)


def _channel_of(time_column: ColumnElement) -> ColumnElement:
    """The channel of the rows of ``time_column``'s table (contact requests: see _grouped)."""
    return time_column.expression.table.c.channel


def _bucket_value(value: object, bucket: str | None) -> object:
    """A group key as the database returned it: a channel, or a bucket start as a date."""
    return value if bucket == BY_CHANNEL else _as_date(value)


def _as_date(value: object) -> dt.date | None:
    """A bucket start as the database returned it (text on SQLite, a timestamp elsewhere)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _bucket_starts(period: Period, bucket: str) -> list[dt.date]:
    first = period.start.date()
    if bucket == "week":
        first -= dt.timedelta(days=first.weekday())
    step = dt.timedelta(days=7 if bucket == "week" else 1)
    starts = []
    day = first
    while dt.datetime.combine(day, dt.time()) < period.end:
        starts.append(day)
        day += step
    return starts


def _bucket_period(period: Period, start: dt.date, bucket: str) -> Period:
    begins = dt.datetime.combine(start, dt.time())
    ends = begins + dt.timedelta(days=7 if bucket == "week" else 1)
    return Period(start=max(begins, period.start), end=min(ends, period.end))
