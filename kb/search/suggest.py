"""Search as you type: title completions and matching articles for a typed prefix.

Built from the stored ``title`` and ``questions`` fields, once per index generation, into a
sorted list per language of every word-suffix of every phrase ("track your order", "your
order", "order"). A prefix is then one `bisect` plus a short scan, so a suggestion costs
microseconds, not a Whoosh query. Matching is on `normalize_query` text (case, diacritics,
hamza / ta marbuta / alef maqsura variants folded); Arabic words are matched with and without
a leading ال / و / وال, so "الطلب", "طلب" and "والطلب" find each other.
"""

from __future__ import annotations

import bisect
import logging
import threading
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

from whoosh.query import Or, Term

from kb.search.index import FIELD_BOOSTS
from kb.search.text import is_arabic, normalize_query

if TYPE_CHECKING:
    from kb.search.engine import SearchEngine

logger = logging.getLogger(__name__)

MIN_PREFIX_CHARS = 2
# A longer "prefix" is a whole question, not typing in progress: no phrase starts with it.
MAX_PREFIX_CHARS = 100
MAX_LIMIT = 10
# Suffix entries looked at per lookup: bounds the work for a very common two-letter prefix
# on a large index (the best-ranked ones may then be missed; the next keystroke narrows it).
MAX_SCAN = 2000
# Fallback search: indexed terms a half-typed last word may stand for, per field, and the
# shortest half-typed word worth expanding ("re" would be hundreds of terms).
MAX_EXPANSIONS = 20
MIN_EXPANDED_CHARS = 3
# Leading particles a customer may or may not type: "و" (and), "ال" (the), "وال".
_ARABIC_PARTICLES = ("وال", "ال", "و")
# Letters a stripped word must keep: "ولد" stays "ولد", "الد" stays "الد".
_MIN_STRIPPED = 3


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


@dataclass(frozen=True)
class _Phrase:
    text: str
    folded: str  # `normalize_query` of the text
    article: SuggestedArticle
    is_title: bool


class _Vocabulary:
    """The phrases of one index generation, as sorted (suffix, phrase number, word position)."""

    def __init__(self, documents) -> None:
        self.phrases: list[_Phrase] = []
        self.entries: dict[str, list[tuple[str, int, int]]] = {}
        for fields in documents:
            article = SuggestedArticle(
                key=fields.get("key", ""),
                lang=fields.get("lang", ""),
                slug=fields.get("slug", ""),
                title=fields.get("title", ""),
            )
            phrases = [(article.title, True)]
            phrases += [(q, False) for q in (fields.get("questions") or "").splitlines()]
            for text, is_title in phrases:
                text = " ".join(text.split())
                if text:
                    self._add(_Phrase(text, normalize_query(text), article, is_title))
        for entries in self.entries.values():
            entries.sort()

    def _add(self, phrase: _Phrase) -> None:
        number = len(self.phrases)
        self.phrases.append(phrase)
        entries = self.entries.setdefault(phrase.article.lang, [])
        words = phrase.folded.split()
        stripped = [_strip_particle(word, _MIN_STRIPPED) for word in words]
        for position in range(len(words)):
            suffix = " ".join(words[position:])
            entries.append((suffix, number, position))
            alternative = " ".join(stripped[position:])
            if alternative != suffix:
                entries.append((alternative, number, position))


