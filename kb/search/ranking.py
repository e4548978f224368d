"""BM25F scoring of one index generation with NumPy, from Whoosh's postings.

Whoosh answers a query by walking a tree of matchers in pure Python, posting by posting: with
five fields, synonyms, typo alternatives and the "all terms" bonus a customer's question
becomes dozens of matchers, and at 10,000 articles a query took 30-90 ms. Everything BM25F
needs per (field, term, document) is fixed for an index generation, so each posting list is
read once, turned into an array of BM25 scores and kept (bounded LRU); a query is then a few
vectorised additions over arrays of one score per document. The scores are Whoosh's own
(`whoosh.scoring.BM25F`: the same IDF, average field length and byte-quantised field
lengths), so the ranking is the one the Whoosh query gave (tests/test_search_ranking.py).

Relies on Whoosh 2.7.4's segment readers (`leaf_readers`) and its postings matcher; Whoosh
is pinned and no longer released.
"""

from __future__ import annotations

import bisect
import itertools
import os
import pickle
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, STORED_COLUMN, _lenfield
from whoosh.columns import CompressedBytesColumn, NumericColumn, VarBytesColumn
from whoosh.filedb.compound import SubFile
from whoosh.util.numeric import byte_to_length

from kb.search.text import is_arabic

# Postings kept in memory per worker (one int32 id and one float32 score each): about
# 8 bytes a posting, so 2,000,000 postings are ~16 MB. 1,000 distinct queries on a
# 10,000-article help center in two languages used 740,000.
MAX_CACHED_POSTINGS = 2_000_000
# Documents whose word pairs are kept (about 7 KB each; read for a query's 60 best).
MAX_CACHED_PAIRS = 500
# Cached (field, term) entries, most of them empty (words a field does not hold). An empty
# one shares `_NO_POSTINGS` and costs ~150 bytes (key, LRU node): 50,000 are under 10 MB.
# 1,000 distinct queries used 6,200.
MAX_CACHED_TERMS = 50_000
# The postings of a term a field does not hold: one shared pair of empty arrays, not two new
# ones per cached (field, term).
_NO_POSTINGS = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))
# Whoosh stores a field's length in a document as one byte (lengths above 255 rounded):
# the length each byte stands for.
_BYTE_LENGTHS = np.array([byte_to_length(code) for code in range(256)], dtype=np.float32)


