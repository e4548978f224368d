"""Query the index: safe query building, ranking, fuzzy fallback, "did you mean", snippets.

One `SearchEngine` per worker process. Customers never reach the Whoosh query language:
their text is analysed into terms and the query is built from those terms, so field
prefixes, wildcards, ranges and "match everything" cannot be expressed at all.
"""

from __future__ import annotations

import html
import logging
import threading
from pathlib import Path

from whoosh import highlight
from whoosh import index as whoosh_index
from whoosh.query import And, FuzzyTerm, Or, Query, Term

from kb.errors import SearchUnavailable
from kb.search.index import FIELD_BOOSTS, index_exists, index_path, load_index_synonyms
from kb.search.results import SearchHit, SearchResults
from kb.search.text import spelling_form

logger = logging.getLogger(__name__)

# Caps applied before analysis: the rest of a longer query is ignored. Real questions (the
# Arabic evaluation set) run to 20-40 words; 24 terms measured best there.
MAX_QUERY_CHARS = 256
MAX_QUERY_TERMS = 24
# Weight of the extra clause that matches documents containing every query term. Only for
# short queries: a long question almost never matches every word, and the clause costs time.
ALL_TERMS_BONUS = 0.5
ALL_TERMS_MAX = 8
# Weight of a synonym relative to the word the customer typed.
SYNONYM_WEIGHT = 0.8
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
                    self._searcher = ix.searcher()
                    self._load_synonyms()
                elif not self._searcher.up_to_date():
                    self._searcher = self._searcher.refresh()
                    self._load_synonyms()
            except (OSError, whoosh_index.IndexError) as error:
                self._searcher = None
                raise SearchUnavailable(f"cannot open the search index: {error}") from error
            return self._searcher

    def _load_synonyms(self) -> None:
        analyzer = self._searcher.schema["body"].analyzer
        synonyms: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for group in load_index_synonyms(self.index_dir):
            forms = [tuple(t.text for t in analyzer(term, mode="query")) for term in group]
            forms = list(dict.fromkeys(form for form in forms if form))
            for form in forms:
                synonyms.setdefault(form, []).extend(other for other in forms if other != form)
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

        query = self._build_query(terms, [term for term, _, _ in tokens])
        results = searcher.search(query, filter=only, limit=limit, **_SEARCH_OPTIONS)
        fuzzy = False
        suggestion = None
        if results.is_empty():
            suggestion = self._suggest(searcher, text, tokens)
            fuzzy_query = _fuzzy_query(terms)
            if fuzzy_query is not None:
                results = searcher.search(fuzzy_query, filter=only, limit=limit, **_SEARCH_OPTIONS)
                fuzzy = not results.is_empty()
        results.highlighter = self._highlighter
        hits = tuple(self._hit(hit) for hit in results)
        return SearchResults(
            query=text, hits=hits, total=len(results), suggestion=suggestion, fuzzy=fuzzy
        )

    def _build_query(self, terms: list[str], sequence: list[str]) -> Query:
        """OR of the terms over the text fields, plus a bonus for matching all of them.

        Not ``OrGroup.factory``: its coordination matcher scores many matching documents 0
        in Whoosh 2.7.4 (DESIGN.md section 5). A synonym counts as the word it replaces;
        ``sequence`` (every query term in order) is where multi-word synonyms are found.
        """
        clauses = []
        for term in terms:
            clause = _fields_clause(term)
            synonyms = [
                _fields_clause(form[0], SYNONYM_WEIGHT)
                for form in self._synonyms.get((term,), ())
                if len(form) == 1
            ]
            clauses.append(Or([clause, *synonyms]) if synonyms else clause)
        extra = [
            And([_fields_clause(word, SYNONYM_WEIGHT) for word in form])
            for trigger, forms in self._synonyms.items()
            if _contains(sequence, trigger)
            for form in forms
            if len(form) > 1
        ]
        if 1 < len(clauses) <= ALL_TERMS_MAX:
            extra.append(And(clauses, boost=ALL_TERMS_BONUS))
        return Or(clauses + extra)

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
            best = None
            for maxdist in (1, 2) if len(word) >= 8 else (1,):
                candidates = [
                    c for c in reader.terms_within("spelling", word, maxdist, prefix=1) if c != word
                ]
                if candidates:
                    best = max(candidates, key=lambda c: reader.doc_frequency("spelling", c))
                    break
            if best:
                original = text[start:end]
                replacements.append((start, end, best.title() if original.istitle() else best))
        if not replacements:
            return None
        corrected = text
        for start, end, word in reversed(replacements):
            corrected = corrected[:start] + word + corrected[end:]
        return corrected if corrected != text else None

    def _hit(self, hit) -> SearchHit:
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
            score=float(hit.score or 0.0),
        )


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
