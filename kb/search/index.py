"""Build and update the Whoosh index of published articles (DESIGN.md section 5).

The index lives in ``<index_dir>/v<SCHEMA_VERSION>``: a change of fields or analysis bumps
the version, so a new index is built beside the old one instead of over it. Next to the
Whoosh files that directory holds the synonym groups (``synonyms.json``) and the fingerprint
of the articles it was built from (``fingerprint``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import re
import struct
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, TEXT, Schema
from whoosh.writing import CLEAR

from kb.content import Article, SynonymGroup
from kb.errors import SearchUnavailable
from kb.search.analysis import (
    COMPOUND_PATTERN,
    HYPHENS,
    script_aware_analyzer,
    spelling_analyzer,
)
from kb.search.snippets import word_spans
from kb.search.text import TOKEN_PATTERN, analyse_word

logger = logging.getLogger(__name__)

# Bump whenever the schema or the analysis changes: the index is then rebuilt in a new
# directory and a web worker never reads an index its code cannot query.
SCHEMA_VERSION = 4
# Seconds a writer waits for another writer's lock before giving up.
WRITER_TIMEOUT = 30.0
SYNONYMS_FILE = "synonyms.json"
FINGERPRINT_FILE = "fingerprint"
ARTICLE_SYNONYMS_FILE = "synonyms.yml"

# Searchable text fields and their query-time boosts. Whoosh scores every field with BM25
# and adds the scores up, so a word in the title already counts twice (title and body);
# boosts above 1 over-rewarded title words on both evaluation sets (docs/search-quality.md).
# `questions:` are alternative titles and weigh the same.
# Characters of the body (from its start) whose adjacent words are indexed as pairs.
PAIRS_BODY_CHARS = 1500
_PAIR_WORD = re.compile(COMPOUND_PATTERN)
_PAIR_PART = re.compile(TOKEN_PATTERN)
_PAIR_HYPHEN = re.compile(f"[{HYPHENS}]")
_WORDS = re.compile(TOKEN_PATTERN)

FIELD_BOOSTS = {"title": 1.0, "questions": 1.0, "tagwords": 1.0, "summary": 1.0, "body": 1.0}

# What opening a damaged index raises (measured on Whoosh 2.7.4, tests/test_faults.py): a
# truncated table of contents fails in struct/pickle, an empty one with TypeError, a garbled
# one with whatever unpickling the garbage hits (the analyser's regex pattern is pickled
# too: re.error); a truncated segment with EOFError. Each means "search unavailable until
# `flask kb index`", never a 500.
DAMAGED_INDEX_ERRORS = (
    OSError,
    EOFError,
    whoosh_index.IndexError,
    struct.error,
    pickle.UnpicklingError,
    re.error,
    ArithmeticError,
    ValueError,
    TypeError,
    LookupError,
    AttributeError,
    ImportError,
    MemoryError,
)


def make_schema() -> Schema:
    analyzer = script_aware_analyzer()
    return Schema(
        key=ID(unique=True, stored=True),
        lang=ID(stored=True),
        slug=ID(stored=True),
        # No positions: proximity comes from the `pairs` field and snippets from the stored
        # text (kb.search.snippets), so term frequencies are all the text fields need.
        title=TEXT(analyzer=analyzer, stored=True, phrase=False),
        questions=TEXT(analyzer=analyzer, stored=True, phrase=False),
        summary=TEXT(analyzer=analyzer, stored=True, phrase=False),
        # Plain text of the rendered article: searched, and the source of snippets.
        body=TEXT(analyzer=analyzer, stored=True, phrase=False),
        category=ID(stored=True),
        tags=KEYWORD(stored=True, commas=True, lowercase=True),
        tagwords=TEXT(analyzer=analyzer, phrase=False),
        # Unstemmed words of the article, the vocabulary of "did you mean".
        spelling=TEXT(analyzer=spelling_analyzer(), phrase=False),
        # Adjacent word pairs ("t|gift+card"), for the proximity bonus (`adjacent_pairs`):
        # a per-document column, not indexed terms (150,000 distinct pairs per 1,000
        # articles made a build three times slower); read only for the top candidates.
        pairs=COLUMN(VarBytesColumn()),
        # The analysed words of the start of the body and where they are, for snippets
        # (`kb.search.snippets.word_spans`): analysis done once here, not at every search.
        body_spans=COLUMN(VarBytesColumn()),
    )


def index_path(index_dir: Path | str) -> Path:
    """The directory of the current schema version's index inside ``index_dir``."""
    return Path(index_dir) / f"v{SCHEMA_VERSION}"