class Ranker:
    """Per-document BM25F scores for one Whoosh searcher (one index generation).

    Thread-safe: the caches are filled under a lock; the arrays are never changed after
    they are cached.
    """

    def __init__(self, searcher, field_boosts: dict[str, float], b: float, k1: float):
        self.searcher = searcher
        self.field_boosts = field_boosts
        self.b = b
        self.k1 = k1
        reader = searcher.reader()
        self.size = reader.doc_count_all()
        self._leaves = list(reader.leaf_readers())
        self._starts = [offset for _, offset in self._leaves]
        self._lock = threading.Lock()
        self._lengths: dict[str, np.ndarray] = {}
        self._masks: dict[tuple[str, str], np.ndarray] = {}
        self._pairs: OrderedDict[int, bytes] = OrderedDict()
        # Per (column, segment): how to read a document's value (see _read).
        self._columns: dict[tuple[str, int], Callable[[int], object]] = {}
        self._vocabularies: dict[str, tuple[frozenset[str], dict[bool, str]]] = {}
        self._term_lists: dict[str, list[str]] = {}
        self._postings: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cached_postings = 0
        # Documents not deleted (an update deletes the old version and adds a new one).
        self.live = np.ones(self.size, dtype=bool)
        if reader.has_deletions():
            self.live[:] = False
            self.live[np.fromiter(reader.all_doc_ids(), dtype=np.int64)] = True

    def term_scores(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers containing ``term`` in ``field`` and their BM25 scores."""
        key = (field, term)
        with self._lock:
            cached = self._postings.get(key)
            if cached is not None:
                self._postings.move_to_end(key)
                return cached
        ids, frequencies = self._read_postings(field, term)
        if len(ids):
            lengths = self._field_lengths(field)[ids]
            average = self.searcher.avg_field_length(field) or 1.0
            idf = self.searcher.idf(field, term)
            norm = self.k1 * ((1.0 - self.b) + self.b * lengths / average)
            scores = (idf * (frequencies * (self.k1 + 1.0)) / (frequencies + norm)).astype(
                np.float32
            )
        else:
            ids, scores = _NO_POSTINGS  # most lookups: a word one field does not hold
        with self._lock:
            self._postings[key] = (ids, scores)
            self._cached_postings += len(ids)
            while len(self._postings) > 1 and (
                self._cached_postings > MAX_CACHED_POSTINGS
                or len(self._postings) > MAX_CACHED_TERMS
            ):
                _, (old_ids, _) = self._postings.popitem(last=False)
                self._cached_postings -= len(old_ids)
        return ids, scores

    def scores_at(self, field: str, term: str, documents: np.ndarray) -> np.ndarray:
        """BM25 scores of ``term`` in ``field`` for ``documents`` (0 where it is absent)."""
        ids, scores = self.term_scores(field, term)
        found = np.zeros(len(documents), dtype=np.float32)
        if len(ids):
            places = np.minimum(np.searchsorted(ids, documents), len(ids) - 1)
            present = ids[places] == documents
            found[present] = scores[places[present]]
        return found

    def stored_pairs(self, documents: Iterable[int]) -> dict[int, bytes]:
        """The adjacent word pairs (`kb.search.index.adjacent_pairs`) of each document, as the
        stored bytes between spaces: whether a document holds pair "t|gift+card" is then one
        substring search for b" t|gift+card " (splitting them into a set cost 50
        microseconds a document)."""
        found: dict[int, bytes] = {}
        missing = []
        with self._lock:
            for docnum in documents:
                stored = self._pairs.get(docnum)
                if stored is None:
                    missing.append(docnum)
                else:
                    self._pairs.move_to_end(docnum)
                    found[docnum] = stored
        for docnum in missing:
            found[docnum] = b" " + self.column_value("pairs", docnum) + b" "
        with self._lock:
            for docnum in missing:
                self._pairs[docnum] = found[docnum]
            while len(self._pairs) > MAX_CACHED_PAIRS:
                self._pairs.popitem(last=False)
        return found

    def column_value(self, field: str, docnum: int) -> bytes:
        """A document's value in a bytes column (b"" when its segment has no such column)."""
        return self._read(field, docnum, _column_reader)

    def stored_fields(self, docnum: int) -> dict:
        """A document's stored fields, as Whoosh's ``searcher.stored_fields`` gives them."""
        return self._read("_stored", docnum, _stored_fields_reader)

    def _read(self, name: str, docnum: int, open_reader: Callable[[object, str], Callable]):
        """``docnum``'s value read by the reader ``open_reader`` makes for its segment.

        Opening a reader reads its whole table of offsets (~1 ms at 1,000 documents): once
        per segment and generation, not per hit.
        """
        number, offset = self._leaf_of(docnum)
        read = self._columns.get((name, number))
        if read is None:
            read = open_reader(self._leaves[number][0], name)
            with self._lock:
                self._columns[(name, number)] = read
        return read(docnum - offset)

    def _leaf_of(self, docnum: int) -> tuple[int, int]:
        """The segment holding ``docnum``: its number and its first document number."""
        number = bisect.bisect_right(self._starts, docnum) - 1
        return number, self._starts[number]

    def document_frequency(self, field: str, term: str) -> int:
        """How many documents hold ``term`` in ``field`` (deleted ones included, as Whoosh)."""
        return len(self.term_scores(field, term)[0])

    def near_terms(self, field: str, word: str) -> list[str]:
        """Terms of ``field`` one edit from ``word`` (a letter deleted, inserted, replaced, or
        two neighbours swapped), never changing its first letter, most frequent first.

        Whoosh's `terms_within` walks the whole term dictionary with a Levenshtein automaton
        in Python (~15 ms at 1,000 articles); generating the few hundred spellings one edit
        away and looking each up in the field's vocabulary costs well under a millisecond.
        """
        vocabulary, letters = self._vocabulary(field)
        alphabet = letters[is_arabic(word)]
        candidates = {edit for edit in _one_edit(word, alphabet) if edit in vocabulary}
        candidates.discard(word)
        reader = self.searcher.reader()
        return sorted(candidates, key=lambda c: (-reader.doc_frequency(field, c), c))

    def terms_with_prefix(self, field: str, prefix: str, limit: int) -> list[str]:
        """The first ``limit`` terms of ``field`` that start with ``prefix``, in term order
        (what Whoosh's `expand_prefix` gives, from a sorted list in memory: Whoosh's
        binary search reads the term table a few bytes at a time, ~1 ms a field)."""
        terms = self._sorted_terms(field)
        found = []
        for term in itertools.islice(terms, bisect.bisect_left(terms, prefix), None):
            if not term.startswith(prefix) or len(found) >= limit:
                break
            found.append(term)
        return found

    def _sorted_terms(self, field: str) -> list[str]:
        with self._lock:
            cached = self._term_lists.get(field)
        if cached is None:
            cached = sorted(self.searcher.reader().field_terms(field))
            with self._lock:
                self._term_lists[field] = cached
        return cached

    def _vocabulary(self, field: str) -> tuple[frozenset[str], dict[bool, str]]:
        """Every term of ``field``, and the letters they use (Latin or other, Arabic)."""
        with self._lock:
            cached = self._vocabularies.get(field)
        if cached is None:
            vocabulary = frozenset(self._sorted_terms(field))
            used = set().union(*vocabulary) if vocabulary else set()
            letters = {
                True: "".join(sorted(c for c in used if is_arabic(c))),
                False: "".join(sorted(c for c in used if not is_arabic(c))),
            }
            cached = (vocabulary, letters)
            with self._lock:
                self._vocabularies[field] = cached
        return cached

    def clause(self, forms: Iterable[tuple[str, float]]) -> np.ndarray:
        """Dense scores of an OR of terms over every searched field, each term weighted."""
        total = np.zeros(self.size, dtype=np.float32)
        for term, weight in forms:
            for field, boost in self.field_boosts.items():
                ids, scores = self.term_scores(field, term)
                if len(ids):
                    # A term occurs once per document in a posting list: no repeated ids.
                    total[ids] += scores * np.float32(boost * weight)
        return total

    def mask(self, field: str, value: str) -> np.ndarray:
        """Documents whose ID field ``field`` is ``value`` (e.g. lang "ar")."""
        key = (field, value)
        with self._lock:
            cached = self._masks.get(key)
        if cached is None:
            ids, _ = self._read_postings(field, value)
            cached = np.zeros(self.size, dtype=bool)
            cached[ids] = True
            cached &= self.live
            with self._lock:
                self._masks[key] = cached
        return cached

    def _field_lengths(self, field: str) -> np.ndarray:
        with self._lock:
            lengths = self._lengths.get(field)
        if lengths is None:
            lengths = np.zeros(self.size, dtype=np.float32)
            for leaf, offset in self._leaves:
                segment = lengths[offset : offset + leaf.doc_count_all()]
                segment[:] = _segment_field_lengths(leaf, field, len(segment))
            with self._lock:
                self._lengths[field] = lengths
        return lengths

    def _read_postings(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """All postings of a term across segments: global document numbers and frequencies."""
        ids: list[int] = []
        weights: list[float] = []
        for leaf, offset in self._leaves:
            if (field, term) not in leaf:
                continue
            matcher = leaf.postings(field, term)
            # A segment with deletions wraps its postings in a filter; deleted documents are
            # masked out with `live` instead.
            while not hasattr(matcher, "_read_ids") and hasattr(matcher, "child"):
                matcher = matcher.child
            start = len(ids)
            if hasattr(matcher, "_read_ids"):
                # Block by block (Whoosh 2.7.4's W3LeafMatcher): one call per block of up to
                # 128 postings instead of three method calls per posting.
                while matcher.is_active():
                    matcher._read_ids()
                    matcher._read_weights()
                    ids.extend(matcher._ids)
                    weights.extend(matcher._weights)
                    matcher._next_block()
            else:  # any other matcher, through the public interface
                while matcher.is_active():
                    ids.append(matcher.id())
                    weights.append(matcher.weight())
                    matcher.next()
            if offset:
                for position in range(start, len(ids)):
                    ids[position] += offset
        return np.array(ids, dtype=np.int32), np.array(weights, dtype=np.float32)


def _one_edit(word: str, alphabet: str):
    """Every string one edit from ``word`` that keeps its first letter."""
    for n in range(1, len(word) + 1):
        head, tail = word[:n], word[n:]
        for letter in alphabet:
            yield head + letter + tail  # insertion
            if tail:
                yield head + letter + tail[1:]  # replacement
        if tail:
            yield head + tail[1:]  # deletion
        if len(tail) > 1:
            yield head + tail[1] + tail[0] + tail[2:]  # swap


def _segment_field_lengths(leaf, field: str, count: int) -> np.ndarray:
    """Every document's length of ``field`` in one segment, as ``leaf.doc_field_length``
    gives them (Whoosh 2.7.4): its column of length bytes read at once. One Python call
    per document took 100 ms at 10,000 articles, after every article saved."""
    column = leaf._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
    if type(column) is NumericColumn.Reader and column._fixedlen == 1:
        codes = np.zeros(count, dtype=np.uint8)  # documents past the column's end: 0
        stored = min(count, column._count)
        codes[:stored] = np.frombuffer(column._dbfile.get(column._basepos, stored), np.uint8)
        return _BYTE_LENGTHS[codes]
    return np.array([leaf.doc_field_length(n, field) or 0 for n in range(count)], np.float32)


def _column_reader(leaf, field: str) -> Callable[[int], bytes]:
    if not leaf.has_column(field):
        return _no_value  # an index written before the column existed
    column = leaf.column_reader(field)
    return _direct_values(column) or column.__getitem__


def _no_value(_docnum: int) -> bytes:
    return b""


def _stored_fields_reader(leaf, _name: str) -> Callable[[int], dict]:
    stored = _direct_values(_stored_column(leaf))
    if stored is None:
        return leaf.stored_fields

    def read(docnum: int) -> dict:
        value = stored(docnum)
        return pickle.loads(zlib.decompress(value)) if value else {}

    return read


def _stored_column(leaf):
    """The segment's column of stored fields (pickled, compressed dicts), Whoosh 2.7.4."""
    return leaf._perdoc.column_reader("_stored", STORED_COLUMN)


def _direct_values(column) -> Callable[[int], bytes] | None:
    """``column[docnum]`` for a Whoosh 2.7.4 variable-length bytes column, as one `os.pread`
    of its bytes (not yet decompressed for a compressed column); None for any other column
    or file (the caller then reads through Whoosh).

    Whoosh reads a value through four layers of Python file objects (seek, then read): a
    fifth of a query's time went there, reading the ten hits' stored fields, snippet spans
    and word pairs. pread leaves the shared file's position alone, so no lock is needed.
    """
    raw = getattr(column, "_child", None) or getattr(column, "_reader", None) or column
    if type(raw) not in (VarBytesColumn.Reader, CompressedBytesColumn.Reader):
        return None
    file = raw._dbfile.file
    start = raw._basepos
    if isinstance(file, SubFile):  # a part of the segment's compound file
        start += file._offset
        file = file._file
    try:
        descriptor = file.fileno()
    except (AttributeError, OSError, ValueError):
        return None  # e.g. a memory map
    offsets, lengths = raw._offsets, raw._lengths

    def value(docnum: int) -> bytes:
        length = lengths[docnum]
        return os.pread(descriptor, length, start + offsets[docnum]) if length else b""

    return value
