"""Snippets: a short passage of an article around the searched words, as safe HTML.

Whoosh's highlighter rebuilt every token of the field from its postings for each hit (about
half of a query's time). Here the words of the stored text are found with the index's own
word pattern and per-word analysis, only as far as `SCAN_CHARS`, and the passage with the most
distinct searched words wins. For the body, the analysis is done once at index time
(`word_spans`, stored beside the document): a query then only compares terms, which made
snippets, 70% of a query's time, about ten times cheaper.
"""

from __future__ import annotations

import html
import re
import struct
from collections.abc import Collection

from kb.search.analysis import COMPOUND_PATTERN, HYPHENS
from kb.search.text import TOKEN_PATTERN, analyse_word, is_arabic

SNIPPET_CHARS = 160
# Context kept before the first marked word of the passage.
SURROUND_CHARS = 40
# How far into a field the searched words are looked for: beyond that the passage would be
# deep in a long article, and scanning it costs time on every hit.
SCAN_CHARS = 1500
# Matches considered per field (bounds the passage choice on a word repeated everywhere).
MAX_MATCHES = 200
_COMPOUND = re.compile(COMPOUND_PATTERN)
_PART = re.compile(TOKEN_PATTERN)
_HYPHEN = re.compile(f"[{HYPHENS}]")


# Packing of `word_spans`: the byte length of the terms, the terms (UTF-8, one per line),
# then (start, end) of each as little-endian unsigned 16-bit numbers (SCAN_CHARS < 65,536).
_SIZE = struct.Struct("<I")
_SPAN = struct.Struct("<HH")


def word_spans(text: str) -> bytes:
    """The index term and the span of each word in the first `SCAN_CHARS` of ``text``, packed.

    Index-time work for `mapped_matches`. A hyphenated word gives its joined form over the
    whole word first (Latin script only), then its parts, as `find_matches` looks for them;
    stop words are left out.
    """
    terms: list[str] = []
    spans: list[bytes] = []
    for match in _COMPOUND.finditer(text, 0, min(len(text), SCAN_CHARS)):
        word, start = match.group(), match.start()
        if _HYPHEN.search(word):
            entries = _compound_entries(word, start)
        else:
            entries = [(start, match.end(), analyse_word(word))]
        for entry_start, entry_end, term in entries:
            if term is not None:
                terms.append(term)
                spans.append(_SPAN.pack(entry_start, entry_end))
    packed = "\n".join(terms).encode("utf-8")
    return _SIZE.pack(len(packed)) + packed + b"".join(spans)


def mapped_matches(packed: bytes, terms: Collection[str]) -> list[tuple[int, int, str]]:
    """`find_matches` from the `word_spans` of the text: no analysis at query time."""
    if not packed:
        return []
    (size,) = _SIZE.unpack_from(packed)
    # Each searched term is looked for as a whole line of the packed terms, in C (bytes.find);
    # its line number is its word's number. Splitting and comparing every word of the text
    # in Python cost more than the rest of the snippet.
    lines = b"\n" + packed[_SIZE.size : _SIZE.size + size] + b"\n"
    wanted: list[tuple[int, str]] = []
    for term in terms:
        needle = b"\n" + term.encode("utf-8") + b"\n"
        position = lines.find(needle)
        while position != -1:
            wanted.append((lines.count(b"\n", 0, position), term))
            position = lines.find(needle, position + len(needle) - 1)
    if not wanted:
        return []
    wanted.sort()
    spans_at = _SIZE.size + size
    found: list[tuple[int, int, str]] = []
    marked_to = -1
    for number, term in wanted:
        start, end = _SPAN.unpack_from(packed, spans_at + _SPAN.size * number)
        if start < marked_to:
            continue  # a part of a hyphenated word already marked whole
        found.append((start, end, term))
        marked_to = end
        if len(found) >= MAX_MATCHES:
            break
    return found


def _compound_entries(word: str, offset: int) -> list[tuple[int, int, str | None]]:
    parts = list(_PART.finditer(word))
    entries = []
    if not is_arabic(word):
        joined = analyse_word("".join(part.group() for part in parts))
        entries.append((offset, offset + len(word), joined))
    entries += [
        (offset + part.start(), offset + part.end(), analyse_word(part.group())) for part in parts
    ]
    return entries


