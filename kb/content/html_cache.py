"""Rendered article HTML, written at index and save time so that no request renders Markdown.

Entries live in ``<INDEX_DIR>/html-v<RENDER_VERSION>/<2 hex>/<sha256>.html``, keyed by a
hash of the renderer version and the Markdown body: an edit writes a new entry that is
served at once (nothing to invalidate), publishing a draft finds the entry of its unchanged
body, and a renderer change (`RENDER_VERSION`) starts a new directory that `flask kb index`
fills. A missing entry is not rendered in the request: the page says the text is not
available.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from kb.content.articles import Article
from kb.content.render import RENDER_VERSION, render_markdown

logger = logging.getLogger(__name__)


def cache_dir(index_dir: Path | str) -> Path:
    """The HTML cache directory that belongs to the search index in ``index_dir``.

    Versioned like the index, so `flask kb index --if-changed` sees a renderer change (or a
    cache never built) as a missing directory and rebuilds.
    """
    return Path(index_dir) / f"html-v{RENDER_VERSION}"


def html_key(body: str) -> str:
    return hashlib.sha256(f"kb-html-v{RENDER_VERSION}\n{body}".encode()).hexdigest()


class HtmlCache:
    """Rendered, sanitised article bodies on disk, by `html_key`."""

    def __init__(self, directory: Path | str):
        self.directory = Path(directory)

    def path(self, body: str) -> Path:
        key = html_key(body)
        return self.directory / key[:2] / f"{key}.html"

    def get(self, body: str) -> str | None:
        """The cached HTML of ``body``; None when it was never written (or cannot be read)."""
        try:
            return self.path(body).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            logger.warning("cannot read cached HTML: %s", error)
            return None

    def store(self, body: str) -> str:
        """The HTML of ``body``, rendered and cached unless an earlier build cached it.

        Outside requests only (index build, editor save). Entries are named by the hash of
        renderer version and body, so an existing entry is this body's current rendering.
        """
        cached = self.get(body)
        if cached is not None:
            return cached
        return self._render(body, self.path(body))

    def article_html(self, article: Article) -> str:
        """`store` of the article's body (the ``html_of`` of `build_index`)."""
        return self.store(article.body)

    def ensure(self, body: str) -> Path:
        """The path of the entry of ``body``, rendered and written first only if it is missing."""
        path = self.path(body)
        if not path.is_file():
            self._render(body, path)
        return path

    def _render(self, body: str, path: Path) -> str:
        html = render_markdown(body)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, html)
        return html


def write_html_cache(
    index_dir: Path | str,
    articles: Iterable[Article],
    progress: Callable[[int], object] | None = None,
) -> int:
    """Cache the HTML of every article; drop entries no article uses any more.

    Only entries older than this build are removed, so a concurrent editor save keeps its own.
    """
    cache = HtmlCache(cache_dir(index_dir))
    started = time.time()
    keep = set()
    for article in articles:
        # Most entries were written by the index build just before: no need to read them.
        keep.add(cache.ensure(article.body).name)
        if progress:
            progress(1)
    for path in cache.directory.glob("*/*.html"):
        try:
            if path.name not in keep and path.stat().st_mtime < started:
                path.unlink()
        except OSError:
            continue
    return len(keep)


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temporary, 0o644)
        os.rename(temporary, path)  # atomic on POSIX; entries never change once written
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
