"""In-process view of the articles directory for the web pages, reloaded when files change."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from kb.content.articles import Article, load_articles
from kb.content.categories import CATEGORIES_FILE, category_label, load_categories
from kb.content.html_cache import HtmlCache

logger = logging.getLogger(__name__)


class ArticleLibrary:
    """Published articles by key, category and slug; reloads at most every ``check_interval`` s.

    Invalid files are skipped with a warning so one bad edit cannot take the site down;
    `flask kb check` and CI are where they fail loudly.
    """

    def __init__(
        self,
        directory: Path,
        languages: Iterable[str],
        check_interval: float = 2.0,
        html_dir: Path | None = None,
    ):
        self.directory = Path(directory)
        self.html_cache = HtmlCache(html_dir) if html_dir is not None else None
        self.languages = tuple(languages)
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._fingerprint: tuple | None = None
        self._checked_at = 0.0
        self._by_key: dict[str, Article] = {}
        self._labels: dict[str, dict[str, str]] = {}

    def get(self, lang: str, slug: str, include_drafts: bool = False) -> Article | None:
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
        """Reload on the next access, without waiting for the check interval (after an edit)."""
        with self._lock:
            self._fingerprint = None

    def published(self, lang: str | None = None) -> list[Article]:
        return [
            article
            for article in self._articles().values()
            if article.published and (lang is None or article.lang == lang)
        ]

    def in_category(self, lang: str, category: str) -> list[Article]:
        return [article for article in self.published(lang) if article.category == category]

    def categories(self, lang: str) -> list[str]:
        return sorted({article.category for article in self.published(lang) if article.category})

    def category_name(self, category: str, lang: str) -> str:
        self._articles()
        return category_label(self._labels, category, lang)

    def translations(self, slug: str) -> dict[str, Article]:
        """Published versions of ``slug`` by language."""
        found = (self.get(lang, slug) for lang in self.languages)
        return {article.lang: article for article in found if article}

    def _articles(self) -> dict[str, Article]:
        now = time.monotonic()
        if self._fingerprint is not None and now - self._checked_at < self.check_interval:
            return self._by_key
        with self._lock:
            fingerprint = self._current_fingerprint()
            if fingerprint != self._fingerprint:
                articles, problems = load_articles(self.directory, self.languages)
                labels, label_problems = load_categories(self.directory)
                for problem in problems + label_problems:
                    logger.warning("skipping invalid content: %s", problem)
                self._by_key = {article.key: article for article in articles}
                self._labels = labels
                self._fingerprint = fingerprint
            self._checked_at = now
        return self._by_key

    def _current_fingerprint(self) -> tuple:
        entries = []
        paths = [*self.directory.rglob("*.md"), self.directory / CATEGORIES_FILE]
        for path in paths:
            if not path.exists():
                continue
            stat = path.stat()
            entries.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(sorted(entries))
