"""Edit impact: did an article change help? (DESIGN.md §7 "Edit impact").

For a revision of an article made at time T, two figures are compared in equal windows just
before and just after T:

- the failed-search rate of the searches that *surfaced* the article: searches whose results
  shown (``SearchEvent.shown_keys``) contain the article's key; "failed" exactly as in
  :func:`kb.insights.metrics.search_counts` (a contact in the same visit within 30 minutes);
- the article's helpfulness: "yes" / ("yes" + "no") answers to "Was this helpful?".

Windows: ``length = min(now - T, MAX_WINDOW)``; before = ``[T - length, T)``, after =
``[T, T + length)``. So a revision made yesterday is judged on a day on each side, and one made
long ago on MAX_WINDOW (30 days) on each side; equal lengths keep weekly rhythms and growth from
reading as an effect. Later revisions inside the after window are part of it: the revision
list shows each of them with its own figures.

Each comparison is a two-proportion z-test (pooled, two-sided), computed here with
``math.erf``. Below MIN_SEARCHES searches or MIN_VOTES votes on either side it reports "not
enough data yet" (``enough_data`` False, no z and no p-value): such small samples give
p-values that swing with one customer.

Finding the searches: ``shown_keys`` is a JSON list, which SQL cannot search portably (no
common JSON operator for SQLite and PostgreSQL). The list's JSON text contains the key in
double quotes (keys are "lang/slug" with slug ``[a-z0-9-]``, so nothing in them is escaped),
so ``CAST(shown_keys AS TEXT) LIKE '%"en/slug"%'`` matches exactly the lists that have the
key as an element (a quote inside a JSON string is escaped, so the quoted key cannot be part
of a longer element); it is evaluated inside the windows on the indexed timestamp, and the
lists are never decoded in Python.
Computing several revisions (:func:`edit_impacts`, and the revisions of several articles in
:func:`recent_edits`) reads the union of their windows once, in one scan for all articles.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Text, and_, case, cast, func, or_, select

from kb.content.revisions import ArticleRevision
from kb.extensions import db
from kb.insights.metrics import UNDEFINED, Metric, Period, _search_flags
from kb.insights.models import Feedback, SearchEvent, utcnow

# The longest window on each side of an edit.
MAX_WINDOW = dt.timedelta(days=30)
# Fewer searches (or votes) than this on either side: "not enough data yet". With 20 searches
# one failed search moves the rate by 5 points; with 10 votes one vote moves it by 10.
MIN_SEARCHES = 20
MIN_VOTES = 10
# Below this p-value a change is reported as unlikely to be chance.
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Comparison:
    """One figure before and after an edit, with a two-proportion z-test when there is data."""

    before: Metric
    after: Metric
    # The smallest denominator on each side for a test.
    minimum: int
    z: float | None
    p_value: float | None

    @property
    def enough_data(self) -> bool:
        return self.z is not None

    @property
    def change(self) -> float | None:
        """After minus before, in proportion points (e.g. -0.2 for 25% -> 5%)."""
        if self.before.value is None or self.after.value is None:
            return None
        return self.after.value - self.before.value

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < SIGNIFICANCE


@dataclass(frozen=True)
class EditImpact:
    article_key: str
    at: dt.datetime
    # Length of each window; zero for an edit made "now" (nothing to compare yet).
    window: dt.timedelta
    failed_searches: Comparison
    helpfulness: Comparison

    @property
    def before(self) -> Period | None:
        return Period(self.at - self.window, self.at) if self.window else None

    @property
    def after(self) -> Period | None:
        return Period(self.at, self.at + self.window) if self.window else None

    @property
    def window_days(self) -> float:
        return round(self.window.total_seconds() / 86_400, 1)

    @property
    def window_hours(self) -> float:
        return round(self.window.total_seconds() / 3_600, 1)


@dataclass(frozen=True)
class Edit:
    """A revision of an article with its impact."""

    revision_id: int
    article_key: str
    created_at: dt.datetime
    author: str
    action: str
    impact: EditImpact

    @property
    def lang(self) -> str:
        return self.article_key.partition("/")[0]

    @property
    def slug(self) -> str:
        return self.article_key.partition("/")[2]


def two_proportion_test(
    successes_1: int, total_1: int, successes_2: int, total_2: int
) -> tuple[float, float]:
    """Pooled two-proportion z-test of sample 2 against sample 1: ``(z, two-sided p-value)``.

    z = (p2 - p1) / sqrt(p (1 - p) (1/n1 + 1/n2)) with p the pooled proportion; the p-value is
    2 (1 - Φ(|z|)) = 1 - erf(|z| / √2). When both samples are all successes or all failures
    there is no variance and no difference: z = 0, p = 1.
    """
    if total_1 <= 0 or total_2 <= 0:
        raise ValueError("both samples need at least one observation")
    pooled = (successes_1 + successes_2) / (total_1 + total_2)
    variance = pooled * (1 - pooled) * (1 / total_1 + 1 / total_2)
    if variance <= 0:
        return 0.0, 1.0
    z = (successes_2 / total_2 - successes_1 / total_1) / math.sqrt(variance)
    return z, 1 - math.erf(abs(z) / math.sqrt(2))


def compare(before: Metric, after: Metric, minimum: int) -> Comparison:
    """The comparison of two rates, tested only when each side has ``minimum`` observations."""
    if min(before.denominator, after.denominator) < max(minimum, 1):
        return Comparison(before, after, minimum, None, None)
    z, p_value = two_proportion_test(
        before.numerator, before.denominator, after.numerator, after.denominator
    )
    return Comparison(before, after, minimum, z, p_value)


def edit_impact(article_key: str, at: dt.datetime, now: dt.datetime | None = None) -> EditImpact:
    """The impact of a change of ``article_key`` at ``at`` (naive UTC), as of ``now``."""
    return edit_impacts(article_key, [at], now)[0]


def edit_impacts(
    article_key: str, times: Sequence[dt.datetime], now: dt.datetime | None = None
) -> list[EditImpact]:
    """:func:`edit_impact` for several changes of one article, reading its events once."""
    return _impacts({article_key: list(times)}, now or utcnow())[article_key]


def _impacts(
    times_by_key: dict[str, list[dt.datetime]], now: dt.datetime
) -> dict[str, list[EditImpact]]:
    """The impacts of the changes of several articles, reading the events of all once."""
    edits = [(key, at, _window(at, now)) for key, times in times_by_key.items() for at in times]
    spans = _merged((at - length, at + length) for _key, at, length in edits)
    failed_rates = _failed_search_rates(edits, spans)
    votes = _votes(list(times_by_key), spans)
    impacts: dict[str, list[EditImpact]] = {key: [] for key in times_by_key}
    for (key, at, length), failed in zip(edits, failed_rates, strict=True):
        helpful = [_rate(votes[key], at - length, at), _rate(votes[key], at, at + length)]
        impacts[key].append(
            EditImpact(
                article_key=key,
                at=at,
                window=length,
                failed_searches=compare(*failed, MIN_SEARCHES),
                helpfulness=compare(*helpful, MIN_VOTES),
            )
        )
    return impacts


def article_edits(article_key: str, limit: int = 100, now: dt.datetime | None = None) -> list[Edit]:
    """The article's revisions, newest first, each with its impact."""
    rows = db.session.scalars(
        select(ArticleRevision)
        .where(ArticleRevision.article_key == article_key)
        .order_by(ArticleRevision.created_at.desc(), ArticleRevision.id.desc())
        .limit(limit)
    ).all()
    return _with_impact(rows, now)


