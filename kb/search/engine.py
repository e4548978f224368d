"""Query the index: safe query building, ranking, fuzzy fallback, "did you mean", snippets.

One `SearchEngine` per worker process. Customers never reach the Whoosh query language:
their text is analysed into terms and the query is built from those terms, so field
prefixes, wildcards, ranges and "match everything" cannot be expressed at all.
"""

from __future__ import annotations

import html
import itertools
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from whoosh import scoring
from whoosh.filedb.filestore import FileStorage
from whoosh.query import And, FuzzyTerm, Or, Query, Term

from kb.errors import SearchUnavailable
from kb.search.index import (
    DAMAGED_INDEX_ERRORS,
    FIELD_BOOSTS,
    index_exists,
    index_path,
    load_index_synonyms,
)
from kb.search.ranking import Ranker
from kb.search.results import SearchHit, SearchResults
from kb.search.snippets import make_snippet, shorten
from kb.search.text import TOKEN_PATTERN, analyse_word, is_arabic, spelling_form

logger = logging.getLogger(__name__)

# Caps applied before analysis: the rest of a longer query is ignored. Real questions (the
# Arabic evaluation set) run to 20-40 words; 24 terms measured best there.
MAX_QUERY_CHARS = 256
MAX_QUERY_TERMS = 24
# Weight of the extra clause that matches documents containing every query term. Only for
# short queries: a long question almost never matches every word, and the clause costs time.
ALL_TERMS_BONUS = 0.5
ALL_TERMS_MAX = 8
# Proximity: two query words next to each other, in order, in a field add this share of
# their scores in that field (short queries only). Adjacent pairs are indexed
# (`kb.search.index.adjacent_pairs`), by field code.
PROXIMITY_WEIGHT = 0.3
PROXIMITY_FIELDS = {"t": "title", "q": "questions", "b": "body"}
PROXIMITY_DEPTH = 60
# BM25 parameters (Whoosh scores each field with BM25 and sums the fields' scores).
BM25_B = 0.9
BM25_K1 = 1.2
# Per-field length normalisation (B) where it differs from BM25_B.
FIELD_B: dict[str, float] = {}
# Coordination: the best RERANK_DEPTH results are re-scored by the share of the query
# they match, each term weighted by its IDF (a rare word matters more than a common one):
# score * (1 - COORD_WEIGHT + COORD_WEIGHT * share) ** COORD_POWER.
RERANK_DEPTH = 30
COORD_WEIGHT = 0.5
COORD_POWER = 0.5
# Weight of a synonym relative to the word the customer typed.
SYNONYM_WEIGHT = 0.8
# Weight of a known word one edit away from a query word the index does not know, and how
# many such words are tried (one: more measured no better and cost time).
TYPO_WEIGHT = 0.5
TYPO_CANDIDATES = 1
# Weight of two adjacent query words joined into one ("log in" -> "login").
JOINED_WEIGHT = 0.8
_WORD = re.compile(TOKEN_PATTERN)
FUZZY_FIELDS = ("title", "questions", "body")
FUZZY_MIN_LENGTH = 4
SNIPPET_FIELDS = ("body", "questions", "summary")
# Fields whose words were analysed at index time for snippets: the column that holds them.
SPANS_COLUMNS = {"body": "body_spans"}
# Answers kept per worker for the current index generation (customers repeat searches:
# the popular questions, the same query on the results page and its API twin).
RESULT_CACHE_SIZE = 512
# Spelling neighbours remembered per generation (Levenshtein walks of the vocabulary).
NEAR_CACHE_SIZE = 4096


