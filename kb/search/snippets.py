"""Snippets: a short passage of an article around the searched words, as safe HTML.

Whoosh's highlighter rebuilt every token of the field from its postings for each hit (about
half of a query's time). Here the stored text is scanned once with the index's own word
pattern and per-word analysis (`analyse_word`, cached), only as far as `SCAN_CHARS`, and the
passage with the most distinct searched words wins.
"""

from __future__ import annotations

import html
import re
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
    parts = list(_PART.finditer(word))
    joined = None if is_arabic(word) else analyse_word("".join(p.group() for p in parts))
    if joined in terms:
        return [(offset, offset + len(word), joined)]
    found = []
    for part in parts:
        term = analyse_word(part.group())
        if term in terms:
            found.append((offset + part.start(), offset + part.end(), term))
    return found


def make_snippet(text: str, terms: Collection[str], width: int = SNIPPET_CHARS) -> str:
    """The passage of ``text`` with the most distinct ``terms``, matches in ``<mark>``.

    "" when none of the terms occurs in the scanned part of the text. The text is escaped
    before the tags are added, so the result is safe HTML.
    """
    matches = find_matches(text, terms)
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