def find_matches(text: str, terms: Collection[str]) -> list[tuple[int, int, str]]:
    """(start, end, term) of each word of ``text`` whose index term is in ``terms``.

    Words are split and analysed as the index does (`CompoundTokenizer`): a hyphenated word
    matches by its parts and by its joined form ("e-mail" for "email"). Only the first
    `SCAN_CHARS` characters are read, and only up to `MAX_MATCHES` matches are returned.
    """
    end = min(len(text), SCAN_CHARS)
    # First the cheap pass (C-level findall and map) to learn whether and where words match;
    # character offsets are computed only when something matched.
    words = _COMPOUND.findall(text, 0, end)
    wanted = {
        number
        for number, term in enumerate(map(analyse_word, words))
        if term in terms or (term is not None and _HYPHEN.search(term))
    }
    if not wanted:
        return []
    last = max(wanted)
    found: list[tuple[int, int, str]] = []
    for number, match in enumerate(_COMPOUND.finditer(text, 0, end)):
        if number in wanted:
            word = match.group()
            term = analyse_word(word)
            if term in terms:
                found.append((match.start(), match.end(), term))
            else:
                found += _compound_matches(word, match.start(), terms)
            if len(found) >= MAX_MATCHES:
                break
        if number >= last:
            break
    return found


def _compound_matches(word: str, offset: int, terms: Collection[str]):
    found = [entry for entry in _compound_entries(word, offset) if entry[2] in terms]
    if found and found[0][:2] == (offset, offset + len(word)):
        return found[:1]  # the joined form marks the whole word
    return found


def make_snippet(
    text: str, terms: Collection[str], width: int = SNIPPET_CHARS, spans: bytes | None = None
) -> str:
    """The passage of ``text`` with the most distinct ``terms``, matches in ``<mark>``.

    "" when none of the terms occurs in the scanned part of the text. ``spans`` is the
    text's `word_spans`, when the index stored them. The text is escaped before the tags
    are added, so the result is safe HTML.
    """
    matches = find_matches(text, terms) if spans is None else mapped_matches(spans, terms)
    if not matches:
        return ""
    best, best_rank = (0, 0), None
    for first in range(len(matches)):
        last = first
        while last + 1 < len(matches) and matches[last + 1][1] - matches[first][0] <= width:
            last += 1
        distinct = len({term for _, _, term in matches[first : last + 1]})
        rank = (distinct, last - first)
        if best_rank is None or rank > best_rank:
            best, best_rank = (first, last), rank
    first, last = best
    start = _word_start(text, max(0, matches[first][0] - SURROUND_CHARS))
    end = _word_end(text, matches[last][1], max(matches[last][1], min(len(text), start + width)))
    parts = ["…" if start > 0 else ""]
    position = start
    for match_start, match_end, _ in matches[first : last + 1]:
        parts.append(_escape(text[position:match_start]))
        parts.append(f"<mark>{_escape(text[match_start:match_end])}</mark>")
        position = match_end
    parts.append(_escape(text[position:end]))
    parts.append("…" if end < len(text) else "")
    return "".join(parts).strip()


def shorten(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The start of ``text`` cut at a word boundary (plain text, not escaped)."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


def _escape(text: str) -> str:
    return html.escape(" ".join(text.split("\n")), quote=True)


def _word_start(text: str, position: int) -> int:
    """``position`` moved forward to the start of a word (or left at 0)."""
    if position == 0:
        return 0
    space = text.find(" ", position, position + SURROUND_CHARS)
    newline = text.find("\n", position, position + SURROUND_CHARS)
    breaks = [found for found in (space, newline) if found != -1]
    return min(breaks) + 1 if breaks else position


def _word_end(text: str, floor: int, position: int) -> int:
    """``position`` moved back to the end of a word, not before ``floor``."""
    if position >= len(text):
        return len(text)
    space = max(text.rfind(" ", floor, position), text.rfind("\n", floor, position))
    return space if space != -1 else position