class SearchEngine:
    """Searches the index in ``index_dir``; opens it lazily and follows rebuilds.

    Keeps one searcher (and its `Ranker`) and replaces them only when the index has a new
    generation. Safe to share between the threads of one process: opening and refreshing
    take a lock, and a searcher that was replaced stays usable by requests still holding it.
    Answers are cached per (query, language, category, limit) for the current generation.
    """

    def __init__(self, index_dir: Path | str, cache_size: int = RESULT_CACHE_SIZE):
        self.index_dir = Path(index_dir)
        self._lock = threading.Lock()
        # Whoosh reads its files through shared handles (seek, then read): one reader of
        # the index at a time per process. Searches are pure Python, so under the GIL two
        # threads would not have run them in parallel anyway.
        self._reading = threading.Lock()
        self._searcher = None
        self._ranker: Ranker | None = None
        self._synonyms: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple, SearchResults] = OrderedDict()
        self._near: dict[tuple[str, str, int], list[str]] = {}

    def available(self) -> bool:
        """True when there is an index to search."""
        try:
            self.current_searcher()
        except SearchUnavailable:
            return False
        return True

    def search(
        self, text: str, lang: str | None, limit: int = 10, category: str | None = None
    ) -> SearchResults:
        """The articles matching a customer's ``text``, best first.

        Raises `SearchUnavailable` when there is no index. Any other failure (a Whoosh
        error, a pathological query) is logged and answered with empty results.
        """
        searcher = self.current_searcher()
        text = " ".join(text[:MAX_QUERY_CHARS].split())
        limit = max(1, limit)
        key = (text, lang, category, limit)
        with self._lock:
            ranker = self._ranker
            cached = self._cache.get(key) if searcher is self._searcher else None
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        try:
            with self._reading:
                results = self._search(searcher, ranker, text, lang, limit, category)
        except Exception:  # Whoosh raises many types; RecursionError is one of them
            logger.exception("search failed for a %d-character query", len(text))
            return SearchResults(query=text)
        with self._lock:
            if searcher is self._searcher and self._cache_size:
                self._cache[key] = results
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return results

    @contextmanager
    def reading(self) -> Iterator[Ranker]:
        """The current generation's `Ranker`, for reading the index outside `search` (the
        suggestions' article fallback): holds the lock every index read takes."""
        self.current_searcher()
        with self._lock:
            ranker = self._ranker
        if ranker is None:
            raise SearchUnavailable(f"no search index in {self.index_dir}")
        with self._reading:
            yield ranker

    def clear_cache(self) -> None:
        """Forget cached answers (benchmarks use it to time searches that miss the cache)."""
        with self._lock:
            self._cache.clear()
            self._near.clear()

    def current_searcher(self):
        """The up-to-date Whoosh searcher (for kb.search modules only; raises SearchUnavailable)."""
        with self._lock:
            try:
                if self._searcher is None or not self._searcher.up_to_date():
                    if not index_exists(self.index_dir):
                        raise SearchUnavailable(f"no search index in {self.index_dir}")
                    # A new reader, not ``refresh()``: refresh closes segment readers that
                    # requests in other threads may still be using (ReaderClosed). The old
                    # searcher is closed by garbage collection once nobody holds it.
                    # Without mmap: Whoosh copies every memory-mapped part of the index into
                    # the process (BytesIO over the map), 120 MB per worker at 10,000 articles;
                    # plain reads leave the file in the OS page cache, shared by all workers.
                    storage = FileStorage(
                        str(index_path(self.index_dir)), supports_mmap=False, readonly=True
                    )
                    ix = storage.open_index()
                    searcher = ix.searcher(weighting=_weighting())
                    self._ranker = Ranker(searcher, FIELD_BOOSTS, BM25_B, BM25_K1)
                    self._searcher = searcher
                    self._cache.clear()
                    self._near.clear()
                    self._load_synonyms()
            # A damaged index is "unavailable" too (tests/test_faults.py), never a 500.
            except DAMAGED_INDEX_ERRORS as error:
                self._searcher = None
                self._ranker = None
                logger.error("cannot open the search index in %s: %r", self.index_dir, error)
                raise SearchUnavailable(f"cannot open the search index: {error!r}") from error
            return self._searcher

    def _load_synonyms(self) -> None:
        """Map each analysed synonym form to the forms it expands to.

        A plain group expands only between terms of the same script (Arabic to Arabic,
        Latin to Latin); a group marked ``across_languages`` expands across scripts too.
        """
        analyzer = self._searcher.schema["body"].analyzer
        synonyms: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for group in load_index_synonyms(self.index_dir):
            forms: dict[tuple[str, ...], bool] = {}
            for term in group.terms:
                form = tuple(t.text for t in analyzer(term, mode="query"))
                if form:
                    forms.setdefault(form, is_arabic(term))
            for form, arabic in forms.items():
                targets = synonyms.setdefault(form, [])
                for other, other_arabic in forms.items():
                    if other == form or other in targets:
                        continue
                    if group.across_languages or other_arabic == arabic:
                        targets.append(other)
        self._synonyms = synonyms

    def _search(self, searcher, ranker: Ranker, text: str, lang, limit: int, category):
        analyzer = searcher.schema["body"].analyzer
        # Whoosh reuses one token object: keep copies of what is needed.
        tokens = [
            (t.text, t.startchar, t.endchar) for t in analyzer(text, mode="query", chars=True)
        ]
        terms = _select_terms(searcher, [term for term, _, _ in tokens])
        if not terms:
            return SearchResults(query=text)
        allowed = ranker.live
        if lang:
            allowed = allowed & ranker.mask("lang", lang)
        if category:
            allowed = allowed & ranker.mask("category", category)

        alternatives = {term: self._alternatives(ranker, term) for term in terms}
        joined = _joined_words(ranker, text, terms)
        scores, matched = _score(
            ranker, terms, alternatives, joined, self._phrase_synonyms(tokens), allowed
        )
        depth = max(limit, RERANK_DEPTH)
        # "Did you mean" whenever a word of a short query is unknown to the index, not only
        # when nothing matched: the other words may find weak matches while the key word was
        # misspelt. (Long questions always hold some unknown word; they get one when empty.)
        # The results count as fuzzy when no word was known (every match is a correction).
        unknown = [term for term in terms if not _known(ranker, term)]
        suggestion = None
        if unknown and len(terms) <= ALL_TERMS_MAX:
            suggestion = self._suggest(ranker, text, tokens)
        fuzzy = len(unknown) == len(terms)
        found = np.flatnonzero(scores)
        searched = set(terms)
        if not len(found):
            if suggestion is None:
                suggestion = self._suggest(ranker, text, tokens)
            ranked, total, searched = _fuzzy_search(searcher, terms, lang, category, depth)
            fuzzy = bool(ranked)
        else:
            total = len(found)
            for term in terms:
                searched.update(other for other, _ in alternatives[term])
            searched.update(word for word, _ in joined)
            ranked = _coordinate(searcher, scores, matched, terms, found, depth)
        hits = tuple(self._hit(searcher, ranker, n, score, searched) for n, score in ranked[:limit])
        return SearchResults(query=text, hits=hits, total=total, suggestion=suggestion, fuzzy=fuzzy)

    def _alternatives(self, ranker: Ranker, term: str) -> list[tuple[str, float]]:
        """Other index terms that stand for ``term``, each with its weight.

        The one-word synonyms of its group, and for a word the index does not know at all
        (a typo: "stikethrough", "الاستثمر") the closest known words within one edit.
        """
        found = [
            (form[0], SYNONYM_WEIGHT) for form in self._synonyms.get((term,), ()) if len(form) == 1
        ]
        if len(term) >= FUZZY_MIN_LENGTH and not _known(ranker, term):
            near = self._near_terms(ranker, "body", term)
            found += [(c, TYPO_WEIGHT) for c in near[:TYPO_CANDIDATES]]
        return found

    def _near_terms(self, ranker: Ranker, field: str, word: str, maxdist: int = 1) -> list[str]:
        """Indexed words within ``maxdist`` edits of ``word`` (first letter kept), most
        frequent first; remembered for this index generation (typos recur)."""
        key = (field, word, maxdist)
        near = self._near.get(key)
        if near is None:
            near = (
                ranker.near_terms(field, word)
                if maxdist == 1
                else _distant_terms(ranker.searcher.reader(), field, word, maxdist)
            )
            if len(self._near) >= NEAR_CACHE_SIZE:
                self._near.clear()
            self._near[key] = near
        return near

    def _phrase_synonyms(self, tokens) -> list[tuple[str, ...]]:
        """Multi-word synonyms of words or phrases found in the query."""
        sequence = [term for term, _, _ in tokens]
        return [
            form
            for trigger, forms in self._synonyms.items()
            if _contains(sequence, trigger)
            for form in forms
            if len(form) > 1
        ]

    def _suggest(self, ranker: Ranker, text: str, tokens) -> str | None:
        """The query with unknown words replaced by the closest frequent indexed words."""
        replacements = []
        for term, start, end in tokens[:MAX_QUERY_TERMS]:
            if _known(ranker, term):
                continue
            word = spelling_form(text[start:end])
            if not word or len(word) < FUZZY_MIN_LENGTH:
                continue
            candidates = self._near_terms(ranker, "spelling", word)
            if not candidates and len(word) >= 8:
                candidates = self._near_terms(ranker, "spelling", word, maxdist=2)
            best = candidates[0] if candidates else None
            if best:
                original = text[start:end]
                replacements.append((start, end, best.title() if original.istitle() else best))
        if not replacements:
            return None
        corrected = text
        for start, end, word in reversed(replacements):
            corrected = corrected[:start] + word + corrected[end:]
        return corrected if corrected != text else None

    def _hit(
        self, searcher, ranker: Ranker, docnum: int, score: float, searched: set[str]
    ) -> SearchHit:
        fields = ranker.stored_fields(docnum)
        snippet = ""
        for field in SNIPPET_FIELDS:
            if fields.get(field):
                column = SPANS_COLUMNS.get(field)
                spans = (ranker.column_value(column, docnum) or None) if column else None
                snippet = make_snippet(fields[field], searched, spans=spans)
                if snippet:
                    break
        if not snippet:
            snippet = html.escape(fields.get("summary") or shorten(fields.get("body", "")))
        return SearchHit(
            key=fields["key"],
            lang=fields["lang"],
            slug=fields["slug"],
            title=fields.get("title", ""),
            summary=fields.get("summary", ""),
            category=fields.get("category", ""),
            snippet=snippet,
            score=float(score),
        )


