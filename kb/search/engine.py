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
from pathlib import Path

from whoosh import highlight, scoring
from whoosh import index as whoosh_index
from whoosh.query import And, FuzzyTerm, Or, Phrase, Query, Term

from kb.errors import SearchUnavailable
from kb.search.index import (
    DAMAGED_INDEX_ERRORS,
    FIELD_BOOSTS,
    index_exists,
    index_path,
    load_index_synonyms,
)
from kb.search.results import SearchHit, SearchResults
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
# Proximity: two query words close together in a field (within PROXIMITY_SLOP positions,
# in order) add a clause of this weight, for short queries only.
PROXIMITY_WEIGHT = 0.3
PROXIMITY_SLOP = 1
PROXIMITY_FIELDS = ("title", "questions", "body")
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
SNIPPET_CHARS = 160
# Record matched terms (pinpoint highlighting from stored character offsets, no
# re-tokenising) and visit every match, so the exact total comes free: the block-skipping
# optimisation needs a second pass to count and measured slower.
_SEARCH_OPTIONS = {"terms": True, "optimize": False}


class _SafeHtmlFormatter(highlight.Formatter):
    """Escape the text, then wrap matched words in <mark>: the output is safe HTML."""

    between = " "

    def _text(self, text: str) -> str:
        return html.escape(text, quote=True)

    def format_token(self, text, token, replace=False):
        return f"<mark>{html.escape(highlight.get_text(text, token, replace), quote=True)}</mark>"

    def format_fragment(self, fragment, replace=False):
        formatted = super().format_fragment(fragment, replace).strip()
        start = "…" if fragment.startchar > 0 else ""
        end = "…" if fragment.endchar < len(fragment.text) else ""
        return f"{start}{formatted}{end}"


