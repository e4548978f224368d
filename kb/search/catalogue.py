"""The indexed articles and their title/question completions, in a SQLite file beside the index.

Written with the index (`build_index`, `update_article`, `remove_article` call the functions
here) and read by every web worker: the customer pages ask it for an article, a category's
articles or the category counts (`kb.content.ArticleLibrary`), and search-as-you-type looks
up what was typed among the word-suffixes of every title and ``questions:`` phrasing
(`kb.search.suggest`). A worker used to parse every article file (2.6 s and ~70 MB at 10,000
articles) and build the suffix list from the index's stored fields (1 s and ~40 MB) before
its first page or suggestion; the file answers each question with one indexed query and
holds nothing in the worker's memory.

It is a derivative of the index, like the index itself: always SQLite (the events database
may be PostgreSQL), one per server, rebuilt by `flask kb index`. WAL mode, so readers never
wait for a writer; writers run under the index's own writer lock (one at a time).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kb.content import Article
from kb.search.text import is_arabic, normalize_query

logger = logging.getLogger(__name__)

CATALOGUE_FILE = "catalogue.sqlite3"
# Bump when the tables or the folding of phrases change (kb.search.text.normalize_query or
# `strip_particle`): readers ignore a catalogue of another version until `flask kb index`.
# Written last by a full build, so it also means "complete".
CATALOGUE_VERSION = 1
# Seconds a reader or writer waits for a writer's lock (WAL readers only wait during a
# checkpoint; writers wait for each other).
BUSY_TIMEOUT = 30.0
# SQLite page cache of each reading thread, in KB.
READER_CACHE_KB = 256
# Leading particles a customer may or may not type: "و" (and), "ال" (the), "وال".
_ARABIC_PARTICLES = ("وال", "ال", "و")
# Letters a stripped word must keep: "ولد" stays "ولد", "الد" stays "الد".
MIN_STRIPPED = 3

_TABLES = """
CREATE TABLE articles (
    id INTEGER PRIMARY KEY,  -- the order the index build saw the articles in (path order)
    key TEXT NOT NULL UNIQUE,
    lang TEXT NOT NULL,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    summary TEXT NOT NULL,
    category TEXT NOT NULL,
    tags TEXT NOT NULL,  -- JSON lists
    questions TEXT NOT NULL,
    related TEXT NOT NULL,
    updated TEXT,  -- ISO date
    path TEXT
);
CREATE INDEX articles_lang_category ON articles (lang, category);
CREATE INDEX articles_lang_updated ON articles (lang, updated);
CREATE TABLE phrases (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL,
    is_title INTEGER NOT NULL,
    text TEXT NOT NULL,
    folded TEXT NOT NULL  -- normalize_query(text)
);
CREATE INDEX phrases_article ON phrases (article_id);
-- Every word-suffix of every phrase ("track your order", "your order", "order"), also
-- without Arabic particles (variant 1). A covering index: a prefix lookup reads only it.
CREATE TABLE suffixes (
    lang TEXT NOT NULL,
    suffix TEXT NOT NULL,
    phrase_id INTEGER NOT NULL,
    position INTEGER NOT NULL,  -- of the suffix's first word in the phrase
    is_title INTEGER NOT NULL,
    length INTEGER NOT NULL  -- of the phrase's text
);
"""
_SUFFIX_INDEX = (
    "CREATE INDEX suffixes_lookup ON suffixes (lang, suffix, phrase_id, position, is_title, length)"
)
_ARTICLE_COLUMNS = (
    "lang, slug, title, body, summary, category, tags, questions, related, updated, path"
)


def catalogue_file(directory: Path | str) -> Path:
    """The catalogue in an index version directory (`kb.search.index.index_path`)."""
    return Path(directory) / CATALOGUE_FILE


# Writing.


def replace_catalogue(directory: Path | str, articles: Iterable[Article]) -> None:
    """Make the catalogue hold exactly the published ``articles`` (a full index build).

    One transaction: readers see the old catalogue until the new one is complete.
    """
    with _writing(catalogue_file(directory)) as connection:
        connection.execute("BEGIN IMMEDIATE")
        # Whatever an older version left: its tables may have other columns.
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall():
            connection.execute(f'DROP TABLE "{name}"')
        for statement in _TABLES.split(";"):
            if statement.strip():
                connection.execute(statement)
        phrases: list[tuple] = []
        suffixes: list[tuple] = []
        for article in articles:
            if article.published:
                article_id = _insert_article(connection, article)
                _collect_phrases(article, article_id, len(phrases), phrases, suffixes)
        connection.executemany("INSERT INTO phrases VALUES (?, ?, ?, ?, ?)", phrases)
        # The index is built after the rows are in: one sort instead of 200,000 inserts
        # into a B-tree (at 10,000 articles).
        connection.executemany("INSERT INTO suffixes VALUES (?, ?, ?, ?, ?, ?)", suffixes)
        connection.execute(_SUFFIX_INDEX)
        connection.execute(f"PRAGMA user_version = {CATALOGUE_VERSION}")


def update_catalogue(directory: Path | str, article: Article) -> None:
    """Add or replace one article (a draft is removed), if there is a complete catalogue.

    Without one (an index built before catalogues existed) there is nothing to patch:
    readers fall back to what they did before, and `flask kb index --if-changed` builds it.
    """
    with _writing(catalogue_file(directory), complete_only=True) as connection:
        if connection is None:
            return
        connection.execute("BEGIN IMMEDIATE")
        old_id = _delete_article(connection, article.key)
        if article.published:
            # An edited article keeps its place among the others (the order of recent ones).
            article_id = _insert_article(connection, article, old_id)
            first = connection.execute("SELECT coalesce(max(id), 0) + 1 FROM phrases").fetchone()
            phrases: list[tuple] = []
            suffixes: list[tuple] = []
            _collect_phrases(article, article_id, first[0] - 1, phrases, suffixes)
            connection.executemany("INSERT INTO phrases VALUES (?, ?, ?, ?, ?)", phrases)
            connection.executemany("INSERT INTO suffixes VALUES (?, ?, ?, ?, ?, ?)", suffixes)


def remove_from_catalogue(directory: Path | str, key: str) -> None:
    """Remove the article with ``key`` ("lang/slug"), if there is a complete catalogue."""
    with _writing(catalogue_file(directory), complete_only=True) as connection:
        if connection is not None:
            connection.execute("BEGIN IMMEDIATE")
            _delete_article(connection, key)


def catalogue_is_current(directory: Path | str) -> bool:
    """True when the directory holds a complete catalogue of this version."""
    path = catalogue_file(directory)
    if not path.is_file():
        return False
    try:
        connection = _connect(path)
        try:
            return _version(connection) == CATALOGUE_VERSION
        finally:
            connection.close()
    except sqlite3.Error:
        return False


@contextmanager
def _writing(path: Path, complete_only: bool = False) -> Iterator[sqlite3.Connection | None]:
    """A connection that commits what was done in it (after ``BEGIN``) or rolls it back."""
    if complete_only and not path.is_file():
        yield None
        return
    connection = _connect(path, create=not complete_only)
    try:
        if complete_only and _version(connection) != CATALOGUE_VERSION:
            yield None
            return
        connection.execute("PRAGMA journal_mode = WAL")
        yield connection
        if connection.in_transaction:
            connection.commit()
    except BaseException:
        if connection.in_transaction:
            connection.rollback()
        raise
    finally:
        connection.close()


def _insert_article(connection, article: Article, article_id: int | None = None) -> int:
    cursor = connection.execute(
        f"INSERT INTO articles (id, key, {_ARTICLE_COLUMNS}) VALUES (?, ?{', ?' * 11})",
        (
            article_id,
            article.key,
            article.lang,
            article.slug,
            article.title,
            article.body,
            article.summary,
            article.category,
            json.dumps(list(article.tags), ensure_ascii=False),
            json.dumps(list(article.questions), ensure_ascii=False),
            json.dumps(list(article.related), ensure_ascii=False),
            article.updated.isoformat() if article.updated else None,
            str(article.path) if article.path is not None else None,
        ),
    )
    return cursor.lastrowid


def _delete_article(connection, key: str) -> int | None:
    """Delete the article with ``key`` and its phrases; return its id (None: not there)."""
    row = connection.execute("SELECT id FROM articles WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    lang = key.split("/", 1)[0]
    # By the lookup index (the suffixes are computed again): a phrase_id index would cost
    # every build and every lookup more than these few deletions.
    rows = connection.execute("SELECT id, folded FROM phrases WHERE article_id = ?", (row[0],))
    connection.executemany(
        "DELETE FROM suffixes WHERE lang = ? AND suffix = ? AND phrase_id = ?",
        [
            (lang, suffix, phrase_id)
            for phrase_id, folded in rows.fetchall()
            for _, suffix in word_suffixes(folded)
        ],
    )
    connection.execute("DELETE FROM phrases WHERE article_id = ?", (row[0],))
    connection.execute("DELETE FROM articles WHERE id = ?", (row[0],))
    return row[0]


def _collect_phrases(
    article: Article, article_id: int, last_id: int, phrases: list, suffixes: list
) -> None:
    """Append the rows of the article's title and questions to ``phrases`` and ``suffixes``."""
    texts = [(article.title, 1)] + [(question, 0) for question in article.questions]
    for text, is_title in texts:
        text = " ".join(text.split())
        folded = normalize_query(text)
        if not folded:
            continue
        phrase_id = last_id + len(phrases) + 1
        phrases.append((phrase_id, article_id, is_title, text, folded))
        for position, suffix in word_suffixes(folded):
            suffixes.append((article.lang, suffix, phrase_id, position, is_title, len(text)))