def _score(ranker: Ranker, terms, alternatives, joined, phrase_synonyms, allowed):
    """Each document's score for the query, 0 where it does not match or is filtered out.

    The query the Whoosh version built, evaluated with arrays: an OR of the terms over the
    text fields (an alternative, synonym or spelling, counts as the word it replaces, with
    its lower weight), joined words and multi-word synonyms, plus a bonus for matching all
    the terms of a short query. Also returns, per query term, which documents matched it
    (the joined words count for the terms they join).
    """
    clauses = [ranker.clause([(term, 1.0), *alternatives[term]]) for term in terms]
    total = np.sum(clauses, axis=0, dtype=np.float32)
    matched = [clause > 0 for clause in clauses]
    if 1 < len(clauses) <= ALL_TERMS_MAX:
        every = np.logical_and.reduce(matched)
        total += np.float32(ALL_TERMS_BONUS) * total * every
        _add_proximity(ranker, terms, total, allowed)
    position = {term: number for number, term in enumerate(terms)}
    for word, parts in joined:
        clause = ranker.clause([(word, JOINED_WEIGHT)])
        total += clause
        for part in parts:
            matched[position[part]] |= clause > 0
    for form in phrase_synonyms:
        parts = [ranker.clause([(word, SYNONYM_WEIGHT)]) for word in form]
        total += np.sum(parts, axis=0) * np.logical_and.reduce([part > 0 for part in parts])
    total[~allowed] = 0.0
    return total, matched