class Suggester:
    """Suggestions from the index of a `SearchEngine`, rebuilt when the index changes.

    Construction does no I/O; the first `suggest` reads the stored titles and questions.
    Safe to share between threads.
    """

    def __init__(self, engine: SearchEngine):
        self.engine = engine
        self._lock = threading.Lock()
        self._searcher = None
        self._vocabulary: _Vocabulary | None = None

    def suggest(self, prefix: str, lang: str | None, limit: int = 8) -> Suggestions:
        """Completions and articles for what a customer has typed so far, best first.

        Raises `SearchUnavailable` when there is no index; any other trouble (hostile or
        odd input included) gives empty suggestions.
        """
        searcher, vocabulary = self._current()
        query = " ".join(prefix.split()) if len(prefix) <= MAX_PREFIX_CHARS * 2 else ""
        limit = max(1, min(limit, MAX_LIMIT))
        if not MIN_PREFIX_CHARS <= len(query) <= MAX_PREFIX_CHARS:
            return Suggestions(query=query[:MAX_PREFIX_CHARS])
        try:
            return self._suggest(searcher, vocabulary, prefix, query, lang, limit)
        except Exception:
            logger.exception("suggestions failed for a %d-character prefix", len(query))
            return Suggestions(query=query)

    def _current(self):
        """The engine's searcher and the vocabulary of its index generation."""
        searcher = self.engine.current_searcher()
        with self._lock:
            if searcher is not self._searcher or self._vocabulary is None:
                self._vocabulary = _Vocabulary(searcher.reader().all_stored_fields())
                self._searcher = searcher
            return searcher, self._vocabulary

    def _suggest(self, searcher, vocabulary: _Vocabulary, raw: str, query: str, lang, limit):
        words = normalize_query(raw).split()
        if not words or sum(map(len, words)) < MIN_PREFIX_CHARS:
            return Suggestions(query=query)
        # A trailing space means the last word is finished: "track " is not "tracking".
        finished = raw[-1:].isspace()
        keys = _lookup_keys(words, finished)
        languages = [lang] if lang else sorted(vocabulary.entries)
        ranked: dict[int, tuple] = {}
        for lang_entries in (vocabulary.entries.get(code, []) for code in languages):
            for variant, key in enumerate(keys):
                start = bisect.bisect_left(lang_entries, (key,))
                for suffix, number, position in lang_entries[start : start + MAX_SCAN]:
                    if not suffix.startswith(key):
                        break
                    phrase = vocabulary.phrases[number]
                    rank = (position > 0, variant, not phrase.is_title, len(phrase.text), number)
                    if number not in ranked or rank < ranked[number]:
                        ranked[number] = rank
        order = sorted(ranked, key=ranked.__getitem__)
        completions: list[Completion] = []
        seen_texts: set[str] = set()
        articles: dict[str, SuggestedArticle] = {}
        for number in order:
            phrase = vocabulary.phrases[number]
            if phrase.folded not in seen_texts and len(completions) < limit:
                seen_texts.add(phrase.folded)
                completions.append(Completion(phrase.text))
            if len(articles) < limit:
                articles.setdefault(phrase.article.key, phrase.article)
        if not articles:
            articles = _search_articles(searcher, words, finished, lang, limit)
        return Suggestions(
            query=query, completions=tuple(completions), articles=tuple(articles.values())
        )


def _search_articles(searcher, words: list[str], finished: bool, lang, limit: int):
    """Articles for a prefix no title or question starts with ("refund tim").

    The finished words as ordinary terms, the last word (unless finished) as the start of
    any indexed term; any word may match (OR), matching more of them ranks higher. Cheaper
    than `SearchEngine.search` (no snippets, spelling fallback or synonyms), which a
    keystroke does not need.
    """
    analyzer = searcher.schema["title"].analyzer
    # The half-typed word also counts as a whole word: "delivery" is indexed as "deliveri".
    terms = list(dict.fromkeys(t.text for t in analyzer(" ".join(words), mode="query")))
    clauses = [
        Term(field, term, boost=boost) for term in terms for field, boost in FIELD_BOOSTS.items()
    ]
    if not finished:
        partial = _strip_particle(words[-1], 1)
        if len(partial) >= MIN_EXPANDED_CHARS:
            reader = searcher.reader()
            for field, boost in FIELD_BOOSTS.items():
                expanded = islice(reader.expand_prefix(field, partial), MAX_EXPANSIONS)
                clauses += [Term(field, term, boost=boost) for term in expanded]
    if not clauses:
        return {}
    only = Term("lang", lang) if lang else None
    found = {}
    for hit in searcher.search(Or(clauses), filter=only, limit=limit):
        fields = hit.fields()
        article = SuggestedArticle(
            key=fields["key"], lang=fields["lang"], slug=fields["slug"], title=fields["title"]
        )
        found[article.key] = article
    return found


def _lookup_keys(words: list[str], finished: bool) -> list[str]:
    """The sorted-list prefixes to look up: as typed first, then without Arabic particles."""
    *complete, last = words
    ending = " " if finished else ""
    typed = " ".join(words) + ending
    # The last word may still be growing: "الت" is on its way to "التتبع", so strip "ال"
    # even when one letter is left.
    stripped_words = [_strip_particle(word, _MIN_STRIPPED) for word in complete]
    stripped_words.append(_strip_particle(last, _MIN_STRIPPED if finished else 1))
    stripped = " ".join(stripped_words) + ending
    return [typed] if stripped == typed else [typed, stripped]


def _strip_particle(word: str, keep: int) -> str:
    """``word`` without a leading و / ال / وال, when at least ``keep`` letters remain."""
    if not is_arabic(word):
        return word
    for particle in _ARABIC_PARTICLES:
        # A lone "و" is too often the word's own first letter ("وصل", "وقت") to strip
        # from a one-letter remainder.
        needed = max(keep, 2) if particle == "و" else keep
        if word.startswith(particle) and len(word) - len(particle) >= needed:
            return word[len(particle) :]
    return word
