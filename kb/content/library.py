"""The articles the web pages show, and every article for the back office.

Customer pages read the published articles from the catalogue the index build writes beside
the index (`kb.search.catalogue`), one indexed query per question: a worker answers its
first page without parsing the articles directory and keeps no article in memory (parsing
10,000 articles took 2.6 s and ~70 MB per worker). Without a catalogue (no index yet) they
fall back to the parsed articles, like the back office, which also needs drafts.

The parsed articles are loaded on first use and reloaded only when this server's *content
stamp* changes: a small file in the HTML cache directory that is replaced by everything
that changes what the site should show (`flask kb index`, `flask kb sync` and editor
saves, through `ArticleLibrary.invalidate`). Checking it costs one ``stat`` per access, so
workers notice a change at once without scanning the articles directory. Either way, a file
that changed on disk (a `git pull`, an edit by hand) is shown only after `flask kb sync` or
`flask kb index` has indexed it and cached its HTML.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from kb.content.articles import Article, parse_article
from kb.content.categories import CATEGORIES_FILE, category_label, load_categories
from kb.content.html_cache import HtmlCache

logger = logging.getLogger(__name__)

CONTENT_STAMP_FILE = "content-stamp"
_NOT_LOADED = object()


def mark_content_changed(html_dir: Path | str) -> None:
    """Tell every `ArticleLibrary` of this server (all worker processes) to reload.

    The stamp is replaced by a new file (rename), so its inode and times change even on
    file systems with coarse timestamps.
    """
    directory = Path(html_dir)
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{CONTENT_STAMP_FILE}.{uuid.uuid4().hex}.tmp"
    temporary.write_text(uuid.uuid4().hex, encoding="ascii")
    os.rename(temporary, directory / CONTENT_STAMP_FILE)  # atomic, replaces on POSIX


class PublishedArticles(Protocol):
    """Where customer pages find the published articles (`kb.search.catalogue.Catalogue`)."""

    def available(self) -> bool: ...

    def article(self, key: str) -> Article | None: ...

    def articles(self, lang: str | None = None, category: str | None = None) -> list[Article]: ...

    def recent(self, lang: str, count: int, excluded: Iterable[str] = ()) -> list[Article]: ...

    def category_counts(self, lang: str) -> dict[str, int]: ...


def _stamp_signature(path: Path | None) -> tuple | None:
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def markdown_files(directory: Path) -> list[tuple[Path, tuple]]:
    """Every ``*.md`` under ``directory`` with its stat signature, in `sorted` Path order.

    What ``sorted(directory.rglob("*.md"))`` lists (symbolic links to directories are not
    followed), with `os.scandir`: a third of the time at 10,000 articles.
    """
    found = []
    pending = [str(directory)]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            elif entry.name.endswith(".md"):
                try:
                    stat = entry.stat()
                except OSError:
                    continue  # removed since the directory was listed
                found.append((entry.path, (stat.st_ino, stat.st_size, stat.st_mtime_ns)))
    found.sort(key=lambda item: item[0].split(os.sep))
    return [(Path(path), signature) for path, signature in found]


def _file_signature(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


class ArticleLibrary:
    """Articles by key, category and slug: the published ones from ``indexed`` when it is
    available, otherwise (and with drafts) parsed, reloaded when the content stamp changes.

    A reload re-reads only the files whose size, modification time or inode changed (parsing
    the front matter is most of the cost: about 0.3 ms an article). Invalid files are skipped
    with a warning so one bad edit cannot take the site down; `flask kb check` and CI are
    where they fail loudly.
    """

    def __init__(
        self,
        directory: Path,
        languages: Iterable[str],
        html_dir: Path | None = None,
        indexed: PublishedArticles | None = None,
    ):
        self.directory = Path(directory)
        self.html_cache = HtmlCache(html_dir) if html_dir is not None else None
        self.languages = tuple(languages)
        self.indexed = indexed
        self._stamp = Path(html_dir) / CONTENT_STAMP_FILE if html_dir is not None else None
        self._lock = threading.Lock()
        self._loaded_stamp: object = _NOT_LOADED
        # Every *.md file seen, in path order: its stat signature and what it parsed to.
        self._files: dict[Path, tuple[tuple, Article | None]] = {}
        self._categories_signature: object = _NOT_LOADED
        self._by_key: dict[str, Article] = {}
        self._labels: dict[str, dict[str, str]] = {}
        self._labels_stamp: object = _NOT_LOADED

    def get(self, lang: str, slug: str, include_drafts: bool = False) -> Article | None:
        if not include_drafts and (catalogue := self._catalogue()) is not None:
            return catalogue.article(f"{lang}/{slug}")
        article = self._articles().get(f"{lang}/{slug}")
        return article if article and (article.published or include_drafts) else None

    def all(self, lang: str | None = None) -> list[Article]:
        """Every valid article, drafts included (for the back office)."""
        return [a for a in self._articles().values() if lang is None or a.lang == lang]

    def html(self, article: Article) -> str | None:
        """The article's cached, sanitised HTML; None when the cache has no entry for it.

        Never renders Markdown: requests only read what the index build and editor wrote.
        """
        if self.html_cache is None:
            return None
        return self.html_cache.get(article.body)

    def invalidate(self) -> None:
        """Reload on the next access, here and in the other processes of this server.

        Called after an editor save, once the article's HTML is cached.
        """
        if self.html_cache is not None:
            mark_content_changed(self.html_cache.directory)
        with self._lock:
            self._loaded_stamp = _NOT_LOADED

    def published(self, lang: str | None = None) -> list[Article]:
        if (catalogue := self._catalogue()) is not None:
            return catalogue.articles(lang)
        return [
            article
            for article in self._articles().values()
            if article.published and (lang is None or article.lang == lang)
        ]

    def in_category(self, lang: str, category: str) -> list[Article]:
        if (catalogue := self._catalogue()) is not None:
            return catalogue.articles(lang, category)
        return [article for article in self.published(lang) if article.category == category]

    def categories(self, lang: str) -> list[str]:
        return sorted(self.category_counts(lang))

    def category_counts(self, lang: str) -> dict[str, int]:
        """How many published articles each category of ``lang`` has."""
        if (catalogue := self._catalogue()) is not None:
            return catalogue.category_counts(lang)
        counts: dict[str, int] = {}
        for article in self.published(lang):
            if article.category:
                counts[article.category] = counts.get(article.category, 0) + 1
        return counts

    def recent(self, lang: str, count: int, excluded: Iterable[str] = ()) -> list[Article]:
        """The ``count`` most recently updated published articles (undated ones last),
        leaving out the keys in ``excluded``."""
        if (catalogue := self._catalogue()) is not None:
            return catalogue.recent(lang, count, excluded)
        excluded = set(excluded)
        candidates = [a for a in self.published(lang) if a.key not in excluded]
        # Stable: articles updated the same day stay in path order.
        candidates.sort(key=lambda article: article.updated or dt.date.min, reverse=True)
        return candidates[:count]

    def category_name(self, category: str, lang: str) -> str:
        return category_label(self._category_labels(), category, lang)

    def translations(self, slug: str) -> dict[str, Article]:
        """Published versions of ``slug`` by language."""
        found = (self.get(lang, slug) for lang in self.languages)
        return {article.lang: article for article in found if article}

    def _catalogue(self) -> PublishedArticles | None:
        catalogue = self.indexed
        return catalogue if catalogue is not None and catalogue.available() else None

    def _category_labels(self) -> dict[str, dict[str, str]]:
        """The labels of categories.yml, read again after a content stamp change."""
        stamp = _stamp_signature(self._stamp)
        if stamp == self._labels_stamp:
            return self._labels
        with self._lock:
            stamp = _stamp_signature(self._stamp)
            if stamp != self._labels_stamp:
                self._load_labels()
                self._labels_stamp = stamp
        return self._labels

    def _load_labels(self) -> None:
        categories_signature = _file_signature(self.directory / CATEGORIES_FILE)
        if categories_signature != self._categories_signature:
            labels, problems = load_categories(self.directory)
            for problem in problems:
                logger.warning("skipping invalid content: %s", problem)
            self._labels = labels
            self._categories_signature = categories_signature

    def _articles(self) -> dict[str, Article]:
        stamp = _stamp_signature(self._stamp)
        if stamp == self._loaded_stamp:
            return self._by_key
        with self._lock:
            # Read before reloading: a change made during the reload triggers another one.
            stamp = _stamp_signature(self._stamp)
            if stamp != self._loaded_stamp:
                self._reload()
                self._loaded_stamp = stamp
        return self._by_key

    def _reload(self) -> None:
        files: dict[Path, tuple[tuple, Article | None]] = {}
        for path, signature in markdown_files(self.directory):
            known = self._files.get(path)
            files[path] = (
                known if known and known[0] == signature else (signature, self._parse(path))
            )
        by_key: dict[str, Article] = {}
        # Path order, first one wins: the same rule as `load_articles` and the index build.
        for path, (_, article) in files.items():
            if article is None:
                continue
            if article.key in by_key:
                logger.warning(
                    "skipping invalid content: %s: duplicate article %s (also %s)",
                    path,
                    article.key,
                    by_key[article.key].path,
                )
                continue
            by_key[article.key] = article
        self._files = files
        self._by_key = by_key

    def _parse(self, path: Path) -> Article | None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            logger.warning("skipping invalid content: %s: cannot be read: %s", path, error)
            return None
        article, problems = parse_article(text, path, self.languages)
        for problem in problems:
            logger.warning("skipping invalid content: %s", problem)
        return article
