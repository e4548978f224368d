"""Simulated visit history for demonstrations: plausible, reproducible and clearly labelled.

Every simulated row has a visit id starting with ``sim-`` (no real visit id does: they are
hex tokens), so :func:`clear_simulated` removes exactly these rows and nothing else. Simulated
contact requests come from "Simulated customer" at an ``example.invalid`` address and have the
delivery status ``simulated``, so they are never passed on to the support team.

The rows are the ones the recording functions in :mod:`kb.insights.events` write (same
redaction and normalisation of the search text), built here directly: those functions commit
each event and stamp it with the current time, while a simulation needs past timestamps and
has to write a million rows in minutes. So visits are generated as plain rows, in the order
they happened (as a real site appends its events, which keeps a period's rows together on
disk), and written in batches of BATCH_VISITS visits, one transaction per batch, with
multi-row ``INSERT``s per table (SQLAlchemy Core ``executemany``; ``RETURNING`` gives the ids
of the flows and searches that later rows point to).

How visits map to events: a visit writes 2.3 rows on average (searches, article views,
feedback answers, contact flows, contact requests and effort scores together), so 1,000,000
events are about 430,000 visits.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Table, delete, insert, select

from kb.contact.models import ContactRequest
from kb.content import Article
from kb.extensions import db
from kb.insights import rollups
from kb.insights.events import EFFORT_SCORES, QUERY_LIMIT
from kb.insights.models import (
    ArticleView,
    ContactFlow,
    EffortScore,
    Feedback,
    SearchEvent,
    utcnow,
)
from kb.insights.redact import redact

VISIT_PREFIX = "sim-"
MAX_VISITS = 1_000_000
MAX_EVENTS = 3_000_000
MAX_DAYS = 366
SIMULATED_NAME = "Simulated customer"
SIMULATED_DOMAIN = "example.invalid"
SIMULATED_STATUS = "simulated"
# Visits per transaction: about 6,000 rows, a few multi-row INSERTs per table.
BATCH_VISITS = 2000
# Visits of the trial run that estimates how many visits make a number of events.
PILOT_VISITS = 3000
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Relative visits per UTC hour: quiet at night, busiest in the afternoon and evening.
_HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 9, 9, 10, 10, 10, 10, 9, 9, 8, 6, 4, 3)
# Fewer visits at the weekend (Friday and Saturday for the sample shop's Gulf customers).
_WEEKEND = (4, 5)
_WEEKEND_WEIGHT = 0.6
# Questions no article answers: they show up as zero-result and failed searches.
_UNANSWERED = {
    "en": (
        "do you sell car parts",
        "job vacancies",
        "pay with bitcoin",
        "franchise opportunities",
        "wholesale price list",
        "repair my laptop screen",
    ),
    "ar": (
        "هل تبيعون قطع غيار سيارات",
        "وظائف شاغرة",
        "الدفع بالبتكوين",
        "فرص الامتياز التجاري",
        "قائمة أسعار الجملة",
        "تصليح شاشة اللابتوب",
    ),
}
_LANGUAGE_WEIGHTS = {"ar": 55, "en": 45}


@dataclass(frozen=True)
class SimulationReport:
    visits: int
    searches: int
    article_views: int
    feedback: int
    contact_flows: int
    resolved: int
    contacts: int
    effort_scores: int

    @property
    def events(self) -> int:
        """Rows written to the event tables (contact requests included)."""
        return (
            self.searches
            + self.article_views
            + self.feedback
            + self.contact_flows
            + self.contacts
            + self.effort_scores
        )


def simulate(
    articles: Sequence[Article],
    visits: int | None,
    days: int,
    seed: int | None = None,
    *,
    now: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None,
    events: int | None = None,
) -> SimulationReport:
    """Add ``visits`` simulated visits (or enough for ``events`` rows) over ``days`` days.

    The visits are spread over the ``days`` days before ``now`` and written in the order they
    happened, as real events are. The same seed, articles, ``now`` and count give the same
    rows. Visits are more frequent on weekdays and in the daytime; each one searches (some
    queries with typos, some nothing answers), reads, rates, or goes through the contact flow,
    which ends resolved (often with an effort score), with a contact request, or abandoned.

    With ``events``, the number of visits is estimated from a trial run of PILOT_VISITS
    visits that writes nothing; if the events still fall short, a few more visits at random
    moments make up the count, so there are at least ``events`` rows (about 1% more at most).
    ``progress`` is called after each batch with the number of visits written, or of events
    when ``events`` is given.
    """
    if (visits is None) == (events is None):
        raise ValueError("give either a number of visits or a number of events")
    if visits is not None and not 0 <= visits <= MAX_VISITS:
        raise ValueError(f"visits must be between 0 and {MAX_VISITS}")
    if events is not None and not 0 <= events <= MAX_EVENTS:
        raise ValueError(f"events must be between 0 and {MAX_EVENTS}")
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    by_lang: dict[str, list[Article]] = {}
    for article in sorted(articles, key=lambda a: a.key):
        if article.published:
            by_lang.setdefault(article.lang, []).append(article)
    if not by_lang:
        raise ValueError("there are no published articles to simulate visits to")
    now = now or utcnow()
    if events is not None:
        visits = _visits_for(events, by_lang, now, days, seed)
    simulation = _Simulation(random.Random(seed), by_lang, now, days)
    starts = sorted(simulation.visit_start() for _ in range(visits))
    # More visits at random moments only if the estimate fell short of the events asked for.
    extra = (simulation.visit_start() for _ in range(visits, MAX_VISITS))
    number = 0
    for moment in itertools.chain(starts, extra):
        if number >= visits and simulation.events >= (events or 0):
            break
        simulation.visit(number, moment)
        number += 1
        if simulation.batch.visits == BATCH_VISITS:
            _write(simulation, progress, events is not None)
    _write(simulation, progress, events is not None)
    # Rows of past days were added: days rolled up meanwhile are computed again when read.
    rollups.mark_all_stale()
    db.session.commit()
    return simulation.report(number)


def _visits_for(
    events: int, by_lang: dict[str, list[Article]], now: dt.datetime, days: int, seed: int | None
) -> int:
    """Visits that make about ``events`` rows, from a trial run that writes nothing."""
    trial = _Simulation(random.Random(f"trial-{seed}"), by_lang, now, days)
    for number in range(PILOT_VISITS):
        trial.visit(number, trial.visit_start())
    return min(MAX_VISITS, events * PILOT_VISITS // max(1, trial.events))


def _write(simulation: _Simulation, progress: Callable[[int], None] | None, events: bool) -> None:
    visits, rows = simulation.batch.visits, simulation.batch.rows
    if not visits:
        return
    simulation.write_batch()
    if progress is not None:
        progress(rows if events else visits)


def clear_simulated() -> dict[str, int]:
    """Delete every simulated row (visit id starting with ``sim-``); return counts per table."""
    # Children first: scores, views and requests point at flows and searches.
    removed = {}
    for model in (EffortScore, ArticleView, Feedback, ContactRequest, SearchEvent, ContactFlow):
        result = db.session.execute(
            delete(model)
            .where(model.visit_id.startswith(VISIT_PREFIX, autoescape=True))
            .execution_options(synchronize_session=False)
        )
        removed[model.__tablename__] = result.rowcount
    rollups.mark_all_stale()
    db.session.commit()
    return removed


def is_simulated(visit_id: str) -> bool:
    return visit_id.startswith(VISIT_PREFIX)


class _Row(dict):
    """Column values of one row to insert; ``id`` is set once it is written."""

    id: int | None = None


class _Batch:
    """The rows of the visits not yet written, table by table, in the order they happened."""

    def __init__(self) -> None:
        self.visits = 0
        # Event rows (every list below) so far.
        self.rows = 0
        self.flows: list[_Row] = []
        self.searches: list[tuple[_Row, _Row | None]] = []  # (row, its flow)
        self.views: list[tuple[_Row, _Row | None]] = []  # (row, the search it came from)
        self.feedback: list[_Row] = []
        self.scores: list[tuple[_Row, _Row]] = []  # (row, its flow)
        self.contacts: list[tuple[_Row, _Row]] = []  # (row, its flow)

    def write(self) -> None:
        """Insert every row in one transaction: parents first, so children get their ids."""
        connection = db.session.connection()
        _insert_returning_ids(connection, ContactFlow.__table__, self.flows)
        _insert_returning_ids(
            connection, SearchEvent.__table__, _with_parents(self.searches, "flow_id")
        )
        for table, rows in (
            (ArticleView.__table__, _with_parents(self.views, "search_id")),
            (Feedback.__table__, self.feedback),
            (EffortScore.__table__, _with_parents(self.scores, "flow_id")),
            (ContactRequest.__table__, _with_parents(self.contacts, "flow_id")),
        ):
            if rows:
                connection.execute(insert(table), rows)
        db.session.commit()


def _with_parents(rows: list[tuple[_Row, _Row | None]], column: str) -> list[_Row]:
    """The rows, each with ``column`` set to the id of its (already written) parent."""
    for row, parent in rows:
        row[column] = parent.id if parent is not None else None
    return [row for row, _parent in rows]


def _insert_returning_ids(connection, table: Table, rows: list[_Row]) -> None:
    if not rows:
        return
    # insertmanyvalues: one multi-row INSERT ... RETURNING per chunk, ids in parameter order.
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = connection.execute(statement, rows).scalars().all()
    for row, new_id in zip(rows, ids, strict=True):
        row.id = new_id


class _Simulation:
    def __init__(
        self,
        rng: random.Random,
        by_lang: dict[str, list[Article]],
        now: dt.datetime,
        days: int,
    ):
        self.rng = rng
        self.by_lang = by_lang
        self.languages = sorted(by_lang)
        self.weights = [_LANGUAGE_WEIGHTS.get(lang, 10) for lang in self.languages]
        self.by_key = {article.key: article for found in by_lang.values() for article in found}
        # Per article: the other articles of its language, and those of its category.
        self.others = {
            article.key: [a for a in by_lang[article.lang] if a.key != article.key]
            for article in self.by_key.values()
        }
        self.related = {
            key: [a for a in others if a.category == self.by_key[key].category]
            for key, others in self.others.items()
        }
        # Every visit ends (30 minutes at most) before now, so none is still in progress.
        self.end = now - dt.timedelta(hours=1)
        self.start = now - dt.timedelta(days=days)
        self.run = "".join(rng.choice("0123456789abcdef") for _ in range(8))
        # Some articles readers find less helpful, so "lowest helpfulness" has a story to tell.
        keys = sorted(article.key for found in by_lang.values() for article in found)
        self.weak = frozenset(rng.sample(keys, max(1, len(keys) // 5)))
        self.counts: Counter[str] = Counter()
        self.batch = _Batch()
        self.references = set(
            db.session.scalars(
                select(ContactRequest.reference).where(
                    ContactRequest.visit_id.startswith(VISIT_PREFIX, autoescape=True)
                )
            )
        )

    @property
    def events(self) -> int:
        # Every counted row except "resolved", which counts flows a second time.
        return sum(self.counts.values()) - self.counts["resolved"]

    def report(self, visits: int) -> SimulationReport:
        return SimulationReport(visits=visits, **{f: self.counts[f] for f in _REPORT_FIELDS})

    def write_batch(self) -> None:
        self.batch.write()
        self.batch = _Batch()

    # -- one visit --------------------------------------------------------------------------

    def visit(self, number: int, start: dt.datetime) -> None:
        rng = self.rng
        before = self.events
        self.batch.visits += 1
        visit_id = f"{VISIT_PREFIX}{self.run}-{number:06d}"
        lang = rng.choices(self.languages, self.weights)[0]
        clock = _Clock(start, rng)
        need = rng.choice(self.by_lang[lang])
        kind = rng.random()
        if kind < 0.15:
            self.read(visit_id, clock, need, search=None, position=None)
        elif kind < 0.65:
            self.search_and_read(visit_id, lang, clock, need)
        else:
            if rng.random() < 0.4:
                self.search_and_read(visit_id, lang, clock, need, read_chance=0.5)
            self.contact_flow(visit_id, lang, clock, need)
        self.batch.rows += self.events - before

    def visit_start(self) -> dt.datetime:
        span = (self.end - self.start).total_seconds()
        top = max(_HOUR_WEIGHTS)
        while True:
            moment = self.start + dt.timedelta(seconds=self.rng.uniform(0, span))
            weight = _HOUR_WEIGHTS[moment.hour] / top
            if moment.weekday() in _WEEKEND:
                weight *= _WEEKEND_WEIGHT
            if self.rng.random() < weight:
                return moment

    def search_and_read(
        self, visit_id: str, lang: str, clock: _Clock, need: Article, read_chance: float = 0.7
    ) -> None:
        for _attempt in range(self.rng.choice((1, 1, 1, 2))):
            query, shown = self.query_for(lang, need)
            search = self.search(visit_id, lang, clock.next(0.1, 1), query, shown, "search")
            if shown and self.rng.random() < read_chance:
                position = shown.index(need.key) + 1 if need.key in shown else 1
                opened = self.by_key[shown[position - 1]]
                self.read(visit_id, clock, opened, search, position)
                if opened.key == need.key:
                    return

    def read(
        self,
        visit_id: str,
        clock: _Clock,
        article: Article,
        search: _Row | None,
        position: int | None,
    ) -> None:
        view = _Row(
            visit_id=visit_id,
            article_key=article.key,
            position=position,
            created_at=clock.next(0.2, 2),
        )
        self.batch.views.append((view, search))
        self.counts["article_views"] += 1
        if self.rng.random() < 0.3:
            helpful = self.rng.random() < (0.3 if article.key in self.weak else 0.8)
            self.batch.feedback.append(
                _Row(
                    visit_id=visit_id,
                    article_key=article.key,
                    helpful=helpful,
                    comment="",
                    created_at=clock.next(0.5, 4),
                )
            )
            self.counts["feedback"] += 1

    def contact_flow(self, visit_id: str, lang: str, clock: _Clock, need: Article) -> None:
        rng = self.rng
        started = clock.next(0.2, 2)
        flow = _Row(
            visit_id=visit_id,
            lang=lang,
            started_at=started,
            updated_at=started,
            outcome=None,
            resolved_key=None,
        )
        self.batch.flows.append(flow)
        self.counts["contact_flows"] += 1
        query, shown = self.query_for(lang, need)
        asked = clock.next(0.3, 2)
        self.search(visit_id, lang, asked, query, shown, "contact", flow)
        flow["question"] = _redacted(query)[:1000]
        flow["suggestions_shown"] = list(shown)
        flow["updated_at"] = asked
        answered = need.key in shown
        outcome = rng.random()
        if answered and outcome < 0.55:
            flow["outcome"] = "resolved"
            flow["resolved_key"] = need.key
            flow["updated_at"] = clock.next(0.5, 4)
            self.counts["resolved"] += 1
            if rng.random() < 0.6:
                self.effort(visit_id, lang, flow, clock)
        elif outcome < (0.8 if answered else 0.7):
            flow["outcome"] = "contacted"
            flow["updated_at"] = clock.next(1, 6)
            self.contact(visit_id, lang, flow, query, need)
        else:
            flow["updated_at"] = clock.next(0.2, 3)  # left: abandoned after FLOW_IDLE

    def effort(self, visit_id: str, lang: str, flow: _Row, clock: _Clock) -> None:
        score = self.rng.choices(list(EFFORT_SCORES), weights=(2, 2, 4, 7, 14, 24, 20))[0]
        row = _Row(visit_id=visit_id, lang=lang, score=score, created_at=clock.next(0.2, 1))
        self.batch.scores.append((row, flow))
        self.counts["effort_scores"] += 1

    def contact(self, visit_id: str, lang: str, flow: _Row, query: str, need: Article) -> None:
        self.counts["contacts"] += 1
        number = self.counts["contacts"]
        row = _Row(
            reference=self.reference(),
            visit_id=visit_id,
            created_at=flow["updated_at"],
            lang=lang,
            name=SIMULATED_NAME,
            email=f"simulated-{self.run}-{number}@{SIMULATED_DOMAIN}",
            category=need.category if self.rng.random() < 0.8 else "",
            message=f"(simulated) {query}",
            delivery_status=SIMULATED_STATUS,
        )
        self.batch.contacts.append((row, flow))

    # -- searches -----------------------------------------------------------------------------

    def query_for(self, lang: str, need: Article) -> tuple[str, list[str]]:
        """A query for the need, and the article keys its results show (empty: none)."""
        rng = self.rng
        if rng.random() < 0.12:
            return rng.choice(_UNANSWERED.get(lang, _UNANSWERED["en"])), []
        query = rng.choice((need.title, *need.questions))
        if rng.random() < 0.2:
            query = _typo(query, rng)
            if rng.random() < 0.3:
                return query, []
        others = self.others[need.key]
        related = self.related[need.key]
        shown = rng.sample(related, min(len(related), rng.randint(0, 2)))
        # By key: comparing whole articles (dataclass equality) is most of the run time.
        chosen = {a.key for a in shown}
        rest = [a for a in others if a.key not in chosen]
        shown += rng.sample(rest, min(len(rest), rng.randint(0, 2)))
        rank = rng.choices(range(min(3, len(shown) + 1)), weights=(70, 20, 10)[: len(shown) + 1])
        keys = [a.key for a in shown]
        keys.insert(rank[0], need.key)
        return query, keys

    def search(
        self,
        visit_id: str,
        lang: str,
        when: dt.datetime,
        query: str,
        shown: list[str],
        source: str,
        flow: _Row | None = None,
    ) -> _Row:
        safe_query, normalized = _search_texts(query)
        row = _Row(
            visit_id=visit_id,
            created_at=when,
            lang=lang,
            query=safe_query,
            normalized_query=normalized,
            result_count=len(shown) + (self.rng.randint(0, 4) if shown else 0),
            shown_keys=list(shown),
            source=source,
        )
        self.batch.searches.append((row, flow))
        self.counts["searches"] += 1
        return row

    def reference(self) -> str:
        while True:
            reference = "KB-" + "".join(self.rng.choice(_REFERENCE_ALPHABET) for _ in range(8))
            if reference not in self.references:
                self.references.add(reference)
                return reference


_REPORT_FIELDS = (
    "searches",
    "article_views",
    "feedback",
    "contact_flows",
    "resolved",
    "contacts",
    "effort_scores",
)


# Simulated queries are titles and questions with a few typos: a small set, seen many times.
@functools.lru_cache(maxsize=50_000)
def _redacted(text: str) -> str:
    return redact(text)


@functools.lru_cache(maxsize=50_000)
def _search_texts(query: str) -> tuple[str, str]:
    """The query as :func:`kb.insights.events.record_search` stores it, and its normal form."""
    from kb.search import normalize_query

    safe_query = _redacted(query)[:QUERY_LIMIT]
    return safe_query, normalize_query(safe_query)[:QUERY_LIMIT]


class _Clock:
    """The time within one visit, moving forward a few random minutes per step."""

    def __init__(self, start: dt.datetime, rng: random.Random):
        self.now = start
        self.rng = rng

    def next(self, low_minutes: float, high_minutes: float) -> dt.datetime:
        self.now += dt.timedelta(minutes=self.rng.uniform(low_minutes, high_minutes))
        return self.now


def _typo(text: str, rng: random.Random) -> str:
    """One slip of the finger in a longer word: a dropped, doubled or swapped letter."""
    words = text.split()
    long_words = [i for i, word in enumerate(words) if len(word) >= 4]
    if not long_words:
        return text
    index = rng.choice(long_words)
    word = words[index]
    at = rng.randrange(1, len(word) - 1)
    slip = rng.choice(("drop", "double", "swap"))
    if slip == "drop":
        word = word[:at] + word[at + 1 :]
    elif slip == "double":
        word = word[:at] + word[at] + word[at:]
    else:
        word = word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]
    words[index] = word
    return " ".join(words)
