"""Search as you type: title completions and matching articles for a typed prefix.

Completions come from the article catalogue beside the index (`kb.search.catalogue`): every
word-suffix of every title and ``questions:`` phrasing ("track your order", "your order",
"order"), written at index time, so a prefix is one indexed range query and a worker holds
no vocabulary. Matching is on `normalize_query` text (case, diacritics, hamza / ta marbuta /
alef maqsura variants folded); Arabic words are matched with and without a leading ال / و /
وال, so "الطلب", "طلب" and "والطلب" find each other. When no phrase starts with what was
typed, matching articles come from the search engine's BM25 arrays (`kb.search.ranking`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kb.search.catalogue import MIN_STRIPPED, Catalogue, strip_particle
from kb.search.index import FIELD_BOOSTS, index_path
from kb.search.text import normalize_query

if TYPE_CHECKING:
    from kb.search.engine import SearchEngine
    from kb.search.ranking import Ranker

logger = logging.getLogger(__name__)

MIN_PREFIX_CHARS = 2
# A longer "prefix" is a whole question, not typing in progress: no phrase starts with it.
MAX_PREFIX_CHARS = 100
MAX_LIMIT = 10
# Suffix entries looked at per lookup: bounds the work for a very common two-letter prefix
# on a large index (the best-ranked ones may then be missed; the next keystroke narrows it).
MAX_SCAN = 2000
# Phrases whose text and article are read at a time, best ranked first.
PHRASE_BATCH = 50
# Fallback search: indexed terms a half-typed last word may stand for, per field, and the
# shortest half-typed word worth expanding ("re" would be hundreds of terms).
MAX_EXPANSIONS = 20
MIN_EXPANDED_CHARS = 3


@dataclass(frozen=True)
class Completion:
    """A title or ``questions:`` phrasing that continues what was typed."""

    text: str


@dataclass(frozen=True)
class SuggestedArticle:
    """An article matching what was typed (plain text fields; the caller builds its URL)."""

    key: str
    lang: str
    slug: str
    title: str


@dataclass(frozen=True)
class Suggestions:
    query: str
    completions: tuple[Completion, ...] = ()
    articles: tuple[SuggestedArticle, ...] = ()


class Suggester:
    """Suggestions from the catalogue and index of a `SearchEngine`; follows every rebuild.

    Construction does no I/O. Safe to share between threads.
    """

    def __init__(self, engine: SearchEngine, catalogue: Catalogue | None = None):
        self.engine = engine
        self.catalogue = catalogue or Catalogue(index_path(engine.index_dir))

    def suggest(self, prefix: str, lang: str | None, limit: int = 8) -> Suggestions:
        """Completions and articles for what a customer has typed so far, best first.

        Raises `SearchUnavailable` when there is no index; any other trouble (hostile or
        odd input included) gives empty suggestions.
        """
        self.engine.current_searcher()
        query = " ".join(prefix.split()) if len(prefix) <= MAX_PREFIX_CHARS * 2 else ""
        limit = max(1, min(limit, MAX_LIMIT))
        if not MIN_PREFIX_CHARS <= len(query) <= MAX_PREFIX_CHARS:
            return Suggestions(query=query[:MAX_PREFIX_CHARS])
        try:
            return self._suggest(prefix, query, lang, limit)
        except Exception:
            logger.exception("suggestions failed for a %d-character prefix", len(query))
            return Suggestions(query=query)

    def _suggest(self, raw: str, query: str, lang: str | None, limit: int) -> Suggestions:
        words = normalize_query(raw).split()
        if not words or sum(map(len, words)) < MIN_PREFIX_CHARS:
            return Suggestions(query=query)
        # A trailing space means the last word is finished: "track " is not "tracking".
        finished = raw[-1:].isspace()
        keys = _lookup_keys(words, finished)
        languages = [lang] if lang else self.catalogue.languages()
        ranked: dict[int, tuple] = {}
        for code in languages:
            for variant, key in enumerate(keys):
                for phrase_id, position, is_title, length in self.catalogue.phrase_suffixes(
                    code, key, MAX_SCAN
                ):
                    rank = (position > 0, variant, not is_title, length, phrase_id)
                    if phrase_id not in ranked or rank < ranked[phrase_id]:
                        ranked[phrase_id] = rank
        order = sorted(ranked, key=ranked.__getitem__)
        completions: list[Completion] = []
        seen_texts: set[str] = set()
        articles: dict[str, SuggestedArticle] = {}
        for start in range(0, len(order), PHRASE_BATCH):
            if len(completions) >= limit and len(articles) >= limit:
                break
            batch = order[start : start + PHRASE_BATCH]
            phrases = self.catalogue.phrases(batch)
            for phrase_id in batch:
                if phrase_id not in phrases:  # changed since the lookup
                    continue
                text, folded, key, article_lang, slug, title = phrases[phrase_id]
                if folded not in seen_texts and len(completions) < limit:
                    seen_texts.add(folded)
                    completions.append(Completion(text))
                if len(articles) < limit and key not in articles:
                    articles[key] = SuggestedArticle(key, article_lang, slug, title)
        if not articles:
            articles = self._search_articles(words, finished, lang, limit)
        return Suggestions(
            query=query, completions=tuple(completions), articles=tuple(articles.values())
        )

    def _search_articles(self, words: list[str], finished: bool, lang, limit: int):
        """Articles for a prefix no title or question starts with ("refund tim").

        The finished words as ordinary terms, the last word (unless finished) as the start
        of any indexed term; any word may match (OR), matching more of them ranks higher:
        BM25 summed over the text fields, from the engine's cached score arrays (a Whoosh
        query took 20-40 ms here). Cheaper than `SearchEngine.search` (no snippets, spelling
        fallback or synonyms), which a keystroke does not need.
        """
        with self.engine.reading() as ranker:
            return _ranked_articles(ranker, words, finished, lang, limit)


def _ranked_articles(ranker: Ranker, words: list[str], finished: bool, lang, limit: int):
    searcher = ranker.searcher
    analyzer = searcher.schema["title"].analyzer
    # The half-typed word also counts as a whole word: "delivery" is indexed as "deliveri".
    terms = list(dict.fromkeys(t.text for t in analyzer(" ".join(words), mode="query")))
    partial = strip_particle(words[-1], 1)
    expand = not finished and len(partial) >= MIN_EXPANDED_CHARS
    scores = np.zeros(ranker.size, dtype=np.float32)
    for field, boost in FIELD_BOOSTS.items():
        field_terms = list(terms)
        if expand:
            field_terms += ranker.terms_with_prefix(field, partial, MAX_EXPANSIONS)
        for term in field_terms:
            ids, term_scores = ranker.term_scores(field, term)
            if len(ids):
                scores[ids] += term_scores * np.float32(boost)
    allowed = ranker.live & ranker.mask("lang", lang) if lang else ranker.live
    scores[~allowed] = 0.0
    found = np.flatnonzero(scores)
    if len(found) > limit:
        found = found[np.argpartition(-scores[found], limit - 1)[:limit]]
    # Best first; equal scores in document order, as Whoosh's collector had them.
    found = found[np.lexsort((found, -scores[found]))]
    articles = {}
    for docnum in found:
        fields = searcher.stored_fields(int(docnum))
        article = SuggestedArticle(
            key=fields["key"], lang=fields["lang"], slug=fields["slug"], title=fields["title"]
        )
        articles[article.key] = article
    return articles


def _lookup_keys(words: list[str], finished: bool) -> list[str]:
    """The prefixes to look up: as typed first, then without Arabic particles."""
    *complete, last = words
    ending = " " if finished else ""
    typed = " ".join(words) + ending
    # The last word may still be growing: "الت" is on its way to "التتبع", so strip "ال"
    # even when one letter is left.
    stripped_words = [strip_particle(word, MIN_STRIPPED) for word in complete]
    stripped_words.append(strip_particle(last, MIN_STRIPPED if finished else 1))
    stripped = " ".join(stripped_words) + ending
    return [typed] if stripped == typed else [typed, stripped]