def index_exists(index_dir: Path | str) -> bool:
    path = index_path(index_dir)
    return path.is_dir() and whoosh_index.exists_in(str(path))


def build_index(
    index_dir: Path | str,
    articles: Iterable[Article],
    synonyms: Iterable[SynonymGroup | tuple[str, ...]] = (),
    progress: Callable[[int], None] | None = None,
    html_of: Callable[[Article], str] | None = None,
) -> int:
    """Replace the index with the published ``articles``; return how many were indexed.

    One writer adds every document and commits with ``mergetype=CLEAR``, so readers move
    from the old generation to the complete new one at once. ``progress(1)`` is called after
    each article (drafts included), matching click's ``bar.update``. A plain tuple in
    ``synonyms`` is a same-script group. ``html_of`` gives an article's rendered HTML (e.g.
    from the HTML cache); by default it is rendered here.
    """
    path = index_path(index_dir)
    path.mkdir(parents=True, exist_ok=True)
    (path / FINGERPRINT_FILE).unlink(missing_ok=True)
    ix = _open_for_rebuild(path, make_schema())
    count = 0
    with _writing(ix, mergetype=CLEAR) as writer:
        for article in articles:
            if article.published:
                html = html_of(article) if html_of else None
                writer.add_document(**article_document(article, html))
                count += 1
            if progress is not None:
                progress(1)
    groups = [g if isinstance(g, SynonymGroup) else SynonymGroup(tuple(g)) for g in synonyms]
    stored = [{"terms": list(g.terms), "across_languages": g.across_languages} for g in groups]
    _write_atomically(path / SYNONYMS_FILE, json.dumps(stored, ensure_ascii=False))
    logger.info("indexed %d articles in %s", count, path)
    return count


def update_article(index_dir: Path | str, article: Article) -> None:
    """Add or replace one article in the index; a draft is removed from it."""
    ix = _open(index_dir)
    with _writing(ix) as writer:
        if article.published:
            writer.update_document(**article_document(article))
        else:
            writer.delete_by_term("key", article.key)


def remove_article(index_dir: Path | str, key: str) -> None:
    """Remove the article with ``key`` ("lang/slug") from the index, if it is there."""
    ix = _open(index_dir)
    with _writing(ix) as writer:
        writer.delete_by_term("key", key)