def _add_proximity(ranker: Ranker, terms: list[str], total, allowed) -> None:
    """Add the proximity bonus to the best `PROXIMITY_DEPTH` candidates' scores.

    For each pair of adjacent query words found next to each other in a field, a share of
    the two words' scores in that field. Only the top candidates are looked at: the bonus
    re-orders them, it never lifts a weak match from far below.
    """
    candidates = np.flatnonzero(total * allowed)
    if len(candidates) > PROXIMITY_DEPTH:
        best = np.argpartition(-total[candidates], PROXIMITY_DEPTH - 1)[:PROXIMITY_DEPTH]
        candidates = candidates[best]
    documents = candidates.tolist()  # Python ints: indexing NumPy arrays one by one is slow
    stored: dict[int, bytes] = {}
    for first, second in itertools.pairwise(terms):
        both = {
            code: ranker.scores_at(field, first, candidates)
            + ranker.scores_at(field, second, candidates)
            for code, field in PROXIMITY_FIELDS.items()
        }
        # Where neither word scores in any field the bonus is 0: no pair lookup there.
        scoring = np.flatnonzero(np.sum(list(both.values()), axis=0)).tolist()
        if not scoring:
            continue
        missing = [documents[n] for n in scoring if documents[n] not in stored]
        if missing:
            stored.update(ranker.stored_pairs(missing))
        # One search per document for the pair in any field ("t|first+second", "b|..."):
        # the letter before the bar says which field.
        pair = f"|{first}+{second} ".encode()
        for n in scoring:
            pairs = stored[documents[n]]
            codes = set()
            found = pairs.find(pair)
            while found != -1:
                codes.add(chr(pairs[found - 1]))
                found = pairs.find(pair, found + len(pair))
            for code, scores in both.items():  # in field order, as the sums always were
                if code in codes:
                    total[documents[n]] += np.float32(PROXIMITY_WEIGHT) * scores[n]


