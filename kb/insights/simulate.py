"""Simulated visit history for demonstrations: plausible, reproducible and clearly labelled.

Every simulated row has a visit id starting with ``sim-`` (no real visit id does: they are
hex tokens), so :func:`clear_simulated` removes exactly these rows and nothing else. Simulated
contact requests come from "Simulated customer" at an ``example.invalid`` address and have the
delivery status ``simulated``, so they are never passed on to the support team.

The rows are the ones the recording functions in :mod:`kb.insights.events` write (same
redaction and normalisation of the search text), built here directly: those functions commit
each event and stamp it with the current time, while a simulation of 100,000 visits needs
past timestamps and batched commits.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select

from kb.contact.models import ContactRequest
from kb.content import Article
from kb.extensions import db
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
MAX_VISITS = 100_000
MAX_DAYS = 366
SIMULATED_NAME = "Simulated customer"
SIMULATED_DOMAIN = "example.invalid"
SIMULATED_STATUS = "simulated"
_BATCH = 500
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


def simulate(
    articles: Sequence[Article],
    visits: int,
    days: int,
    seed: int | None = None,
    *,
    now: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulationReport:
    """Add ``visits`` simulated visits spread over the ``days`` days before ``now``.

    The same seed, articles and ``now`` give the same rows. Visits are more frequent on
    weekdays and in the daytime; each one searches (some queries with typos, some nothing
    answers), reads, rates, or goes through the contact flow, which ends resolved (often with
    an effort score), with a contact request, or abandoned.
    """
    if not 0 <= visits <= MAX_VISITS:
        raise ValueError(f"visits must be between 0 and {MAX_VISITS}")
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    by_lang: dict[str, list[Article]] = {}
    for article in sorted(articles, key=lambda a: a.key):
        if article.published:
            by_lang.setdefault(article.lang, []).append(article)
    if not by_lang:
        raise ValueError("there are no published articles to simulate visits to")
    simulation = _Simulation(random.Random(seed), by_lang, now or utcnow(), days)
    for number in range(visits):
        simulation.visit(number)
        if (number + 1) % _BATCH == 0:
            db.session.commit()
        if progress is not None:
            progress(1)
    db.session.commit()
    return simulation.report(visits)


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
    db.session.commit()
    return removed


def is_simulated(visit_id: str) -> bool:
    return visit_id.startswith(VISIT_PREFIX)


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
        # Every visit ends (30 minutes at most) before now, so none is still in progress.
        self.end = now - dt.timedelta(hours=1)
        self.start = now - dt.timedelta(days=days)
        self.run = "".join(rng.choice("0123456789abcdef") for _ in range(8))
        # Some articles readers find less helpful, so "lowest helpfulness" has a story to tell.
        keys = sorted(article.key for found in by_lang.values() for article in found)
        self.weak = frozenset(rng.sample(keys, max(1, len(keys) // 5)))
        self.counts: Counter[str] = Counter()
        self.references = set(
            db.session.scalars(
                select(ContactRequest.reference).where(
                    ContactRequest.visit_id.startswith(VISIT_PREFIX, autoescape=True)
                )
            )
        )

    def report(self, visits: int) -> SimulationReport:
        return SimulationReport(visits=visits, **{f: self.counts[f] for f in _REPORT_FIELDS})

    # -- one visit --------------------------------------------------------------------------

    def visit(self, number: int) -> None:
        rng = self.rng
        visit_id = f"{VISIT_PREFIX}{self.run}-{number:06d}"
        lang = rng.choices(self.languages, self.weights)[0]
        clock = _Clock(self.visit_start(), rng)
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
                opened = self.article(shown[position - 1])
                self.read(visit_id, clock, opened, search, position)
                if opened.key == need.key:
                    return

    def read(
        self,
        visit_id: str,
        clock: _Clock,
        article: Article,
        search: SearchEvent | None,
        position: int | None,
    ) -> None:
        db.session.add(
            ArticleView(
                visit_id=visit_id,
                article_key=article.key,
                search_id=search.id if search is not None else None,
                position=position,
                created_at=clock.next(0.2, 2),
            )
        )
        self.counts["article_views"] += 1
        if self.rng.random() < 0.3:
            helpful = self.rng.random() < (0.3 if article.key in self.weak else 0.8)
            db.session.add(
                Feedback(
                    visit_id=visit_id,
                    article_key=article.key,
                    helpful=helpful,
                    created_at=clock.next(0.5, 4),
                )
            )
            self.counts["feedback"] += 1

    def contact_flow(self, visit_id: str, lang: str, clock: _Clock, need: Article) -> None:
        rng = self.rng
        started = clock.next(0.2, 2)
        flow = ContactFlow(visit_id=visit_id, lang=lang, started_at=started, updated_at=started)
        db.session.add(flow)
        db.session.flush()
        self.counts["contact_flows"] += 1
        query, shown = self.query_for(lang, need)
        asked = clock.next(0.3, 2)
        self.search(visit_id, lang, asked, query, shown, "contact", flow)
        flow.question = redact(query)[:1000]
        flow.suggestions_shown = list(shown)
        flow.updated_at = asked
        answered = need.key in shown
        outcome = rng.random()
        if answered and outcome < 0.55:
            flow.outcome = "resolved"
            flow.resolved_key = need.key
            flow.updated_at = clock.next(0.5, 4)
            self.counts["resolved"] += 1
            if rng.random() < 0.6:
                self.effort(visit_id, lang, flow, clock)
        elif outcome < (0.8 if answered else 0.7):
            flow.outcome = "contacted"
            flow.updated_at = clock.next(1, 6)
            self.contact(visit_id, lang, flow, query, need)
        else:
            flow.updated_at = clock.next(0.2, 3)  # left: abandoned after FLOW_IDLE

    def effort(self, visit_id: str, lang: str, flow: ContactFlow, clock: _Clock) -> None:
        score = self.rng.choices(list(EFFORT_SCORES), weights=(2, 2, 4, 7, 14, 24, 20))[0]
        db.session.add(
            EffortScore(
                visit_id=visit_id,
                flow_id=flow.id,
                lang=lang,
                score=score,
                created_at=clock.next(0.2, 1),
            )
        )
        self.counts["effort_scores"] += 1

    def contact(
        self, visit_id: str, lang: str, flow: ContactFlow, query: str, need: Article
    ) -> None:
        self.counts["contacts"] += 1
        number = self.counts["contacts"]
        db.session.add(
            ContactRequest(
                reference=self.reference(),
                visit_id=visit_id,
                flow_id=flow.id,
                created_at=flow.updated_at,
                lang=lang,
                name=SIMULATED_NAME,
                email=f"simulated-{self.run}-{number}@{SIMULATED_DOMAIN}",
                category=need.category if self.rng.random() < 0.8 else "",
                message=f"(simulated) {query}",
                delivery_status=SIMULATED_STATUS,
            )
        )

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
        others = [a for a in self.by_lang[lang] if a.key != need.key]
        related = [a for a in others if a.category == need.category]
        shown = rng.sample(related, min(len(related), rng.randint(0, 2)))
        rest = [a for a in others if a not in shown]
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
        flow: ContactFlow | None = None,
    ) -> SearchEvent:
        from kb.search import normalize_query

        safe_query = redact(query)[:QUERY_LIMIT]
        event = SearchEvent(
            visit_id=visit_id,
            created_at=when,
            lang=lang,
            query=safe_query,
            normalized_query=normalize_query(safe_query)[:QUERY_LIMIT],
            result_count=len(shown) + (self.rng.randint(0, 4) if shown else 0),
            shown_keys=list(shown),
            source=source,
            flow_id=flow.id if flow is not None else None,
        )
        db.session.add(event)
        db.session.flush()
        self.counts["searches"] += 1
        return event

    def article(self, key: str) -> Article:
        lang = key.split("/", 1)[0]
        return next(a for a in self.by_lang[lang] if a.key == key)

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
