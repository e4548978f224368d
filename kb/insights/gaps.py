"""Content gaps for writers: the customer questions that still end in a contact (DESIGN.md §7).

A gap is a group of searches in one language whose queries mean the same to search:

- every search is first grouped by its stored ``normalized_query`` (Arabic letter variants
  folded, lower-cased, punctuation removed: "إلغاء الطلب" and "الغاء الطلب" are one query);
- those groups are then merged by their *analysed* form: each word through the search
  analyser's own word function (`kb.search.text.analyse_word`: stop words dropped, Arabic
  light stemming, English Porter2), in the order typed. So "cancel my order" and
  "cancelling orders", or "إلغاء طلبي" and "الغاء الطلب", are one gap: search finds the same
  terms for them, so one article change fixes them all. Word order is kept (different order
  can ask something else), and a query made only of stop words stays a group of its own.
  This is plain Python on the distinct queries of the period, cheap next to the SQL.

Figures per gap (each search counted in the period of its own timestamp):

- searches, failed (a contact request in the same visit within 30 minutes, exactly as
  :func:`kb.insights.metrics.search_counts` counts it), zero results, click-through;
- shown: in how many of the gap's searches each article was among the results shown;
- opened: article views that came from the gap's searches;
- linked: contact requests after the gap's failed searches for which a manager chose the
  article that would have answered them (``ContactRequest.answer_key``), each request once.

Gaps are the groups with at least one failed or zero-result search, ranked by failed
searches, then zero results, then searches, then the query (so the order is stable). The
"top article" a writer should open is the one managers linked most, else the one opened most,
else the one shown most: a person's judgement first, then what customers chose, then what
search offered. Aggregates are set-based SQL (grouped counts, the metrics' sets of failed
and opened searches; the groups' counts come from the daily roll-ups of kb.insights.rollups
for the whole past days of the period, the articles shown from the JSON lists of shown keys
of the gaps' searches, unnested by the database).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache

from sqlalchemy import func, select, true

from kb.contact.models import ContactRequest
from kb.extensions import db
from kb.insights.metrics import (
    ATTRIBUTION_WINDOW,
    Metric,
    Period,
    _rolled_search_filters,
    _Scope,
    _search_flags,
    _split_by_rollups,
    _within_window,
)
from kb.insights.models import ArticleView, SearchDay, SearchEvent
from kb.search.text import analyse_word

DEFAULT_LIMIT = 50
# Articles listed per gap under "shown", "opened" and "linked".
ARTICLES_PER_GAP = 5


@dataclass(frozen=True)
class ArticleCount:
    key: str
    count: int

    @property
    def lang(self) -> str:
        return self.key.partition("/")[0]

    @property
    def slug(self) -> str:
        return self.key.partition("/")[2]


@dataclass(frozen=True)
class ContentGap:
    lang: str
    # The gap's most searched normalised query, as it is shown.
    query: str
    # The most searched phrasing as customers typed it (redacted): a new article's question.
    question: str
    # Every normalised query grouped here, most searched first.
    variants: tuple[str, ...]
    searches: int
    failed: int
    zero_results: int
    click_through: Metric
    shown: tuple[ArticleCount, ...]
    opened: tuple[ArticleCount, ...]
    linked: tuple[ArticleCount, ...]
    # The article to open in the editor (see the module docstring); None when there is none.
    top_article: str | None


@lru_cache(maxsize=100_000)
def gap_key(normalized_query: str) -> str:
    """What groups queries into one gap: their analysed words in order (see module)."""
    terms = [analyse_word(word) for word in normalized_query.split()]
    analysed = " ".join(term for term in terms if term)
    # "=" cannot come out of the analyser: a stop-word-only query never merges with another.
    return analysed or f"={normalized_query}"


def content_gaps(
    period: Period,
    lang: str | None = None,
    limit: int = DEFAULT_LIMIT,
    *,
    existing_keys: Collection[str] | None = None,
) -> list[ContentGap]:
    """The period's content gaps, most failed searches first (see the module docstring).

    ``existing_keys`` (article keys that can be opened in the editor), when given, restricts
    the choice of ``top_article`` to them; the lists of articles are reported as recorded.
    """
    groups = _groups(period, lang)
    gaps = [group for group in groups.values() if group.failed or group.zero_results]
    gaps.sort(key=lambda g: (-g.failed, -g.zero_results, -g.searches, g.query, g.lang))
    gaps = gaps[:limit]
    if not gaps:
        return []
    wanted = {(g.lang, query): g for g in gaps for query in g.counts}
    filters = _filters(period, lang) + [
        SearchEvent.normalized_query.in_(sorted({query for _lang, query in wanted}))
    ]
    _add_phrasings(wanted, filters)
    _add_shown(wanted, filters)
    _add_opened(wanted, filters)
    _add_linked(wanted, filters, period)
    return [group.gap(existing_keys) for group in gaps]


# -- internals --------------------------------------------------------------------------------


class _Group:
    """A gap being assembled (mutable; :meth:`gap` freezes it)."""

    def __init__(self, lang: str):
        self.lang = lang
        # normalised query -> searches
        self.counts: Counter[str] = Counter()
        self.searches = self.failed = self.zero_results = self.with_results = self.clicked = 0

    # The details, made on first use: only the gaps returned have any, out of every group of
    # the period (tens of thousands in a year).
    @cached_property
    def phrasings(self) -> Counter[str]:
        return Counter()

    @cached_property
    def shown(self) -> Counter[str]:
        return Counter()

    @cached_property
    def opened(self) -> Counter[str]:
        return Counter()

    @cached_property
    def linked_contacts(self) -> dict[str, set[int]]:
        return defaultdict(set)

    @property
    def query(self) -> str:
        return _ranked(self.counts)[0]

    def gap(self, existing_keys: Collection[str] | None) -> ContentGap:
        linked = Counter({key: len(ids) for key, ids in self.linked_contacts.items()})
        return ContentGap(
            lang=self.lang,
            query=self.query,
            question=_ranked(self.phrasings)[0] if self.phrasings else self.query,
            variants=tuple(_ranked(self.counts)),
            searches=self.searches,
            failed=self.failed,
            zero_results=self.zero_results,
            click_through=Metric.ratio(self.clicked, self.with_results),
            shown=_top(self.shown),
            opened=_top(self.opened),
            linked=_top(linked),
            top_article=_top_article((linked, self.opened, self.shown), existing_keys),
        )


def _filters(period: Period, lang: str | None) -> list:
    filters = [SearchEvent.created_at >= period.start, SearchEvent.created_at < period.end]
    if lang is not None:
        filters.append(SearchEvent.lang == lang)
    return filters


def _groups(period: Period, lang: str | None) -> dict[tuple[str, str], _Group]:
    rolled, live = _split_by_rollups(period)
    parts = [_raw_groups(piece, lang) for piece in live]
    if rolled is not None:
        parts.append(_rolled_groups(rolled, lang))
    groups: dict[tuple[str, str], _Group] = {}
    for rows in parts:
        for search_lang, query, count, failed, zeros, with_results, clicked in rows:
            group = groups.setdefault((search_lang, gap_key(query)), _Group(search_lang))
            group.counts[query] += int(count)
            group.searches += int(count)
            group.failed += int(failed or 0)
            group.zero_results += int(zeros or 0)
            group.with_results += int(with_results or 0)
            group.clicked += int(clicked or 0)
    return groups


def _raw_groups(period: Period, lang: str | None):
    flags = _search_flags(period)
    return db.session.execute(
        select(
            SearchEvent.lang,
            SearchEvent.normalized_query,
            func.count(),
            func.sum(flags.failed),
            func.sum(flags.zero_results),
            func.sum(flags.with_results),
            func.sum(flags.clicked),
        )
        .where(*_filters(period, lang))
        .group_by(SearchEvent.lang, SearchEvent.normalized_query)
    )


def _rolled_groups(period: Period, lang: str | None):
    """The same groups from the daily roll-ups (``period`` is whole days)."""
    filters = _rolled_search_filters(_Scope.of(period, lang, None, None))
    return db.session.execute(
        select(
            SearchDay.lang,
            SearchDay.normalized_query,
            func.sum(SearchDay.searches),
            func.sum(SearchDay.failed),
            func.sum(SearchDay.zero_results),
            func.sum(SearchDay.with_results),
            func.sum(SearchDay.clicked),
        )
        .where(*filters)
        .group_by(SearchDay.lang, SearchDay.normalized_query)
    )


def _add_phrasings(wanted: dict[tuple[str, str], _Group], filters: list) -> None:
    rows = db.session.execute(
        select(SearchEvent.lang, SearchEvent.normalized_query, SearchEvent.query, func.count())
        .where(*filters)
        .group_by(SearchEvent.lang, SearchEvent.normalized_query, SearchEvent.query)
    )
    for search_lang, query, typed, count in rows:
        group = wanted.get((search_lang, query))
        if group is not None and typed.strip():
            group.phrasings[" ".join(typed.split())] += count


def _add_shown(wanted: dict[tuple[str, str], _Group], filters: list) -> None:
    shown = _json_list_items(SearchEvent.shown_keys)
    rows = db.session.execute(
        select(
            SearchEvent.lang,
            SearchEvent.normalized_query,
            shown.c.value,
            # A key listed twice in one search was still shown to one customer once.
            func.count(SearchEvent.id.distinct()),
        )
        .select_from(SearchEvent)
        .join(shown, true())
        .where(*filters, SearchEvent.result_count > 0)
        .group_by(SearchEvent.lang, SearchEvent.normalized_query, shown.c.value)
    )
    for search_lang, query, key, count in rows:
        group = wanted.get((search_lang, query))
        if group is not None:
            group.shown[key] += count


def _json_list_items(column):
    """The items of a JSON list column as rows with a ``value`` column (one per item)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.json_array_elements_text(column).table_valued("value")
    return func.json_each(column).table_valued("value")