def _coordinate(searcher, scores, matched, terms: list[str], found, depth: int) -> list:
    """The best ``depth`` documents, re-scored by the IDF-weighted share of terms they match.

    Plain BM25 lets one rare word repeated in a long article outrank an article that
    matches most of the question; this is the "matches all or most words" bonus, done on
    the few top results (``OrGroup.factory`` is broken in Whoosh 2.7.4, DESIGN.md §5).
    Ties keep the lower document number first, as Whoosh's collector did.
    """
    if len(found) > depth:
        found = found[np.argpartition(-scores[found], depth - 1)[:depth]]
    weights = np.array([searcher.idf("body", term) for term in terms], dtype=np.float64)
    share = weights @ np.array([row[found] for row in matched], dtype=np.float64)
    share /= weights.sum() or 1.0
    final = scores[found] * (1.0 - COORD_WEIGHT + COORD_WEIGHT * share) ** COORD_POWER
    order = np.lexsort((found, -final))
    return [(int(found[i]), float(final[i])) for i in order]


def _fuzzy_search(searcher, terms: list[str], lang, category, depth: int):
    """Spelling-tolerant fallback through Whoosh (rare: only when nothing matched as typed)."""
    query = _fuzzy_query(terms)
    if query is None:
        return [], 0, set(terms)
    filters = [Term("lang", lang)] if lang else []
    if category:
        filters.append(Term("category", category))
    only = And(filters) if filters else None
    results = searcher.search(query, filter=only, limit=depth, terms=True)
    searched = {text.decode("utf-8") for _, text in results.matched_terms()}
    ranked = [(hit.docnum, hit.score or 0.0) for hit in results]
    return ranked, len(results), searched


def _joined_words(ranker: Ranker, text: str, terms: list[str]) -> list[tuple[str, frozenset[str]]]:
    """Index terms made by joining two adjacent query words ("log in" -> "login").

    Customers split compounds that articles write as one word (and the reverse is handled
    at indexing: hyphenated words are indexed joined as well). Only joins the index knows.
    """
    words = _WORD.findall(text[:MAX_QUERY_CHARS])
    found = []
    known = set(terms)
    for first, second in itertools.pairwise(words):
        if not (first.isalpha() and second.isalpha()) or is_arabic(first + second):
            continue
        word = analyse_word(first + second)
        if (
            word
            and word not in known
            and ranker.document_frequency("body", word) + ranker.document_frequency("title", word)
        ):
            known.add(word)
            parts = {analyse_word(first), analyse_word(second)} & set(terms)
            found.append((word, frozenset(parts)))
    return found


def _distant_terms(reader, field: str, word: str, maxdist: int) -> list[str]:
    """Indexed words within ``maxdist`` edits of ``word`` (first letter kept), most frequent
    first: Whoosh's Levenshtein automaton, for the rare long word with no closer neighbour."""
    candidates = set(reader.terms_within(field, word, maxdist, prefix=1))
    candidates.discard(word)
    return sorted(candidates, key=lambda c: (-reader.doc_frequency(field, c), c))


def _known(ranker: Ranker, term: str) -> bool:
    return any(ranker.document_frequency(field, term) for field in FIELD_BOOSTS)


def _weighting() -> scoring.WeightingModel:
    return scoring.BM25F(B=BM25_B, K1=BM25_K1, **{f"{f}_B": b for f, b in FIELD_B.items()})


def _select_terms(searcher, terms: list[str]) -> list[str]:
    """The distinct terms, at most `MAX_QUERY_TERMS`: the rarest ones when there are more."""
    terms = list(dict.fromkeys(terms))
    if len(terms) > MAX_QUERY_TERMS:
        reader = searcher.reader()
        frequency = {term: reader.doc_frequency("body", term) for term in terms}
        keep = set(sorted(terms, key=frequency.__getitem__)[:MAX_QUERY_TERMS])
        terms = [term for term in terms if term in keep]
    return terms


def _fuzzy_query(terms: list[str]) -> Query | None:
    """Spelling-tolerant fallback: each longer term within one edit, first letter fixed."""
    clauses = [
        FuzzyTerm(field, term, boost=FIELD_BOOSTS[field], maxdist=1, prefixlength=1)
        for term in terms
        if len(term) >= FUZZY_MIN_LENGTH
        for field in FUZZY_FIELDS
    ]
    return Or(clauses) if clauses else None


def _contains(terms: list[str], sequence: tuple[str, ...]) -> bool:
    size = len(sequence)
    return any(tuple(terms[i : i + size]) == sequence for i in range(len(terms) - size + 1))