class SearchEngine:
    """Searches the index in ``index_dir``; opens it lazily and follows rebuilds.

    Keeps one searcher and replaces it only when the index has a new generation. Safe to
    share between the threads of one process: opening and refreshing take a lock, and a
    searcher that was replaced stays usable by requests still holding it.
    """

    def __init__(self, index_dir: Path | str):
        self.index_dir = Path(index_dir)
        self._lock = threading.Lock()
        self._searcher = None
        self._synonyms: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        self._highlighter = highlight.Highlighter(
            fragmenter=highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=40),
            formatter=_SafeHtmlFormatter(),
        )

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
        try:
            return self._search(searcher, text, lang, max(1, limit), category)
        except Exception:  # Whoosh raises many types; RecursionError is one of them
            logger.exception("search failed for a %d-character query", len(text))
            return SearchResults(query=text)

    def current_searcher(self):
        """The up-to-date Whoosh searcher (for kb.search modules only; raises SearchUnavailable)."""
        with self._lock:
            try:
                if self._searcher is None:
                    if not index_exists(self.index_dir):
                        raise SearchUnavailable(f"no search index in {self.index_dir}")
                    ix = whoosh_index.open_dir(str(index_path(self.index_dir)), readonly=True)
                    self._searcher = ix.searcher(weighting=_weighting())
                    self._load_synonyms()
                elif not self._searcher.up_to_date():
                    # A new reader, not ``refresh()``: refresh closes segment readers that
                    # requests in other threads may still be using (ReaderClosed). The old
                    # searcher is closed by garbage collection once nobody holds it.
                    ix = whoosh_index.open_dir(str(index_path(self.index_dir)), readonly=True)
                    self._searcher = ix.searcher(weighting=_weighting())
                    self._load_synonyms()
            # A damaged index is "unavailable" too (tests/test_faults.py), never a 500.
            except DAMAGED_INDEX_ERRORS as error:
                self._searcher = None
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

    def _search(self, searcher, text: str, lang, limit: int, category) -> SearchResults:
        analyzer = searcher.schema["body"].analyzer
        # Whoosh reuses one token object: keep copies of what is needed.
        tokens = [
            (t.text, t.startchar, t.endchar) for t in analyzer(text, mode="query", chars=True)
        ]
        terms = _select_terms(searcher, [term for term, _, _ in tokens])
        if not terms:
            return SearchResults(query=text)
        filters = [Term("lang", lang)] if lang else []
        if category:
            filters.append(Term("category", category))
        only = And(filters) if filters else None

        reader = searcher.reader()
        alternatives = {term: self._alternatives(reader, term) for term in terms}
        joined = _joined_words(reader, text, terms)
        query = _build_query(terms, alternatives, joined, self._phrase_synonyms(tokens))
        depth = max(limit, RERANK_DEPTH)
        results = searcher.search(query, filter=only, limit=depth, **_SEARCH_OPTIONS)
        # "Did you mean" whenever a word of a short query is unknown to the index, not only
        # when nothing matched: the other words may find weak matches while the key word was
        # misspelt. (Long questions always hold some unknown word; they get one when empty.)
        # The results count as fuzzy when no word was known (every match is a correction).
        unknown = [term for term in terms if not _known(reader, term)]
        suggestion = None
        if unknown and len(terms) <= ALL_TERMS_MAX:
            suggestion = self._suggest(searcher, text, tokens)
        fuzzy = len(unknown) == len(terms)
        if results.is_empty():
            if suggestion is None:
                suggestion = self._suggest(searcher, text, tokens)
            fuzzy_query = _fuzzy_query(terms)
            if fuzzy_query is not None:
                results = searcher.search(fuzzy_query, filter=only, limit=depth, **_SEARCH_OPTIONS)
            fuzzy = not results.is_empty()
            ranked = [(hit, hit.score or 0.0) for hit in results]
        else:
            owners: dict[str, set[str]] = {}
            for term in terms:
                owners.setdefault(term, set()).add(term)
                for other, _ in alternatives[term]:
                    owners.setdefault(other, set()).add(term)
            for word, parts in joined:
                owners.setdefault(word, set()).update(parts)
            ranked = _coordinate(searcher, results, terms, owners)
        results.highlighter = self._highlighter
        hits = tuple(self._hit(hit, score) for hit, score in ranked[:limit])
        return SearchResults(
            query=text, hits=hits, total=len(results), suggestion=suggestion, fuzzy=fuzzy
        )

    def _alternatives(self, reader, term: str) -> list[tuple[str, float]]:
        """Other index terms that stand for ``term``, each with its weight.

        The one-word synonyms of its group, and for a word the index does not know at all
        (a typo: "stikethrough", "الاستثمر") the closest known words within one edit.
        """
        found = [
            (form[0], SYNONYM_WEIGHT) for form in self._synonyms.get((term,), ()) if len(form) == 1
        ]
        if len(term) >= FUZZY_MIN_LENGTH and not _known(reader, term):
            found += [(c, TYPO_WEIGHT) for c in _near_terms(reader, "body", term)[:TYPO_CANDIDATES]]
        return found

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

    def _suggest(self, searcher, text: str, tokens) -> str | None:
        """The query with unknown words replaced by the closest frequent indexed words."""
        reader = searcher.reader()
        replacements = []
        for term, start, end in tokens[:MAX_QUERY_TERMS]:
            if any(reader.doc_frequency(field, term) for field in FIELD_BOOSTS):
                continue
            word = spelling_form(text[start:end])
            if not word or len(word) < FUZZY_MIN_LENGTH:
                continue
            candidates = _near_terms(reader, "spelling", word)
            if not candidates and len(word) >= 8:
                candidates = _near_terms(reader, "spelling", word, maxdist=2)
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

    def _hit(self, hit, score: float) -> SearchHit:
        fields = hit.fields()
        snippet = ""
        for field in SNIPPET_FIELDS:
            if fields.get(field):
                snippet = hit.highlights(field, top=1)
                if snippet:
                    break
        if not snippet:
            snippet = html.escape(fields.get("summary") or _shorten(fields.get("body", "")))
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