def recent_edits(
    limit: int = 10,
    lang: str | None = None,
    *,
    period: Period | None = None,
    now: dt.datetime | None = None,
) -> list[Edit]:
    """The latest revisions of any article (of ``lang``; made in ``period``), with impact."""
    statement = select(ArticleRevision)
    if lang is not None:
        statement = statement.where(
            ArticleRevision.article_key.startswith(f"{lang}/", autoescape=True)
        )
    if period is not None:
        statement = statement.where(
            ArticleRevision.created_at >= period.start, ArticleRevision.created_at < period.end
        )
    rows = db.session.scalars(
        statement.order_by(ArticleRevision.created_at.desc(), ArticleRevision.id.desc()).limit(
            limit
        )
    ).all()
    return _with_impact(rows, now)


# -- internals --------------------------------------------------------------------------------

# Timestamps (sorted) with 1 for a failed search / helpful vote, 0 otherwise.
_Events = tuple[list[dt.datetime], list[int]]


def _with_impact(rows: Sequence[ArticleRevision], now: dt.datetime | None) -> list[Edit]:
    now = now or utcnow()
    by_article: dict[str, list[ArticleRevision]] = defaultdict(list)
    for row in rows:
        by_article[row.article_key].append(row)
    found = _impacts(
        {key: [row.created_at for row in revisions] for key, revisions in by_article.items()},
        now,
    )
    impacts: dict[int, EditImpact] = {}
    for key, revisions in by_article.items():
        impacts.update({row.id: impact for row, impact in zip(revisions, found[key], strict=True)})
    return [
        Edit(
            revision_id=row.id,
            article_key=row.article_key,
            created_at=row.created_at,
            author=row.author,
            action=row.action,
            impact=impacts[row.id],
        )
        for row in rows
    ]