def word_suffixes(folded: str) -> list[tuple[int, str]]:
    """(word position, suffix) for each word of a folded phrase, and each suffix without a
    leading Arabic particle where that differs: "والطلب جديد" gives "والطلب جديد",
    "طلب جديد" (both at 0) and "جديد" (at 1)."""
    words = folded.split()
    stripped = [strip_particle(word, MIN_STRIPPED) for word in words]
    found = []
    for position in range(len(words)):
        suffix = " ".join(words[position:])
        found.append((position, suffix))
        alternative = " ".join(stripped[position:])
        if alternative != suffix:
            found.append((position, alternative))
    return found


def strip_particle(word: str, keep: int) -> str:
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


# Reading.


class Catalogue:
    """Read access to the catalogue in an index version directory, for one worker process.

    Construction does no I/O. Each thread gets its own connection, opened on first use and
    again when the file is replaced (a new index directory, a restored backup). Every query
    sees the latest committed build or edit. `available()` is False while there is no
    complete catalogue of this version: callers then do without it.
    """

    def __init__(self, directory: Path | str):
        self.path = catalogue_file(directory)
        self._local = threading.local()

    def available(self) -> bool:
        return self._connection() is not None

    def article(self, key: str) -> Article | None:
        """The indexed (published) article with this key."""
        rows = self._query(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE key = ?", (key,))
        return _article(rows[0]) if rows else None

    def articles(self, lang: str | None = None, category: str | None = None) -> list[Article]:
        """Every indexed article, optionally of one language and category, in build order."""
        where, parameters = _filters(lang, category)
        rows = self._query(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles {where} ORDER BY id", parameters
        )
        return [_article(row) for row in rows]

    def recent(self, lang: str, count: int, excluded: Iterable[str] = ()) -> list[Article]:
        """The ``count`` most recently updated articles of a language (undated ones last)."""
        excluded = set(excluded)
        # Ordered by the (lang, updated) index alone; only the rows shown are read whole.
        rows = self._query(
            f"SELECT key, {_ARTICLE_COLUMNS} FROM articles WHERE id IN ("
            "SELECT id FROM articles WHERE lang = ? "
            "ORDER BY updated IS NULL, updated DESC, id LIMIT ?"
            ") ORDER BY updated IS NULL, updated DESC, id",
            (lang, count + len(excluded)),
        )
        return [_article(row[1:]) for row in rows if row[0] not in excluded][:count]

    def category_counts(self, lang: str) -> dict[str, int]:
        """Article count of each category of a language, by category."""
        rows = self._query(
            "SELECT category, count(*) FROM articles WHERE lang = ? AND category != '' "
            "GROUP BY category ORDER BY category",
            (lang,),
        )
        return dict(rows)

    def phrase_suffixes(self, lang: str, prefix: str, limit: int) -> list[tuple]:
        """Up to ``limit`` suffixes starting with ``prefix``, in suffix order:
        (phrase id, word position, is title, text length)."""
        # Every string that starts with the prefix sorts between it and prefix + the last
        # code point (UTF-8 byte order, SQLite's, is code point order, Python's).
        return self._query(
            "SELECT phrase_id, position, is_title, length FROM suffixes "
            "WHERE lang = ? AND suffix >= ? AND suffix < ? ORDER BY suffix LIMIT ?",
            (lang, prefix, prefix + "\U0010ffff", limit),
        )

    def phrases(self, phrase_ids: list[int]) -> dict[int, tuple]:
        """(text, folded, key, lang, slug, title) of each phrase, by phrase id."""
        rows = self._query(
            "SELECT p.id, p.text, p.folded, a.key, a.lang, a.slug, a.title "
            "FROM phrases p JOIN articles a ON a.id = p.article_id "
            f"WHERE p.id IN ({', '.join('?' * len(phrase_ids))})",
            phrase_ids,
        )
        return {row[0]: row[1:] for row in rows}

    def languages(self) -> list[str]:
        return [lang for (lang,) in self._query("SELECT DISTINCT lang FROM articles", ())]

    def _query(self, sql: str, parameters) -> list[tuple]:
        connection = self._connection()
        if connection is None:
            return []
        try:
            return connection.execute(sql, parameters).fetchall()
        except sqlite3.Error as error:
            # Replaced or damaged under us: open it afresh next time.
            logger.warning("cannot read the article catalogue %s: %s", self.path, error)
            self._local.signature = None
            return []

    def _connection(self) -> sqlite3.Connection | None:
        """This thread's connection to the current file (None without a usable catalogue)."""
        local = self._local
        try:
            stat = self.path.stat()
        except OSError:
            return None
        signature = (stat.st_dev, stat.st_ino)
        if getattr(local, "signature", None) != signature:
            if getattr(local, "connection", None) is not None:
                local.connection.close()
            local.connection = None
            local.complete = False
            local.signature = signature
            try:
                local.connection = _connect(self.path)
                # 256 KB instead of 2 MB per thread: the OS caches the file for every
                # worker, and lookups measured no slower.
                local.connection.execute(f"PRAGMA cache_size = -{READER_CACHE_KB}")
            except sqlite3.Error as error:
                logger.warning("cannot open the article catalogue %s: %s", self.path, error)
                local.signature = None  # try again next time
        if local.connection is None:
            return None
        if not local.complete:
            # A first build commits its version last: until then the file is not complete.
            try:
                local.complete = _version(local.connection) == CATALOGUE_VERSION
            except sqlite3.Error:
                return None
        return local.connection if local.complete else None


def _connect(path: Path, create: bool = False) -> sqlite3.Connection:
    mode = "rwc" if create else "rw"  # readers never create an empty file
    connection = sqlite3.connect(
        f"{path.absolute().as_uri()}?mode={mode}",
        uri=True,
        timeout=BUSY_TIMEOUT,
        isolation_level=None,  # transactions only where BEGIN says so
        check_same_thread=False,
    )
    return connection


def _version(connection: sqlite3.Connection) -> int:
    return connection.execute("PRAGMA user_version").fetchone()[0]


def _filters(lang: str | None, category: str | None) -> tuple[str, tuple]:
    conditions, parameters = [], []
    if lang is not None:
        conditions.append("lang = ?")
        parameters.append(lang)
    if category is not None:
        conditions.append("category = ?")
        parameters.append(category)
    return ("WHERE " + " AND ".join(conditions) if conditions else ""), tuple(parameters)


def _article(row: tuple) -> Article:
    lang, slug, title, body, summary, category, tags, questions, related, updated, path = row
    return Article(
        lang=lang,
        slug=slug,
        title=title,
        body=body,
        summary=summary,
        category=category,
        tags=tuple(json.loads(tags)),
        questions=tuple(json.loads(questions)),
        status="published",
        updated=dt.date.fromisoformat(updated) if updated else None,
        related=tuple(json.loads(related)),
        path=Path(path) if path is not None else None,
    )