def load_index_synonyms(index_dir: Path | str) -> list[SynonymGroup]:
    """The synonym groups stored beside the index by `build_index` (none if absent)."""
    try:
        data = json.loads((index_path(index_dir) / SYNONYMS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as error:
        logger.warning("ignoring unreadable synonyms beside the index: %s", error)
        return []
    groups = []
    for group in data if isinstance(data, list) else []:
        if isinstance(group, dict) and isinstance(group.get("terms"), list):
            terms = tuple(str(term) for term in group["terms"])
            groups.append(SynonymGroup(terms, bool(group.get("across_languages"))))
    return groups


def fingerprint(articles_dir: Path | str) -> str:
    """A hash of every article file (path and content), the synonyms and the schema version."""
    articles_dir = Path(articles_dir)
    digest = hashlib.sha256(f"kb-search-v{SCHEMA_VERSION}\n".encode())
    paths = sorted(articles_dir.rglob("*.md"))
    synonyms = articles_dir / ARTICLE_SYNONYMS_FILE
    if synonyms.is_file():
        paths.append(synonyms)
    for path in paths:
        name = path.relative_to(articles_dir).as_posix().encode()
        content = path.read_bytes()
        digest.update(b"%d:%s%d:" % (len(name), name, len(content)))
        digest.update(content)
    return digest.hexdigest()


def write_fingerprint(index_dir: Path | str, value: str) -> None:
    """Record that the index was built from articles with this `fingerprint`."""
    _write_atomically(index_path(index_dir) / FINGERPRINT_FILE, value)


def index_is_current(index_dir: Path | str, value: str) -> bool:
    """True when the index exists and was last built from articles with this fingerprint."""
    if not index_exists(index_dir):
        return False
    try:
        stored = (index_path(index_dir) / FINGERPRINT_FILE).read_text(encoding="utf-8")
    except OSError:
        return False
    return stored.strip() == value


def article_document(article: Article, html: str | None = None) -> dict[str, str | bytes]:
    """The fields Whoosh stores for one article (``html``: its rendered body, if known)."""
    body = plain_text(article.html if html is None else html)
    questions = "\n".join(article.questions)
    spelling = "\n".join((article.title, questions, article.summary, body))
    document = {
        "key": article.key,
        "lang": article.lang,
        "slug": article.slug,
        "title": article.title,
        "questions": questions,
        "summary": article.summary,
        "body": body,
        # Each word once: "did you mean" ranks by document frequency, not counts.
        "spelling": " ".join(dict.fromkeys(_WORDS.findall(spelling))),
    }
    pairs = adjacent_pairs({"t": article.title, "q": questions, "b": body[:PAIRS_BODY_CHARS]})
    if pairs:
        document["pairs"] = " ".join(sorted(pairs)).encode()
    if body:
        document["body_spans"] = word_spans(body)
    if article.category:
        document["category"] = article.category
    if article.tags:
        document["tags"] = ",".join(article.tags)
        document["tagwords"] = "\n".join(article.tags)
    return document


def adjacent_pairs(texts: dict[str, str]) -> set[str]:
    """Index terms of adjacent words, by field code: {"t": "Gift card"} -> {"t|gift+card"}.

    What a phrase query of two words with no gap finds, computed once at index time: the
    search engine gives documents holding a pair of adjacent query words a proximity bonus
    without reading positions at query time. Stop words break a pair, as they do for Whoosh
    phrases (they keep their position). Only the start of the body is paired
    (`PAIRS_BODY_CHARS`): it bounds the index size, and it is where an article says what
    it is about.
    """
    pairs: set[str] = set()
    for code, text in texts.items():
        previous: list[str] = []
        for word in _PAIR_WORD.findall(text):
            parts = _PAIR_PART.findall(word) if _PAIR_HYPHEN.search(word) else (word,)
            for part in parts:
                term = analyse_word(part)
                if term is not None:
                    pairs.update(f"{code}|{first}+{term}" for first in previous)
                previous = [term] if term is not None else []
    return pairs


class _TextExtractor(HTMLParser):
    BLOCKS = frozenset(
        "p br hr h1 h2 h3 h4 h5 h6 ul ol li dl dt dd blockquote table tr th td pre".split()
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f" {alt} ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> str:
    """The readable text of (sanitised) HTML: no markup, one line per block."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _open_for_rebuild(path: Path, schema: Schema):
    """The index in ``path`` to rebuild in place; a new one where there is none or it is damaged.

    A table of contents that cannot be read serves no reader, so only then is `create_in`
    used over existing files (DESIGN.md section 5 forbids it over a live index).
    """
    try:
        if whoosh_index.exists_in(str(path)):
            # The current schema, not the pickled one: CLEAR drops every old segment.
            return whoosh_index.open_dir(str(path), schema=schema)
    except DAMAGED_INDEX_ERRORS as error:
        logger.warning("replacing the unreadable search index in %s: %r", path, error)
    return whoosh_index.create_in(str(path), schema)


def _open(index_dir: Path | str):
    path = index_path(index_dir)
    try:
        return whoosh_index.open_dir(str(path))
    except (OSError, whoosh_index.IndexError) as error:
        raise SearchUnavailable(f"no search index in {path}; run `flask kb index`") from error


@contextmanager
def _writing(ix, **commit_options) -> Iterator:
    """A writer that commits with ``commit_options`` on success and releases its lock always."""
    try:
        writer = ix.writer(timeout=WRITER_TIMEOUT)
    except whoosh_index.LockError as error:
        raise SearchUnavailable("the search index is locked by another writer") from error
    try:
        yield writer
    except BaseException:
        writer.cancel()
        raise
    writer.commit(**commit_options)


def _write_atomically(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)