def _add_opened(wanted: dict[tuple[str, str], _Group], filters: list) -> None:
    rows = db.session.execute(
        select(
            SearchEvent.lang, SearchEvent.normalized_query, ArticleView.article_key, func.count()
        )
        .join(ArticleView, ArticleView.search_id == SearchEvent.id)
        .where(*filters)
        .group_by(SearchEvent.lang, SearchEvent.normalized_query, ArticleView.article_key)
    )
    for search_lang, query, key, count in rows:
        group = wanted.get((search_lang, query))
        if group is not None:
            group.opened[key] += count


def _add_linked(wanted: dict[tuple[str, str], _Group], filters: list, period: Period) -> None:
    answered = ContactRequest.answer_key.is_not(None) & (ContactRequest.answer_key != "")
    # The visits with an answered request that can follow a search of the period: without
    # them, SQLite looks for requests after each of the gaps' searches, by far the more rows.
    answered_visits = select(ContactRequest.visit_id).where(
        answered,
        ContactRequest.created_at >= period.start,
        ContactRequest.created_at <= period.end + ATTRIBUTION_WINDOW,
    )
    rows = db.session.execute(
        select(
            SearchEvent.lang,
            SearchEvent.normalized_query,
            ContactRequest.answer_key,
            ContactRequest.id,
        )
        .join(
            ContactRequest,
            (ContactRequest.visit_id == SearchEvent.visit_id)
            & _within_window(SearchEvent.created_at, ContactRequest.created_at),
        )
        .where(*filters, answered, SearchEvent.visit_id.in_(answered_visits))
        .distinct()
    )
    for search_lang, query, key, contact_id in rows:
        group = wanted.get((search_lang, query))
        if group is not None:
            group.linked_contacts[key].add(contact_id)


def _ranked(counts: Counter[str]) -> list[str]:
    return [item for item, _count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _top(counts: Counter[str]) -> tuple[ArticleCount, ...]:
    return tuple(ArticleCount(key, counts[key]) for key in _ranked(counts)[:ARTICLES_PER_GAP])


def _top_article(
    rankings: Iterable[Counter[str]], existing_keys: Collection[str] | None
) -> str | None:
    for counts in rankings:
        for key in _ranked(counts):
            if existing_keys is None or key in existing_keys:
                return key
    return None