def _window(at: dt.datetime, now: dt.datetime) -> dt.timedelta:
    return max(dt.timedelta(0), min(now - at, MAX_WINDOW))


def _merged(spans: Iterable[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, ...]]:
    merged: list[list[dt.datetime]] = []
    for start, end in sorted(span for span in spans if span[0] < span[1]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [tuple(span) for span in merged]


def _during(column, spans: Sequence[tuple[dt.datetime, ...]]):
    return or_(*[(column >= start) & (column < end) for start, end in spans])


def _failed_search_rates(
    edits: Sequence[tuple[str, dt.datetime, dt.timedelta]],
    spans: Sequence[tuple[dt.datetime, ...]],
) -> list[tuple[Metric, Metric]]:
    """Per edit (key, time, window), the failed-search rate of the searches that showed the
    article before and after it: one aggregate over the spans for every edit.
    """
    keys = sorted({key for key, _at, _length in edits})
    if not spans or not keys:
        return [(UNDEFINED, UNDEFINED)] * len(edits)
    # "Failed" looked up for each search that showed an article (a few of the searches
    # scanned), which is cheaper here than building the set of the spans' failed searches.
    failed = _search_flags().failed
    shown_text = cast(SearchEvent.shown_keys, Text)
    # Each article's text match only inside its own windows: half the matching, or less.
    showed = [
        and_(
            _during(SearchEvent.created_at, _merged(window for window in _windows(edits, key))),
            shown_text.contains(f'"{key}"', autoescape=True),
        )
        for key in keys
    ]
    searches = (
        select(
            SearchEvent.created_at,
            failed.label("failed"),
            *[case((shows, 1), else_=0).label(f"shows_{n}") for n, shows in enumerate(showed)],
        )
        .where(_during(SearchEvent.created_at, spans), SearchEvent.result_count > 0, or_(*showed))
        # Materialized: once per search, not once per sum below (SQLite would inline it).
        .cte("surfacing")
        .prefix_with("MATERIALIZED")
    )
    sides = []
    for key, at, length in edits:
        for start, end in ((at - length, at), (at, at + length)):
            inside = and_(
                searches.c[f"shows_{keys.index(key)}"] == 1,
                searches.c.created_at >= start,
                searches.c.created_at < end,
            )
            sides.append(inside)
    totals = db.session.execute(
        select(
            *[
                aggregate
                for inside in sides
                for aggregate in (
                    func.sum(case((inside, 1), else_=0)),
                    func.sum(case((and_(inside, searches.c.failed == 1), 1), else_=0)),
                )
            ]
        )
    ).one()
    counts = [int(value or 0) for value in totals]
    rates = [Metric.ratio(counts[i + 1], counts[i]) for i in range(0, len(counts), 2)]
    return [(rates[i], rates[i + 1]) for i in range(0, len(rates), 2)]


def _windows(
    edits: Sequence[tuple[str, dt.datetime, dt.timedelta]], article_key: str
) -> list[tuple[dt.datetime, dt.datetime]]:
    return [(at - length, at + length) for key, at, length in edits if key == article_key]


def _votes(
    article_keys: Sequence[str], spans: Sequence[tuple[dt.datetime, ...]]
) -> dict[str, _Events]:
    found: dict[str, _Events] = {key: ([], []) for key in article_keys}
    if not spans or not article_keys:
        return found
    rows = db.session.execute(
        select(Feedback.article_key, Feedback.created_at, case((Feedback.helpful, 1), else_=0))
        .where(Feedback.article_key.in_(article_keys), _during(Feedback.created_at, spans))
        .order_by(Feedback.created_at)
    )
    for key, at, yes in rows:
        times, flags = found[key]
        times.append(at)
        flags.append(int(yes))
    return found


def _rate(events: _Events, start: dt.datetime, end: dt.datetime) -> Metric:
    """Share of events in ``[start, end)`` flagged 1."""
    times, flags = events
    first, last = bisect.bisect_left(times, start), bisect.bisect_left(times, end)
    return Metric.ratio(sum(flags[first:last]), last - first)