def _build_query(
    terms: list[str],
    alternatives: dict[str, list[tuple[str, float]]],
    joined: list[tuple[str, frozenset[str]]],
    phrase_synonyms: list[tuple[str, ...]],
) -> Query:
    """OR of the terms over the text fields, plus a bonus for matching all of them.

    Not ``OrGroup.factory``: its coordination matcher scores many matching documents 0
    in Whoosh 2.7.4 (DESIGN.md section 5). An alternative (synonym, spelling) counts as
    the word it replaces, with its lower weight.
    """
    clauses = []
    for term in terms:
        clause = _fields_clause(term)
        others = [_fields_clause(other, weight) for other, weight in alternatives[term]]
        clauses.append(Or([clause, *others]) if others else clause)
    extra = [_fields_clause(word, JOINED_WEIGHT) for word, _ in joined]
    extra += [
        And([_fields_clause(word, SYNONYM_WEIGHT) for word in form]) for form in phrase_synonyms
    ]
    if 1 < len(clauses) <= ALL_TERMS_MAX:
        extra.append(And(clauses, boost=ALL_TERMS_BONUS))
        extra += _proximity_clauses(terms)
    return Or(clauses + extra)


def _proximity_clauses(terms: list[str]) -> list[Query]:
    """A bonus for each pair of adjacent query words found close together, in order."""
    return [
        Phrase(field, [first, second], slop=PROXIMITY_SLOP, boost=PROXIMITY_WEIGHT * boost)
        for first, second in itertools.pairwise(terms)
        for field in PROXIMITY_FIELDS
        if (boost := FIELD_BOOSTS[field])
    ]


def _coordinate(searcher, results, terms: list[str], owners: dict[str, set[str]]) -> list:
    """The hits re-scored by the IDF-weighted share of query terms each one matches.

    Plain BM25 lets one rare word repeated in a long article outrank an article that
    matches most of the question; this is the "matches all or most words" bonus, done on
    the few top results (``OrGroup.factory`` is broken in Whoosh 2.7.4, DESIGN.md §5).
    ``owners`` maps each searched term to the query terms it stands for.
    """
    weight = {term: searcher.idf("body", term) for term in terms}
    total = sum(weight.values()) or 1.0
    ranked = []
    for hit in results:
        matched = set()
        for _, text in hit.matched_terms():
            matched |= owners.get(text.decode("utf-8"), set())
        share = sum(weight[term] for term in matched) / total
        factor = (1.0 - COORD_WEIGHT + COORD_WEIGHT * share) ** COORD_POWER
        ranked.append((hit, (hit.score or 0.0) * factor))
    ranked.sort(key=lambda pair: -pair[1])
    return ranked


def _joined_words(reader, text: str, terms: list[str]) -> list[tuple[str, frozenset[str]]]:
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
            and reader.doc_frequency("body", word) + reader.doc_frequency("title", word)
        ):
            known.add(word)
            parts = {analyse_word(first), analyse_word(second)} & set(terms)
            found.append((word, frozenset(parts)))
    return found


def _near_terms(reader, field: str, word: str, maxdist: int = 1) -> list[str]:
    """Indexed words one edit (or one swap of adjacent letters) from ``word``, most frequent
    first; the first letter is kept, as customers rarely mistype it."""
    candidates = set(reader.terms_within(field, word, maxdist, prefix=1))
    for n in range(1, len(word) - 1):
        swapped = word[:n] + word[n + 1] + word[n] + word[n + 2 :]
        if reader.doc_frequency(field, swapped):
            candidates.add(swapped)
    candidates.discard(word)
    return sorted(candidates, key=lambda c: (-reader.doc_frequency(field, c), c))


def _known(reader, term: str) -> bool:
    return any(reader.doc_frequency(field, term) for field in FIELD_BOOSTS)


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


def _fields_clause(term: str, weight: float = 1.0) -> Query:
    return Or([Term(field, term, boost=boost * weight) for field, boost in FIELD_BOOSTS.items()])


def _contains(terms: list[str], sequence: tuple[str, ...]) -> bool:
    size = len(sequence)
    return any(tuple(terms[i : i + size]) == sequence for i in range(len(terms) - size + 1))


def _shorten(text: str, limit: int = SNIPPET_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"
