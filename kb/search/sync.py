"""Keep this server's search index and HTML cache in step with its articles directory.

With several app servers, each keeps its own index and HTML cache in ``INDEX_DIR``, built
from the same articles (a git checkout every server pulls, or a shared volume); see README
"Running at scale". `sync_index` brings them up to date by indexing and rendering only the
articles added, changed or removed since the last sync, found by comparing a SHA-256 of
every file with the manifest written beside the index by the previous sync or rebuild.
Content hashes, not modification times, so a `git pull` (new times on unchanged files after
a checkout) or a network file system (coarse or skewed clocks) cannot mislead it.

It rebuilds everything instead (`rebuild_index`, also what `flask kb index` runs) when the
increments cannot be trusted or would be slower: no index or manifest yet, an index rebuilt
by other means since, a new renderer or language list, a changed ``synonyms.yml`` (the
synonym groups are stored with the index), or a large share of the articles changed. Either
way it ends by replacing this server's content stamp, so every worker's `ArticleLibrary`
reloads and serves the new text with the new HTML, while the search engine moves to the new
index generation by itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from kb import search
from kb.content.articles import Article, ContentProblem, parse_article
from kb.content.categories import CATEGORIES_FILE
from kb.content.html_cache import HtmlCache, cache_dir, write_html_cache
from kb.content.library import mark_content_changed
from kb.content.render import RENDER_VERSION
from kb.content.synonyms import SYNONYMS_FILE, load_synonyms
from kb.errors import KBError, SearchUnavailable
from kb.search.index import index_path

logger = logging.getLogger(__name__)

MANIFEST_FILE = "sync-manifest.json"
MANIFEST_FORMAT = 1
# In INDEX_DIR itself, so that it also serialises a rebuild into a new schema directory.
LOCK_FILE = ".sync.lock"
LOCK_TIMEOUT = 300.0
# Each incremental update is one index commit (~0.1 s); past this many changed articles (and
# this share of the directory) one full rebuild is about as fast, e.g. after a large merge.
REBUILD_MIN_CHANGES = 50
REBUILD_SHARE = 0.05

# progress(label, length) -> a context manager whose value has ``update(n)`` (click.progressbar).
Progress = Callable[[str, int], AbstractContextManager]


class SyncBusy(KBError):
    """Another sync or rebuild of this index kept running past `LOCK_TIMEOUT`."""


@dataclass(frozen=True)
class SyncReport:
    """What a sync or rebuild did. ``rebuilt`` says why everything was rebuilt, if it was."""

    rebuilt: str | None = None
    indexed: int = 0
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    categories_changed: bool = False
    problems: tuple[ContentProblem, ...] = field(default=(), compare=False)

    @property
    def unchanged(self) -> bool:
        return not (
            self.rebuilt or self.added or self.changed or self.removed or self.categories_changed
        )


@dataclass(frozen=True)
class _Snapshot:
    """Every article file's bytes and hash, plus the hashes of the two settings files."""

    files: dict[str, bytes]
    hashes: dict[str, str]
    synonyms: str
    categories: str


def sync_index(
    articles_dir: Path | str,
    index_dir: Path | str,
    languages: Iterable[str],
    progress: Progress | None = None,
) -> SyncReport:
    """Index and cache only what changed since the last sync; rebuild when that is unsafe."""
    articles_dir, index_dir, languages = Path(articles_dir), Path(index_dir), tuple(languages)
    with _exclusive(index_dir):
        manifest = _read_manifest(index_dir)
        snapshot = _scan(articles_dir)
        reason = _rebuild_reason(index_dir, manifest, languages, snapshot)
        if reason is None:
            try:
                return _apply_changes(articles_dir, index_dir, languages, manifest, snapshot)
            except _TooManyChanges as error:
                reason = str(error)
            except SearchUnavailable as error:
                logger.warning("incremental update failed, rebuilding: %s", error)
                reason = f"the index could not be updated: {error}"
        return _rebuild(articles_dir, index_dir, languages, reason, progress)


def rebuild_index(
    articles_dir: Path | str,
    index_dir: Path | str,
    languages: Iterable[str],
    progress: Progress | None = None,
) -> SyncReport:
    """Rebuild the whole index and HTML cache (atomically, see `build_index`)."""
    articles_dir, index_dir = Path(articles_dir), Path(index_dir)
    with _exclusive(index_dir):
        return _rebuild(articles_dir, index_dir, tuple(languages), "requested", progress)


def _rebuild(
    articles_dir: Path,
    index_dir: Path,
    languages: tuple[str, ...],
    reason: str,
    progress: Progress | None,
) -> SyncReport:
    progress = progress or _no_progress
    # Before reading: if a file changes meanwhile, `index --if-changed` rebuilds once more.
    fingerprint = search.fingerprint(articles_dir)
    snapshot = _scan(articles_dir)
    keys, parsed, problems = {}, {}, []
    for relative, data in snapshot.files.items():
        article, found = _parse(articles_dir, relative, data, languages)
        keys[relative] = article.key if article else None
        if article:
            parsed[relative] = article
        problems += found
    winners, duplicates = _winners(keys, articles_dir)
    articles = [parsed[relative] for relative in winners.values()]
    synonyms, synonym_problems = load_synonyms(articles_dir)
    published = [article for article in articles if article.published]
    # Each body is rendered once, into the HTML cache, and indexed from there.
    html_cache = HtmlCache(cache_dir(index_dir))
    with progress("Indexing articles", len(published)) as bar:
        count = search.build_index(
            index_dir,
            published,
            synonyms,
            progress=bar.update,
            html_of=html_cache.article_html,
        )
    with progress("Caching article HTML", len(articles)) as bar:
        write_html_cache(index_dir, articles, progress=bar.update)
    search.write_fingerprint(index_dir, fingerprint)
    _write_manifest(index_dir, fingerprint, languages, snapshot, keys)
    mark_content_changed(cache_dir(index_dir))
    return SyncReport(
        rebuilt=reason,
        indexed=count,
        problems=tuple(problems + duplicates + synonym_problems),
    )


class _TooManyChanges(Exception):
    pass


def _apply_changes(
    articles_dir: Path,
    index_dir: Path,
    languages: tuple[str, ...],
    manifest: dict,
    snapshot: _Snapshot,
) -> SyncReport:
    before = manifest["files"]
    categories_changed = manifest.get("categories") != snapshot.categories
    if not categories_changed and snapshot.hashes == {r: e["sha256"] for r, e in before.items()}:
        return SyncReport()
    keys: dict[str, str | None] = {}
    parsed: dict[str, Article] = {}
    problems: list[ContentProblem] = []

    def parse(relative: str) -> Article | None:
        if relative not in parsed:
            article, found = _parse(articles_dir, relative, snapshot.files[relative], languages)
            problems.extend(found)
            if article is None:
                return None
            parsed[relative] = article
        return parsed[relative]

    for relative, digest in snapshot.hashes.items():
        known = before.get(relative)
        if known is not None and known["sha256"] == digest:
            keys[relative] = known["key"]
        else:
            article = parse(relative)
            keys[relative] = article.key if article else None
    old_winners, _ = _winners({r: entry["key"] for r, entry in before.items()}, articles_dir)
    new_winners, duplicates = _winners(keys, articles_dir)
    # A key's content changed when its file, or that file's content, is not the same.
    updated = [
        key
        for key, relative in new_winners.items()
        if old_winners.get(key) != relative
        or before[relative]["sha256"] != snapshot.hashes[relative]
    ]
    removed = sorted(old_winners.keys() - new_winners.keys())
    limit = max(REBUILD_MIN_CHANGES, REBUILD_SHARE * len(snapshot.files))
    if len(updated) + len(removed) > limit:
        raise _TooManyChanges(f"{len(updated) + len(removed)} articles changed")
    fingerprint = search.fingerprint(articles_dir)
    html = HtmlCache(cache_dir(index_dir))
    articles = [parse(new_winners[key]) for key in updated]
    # HTML first: a worker that sees the new text must find its HTML.
    for article in articles:
        html.store(article.body)
    for article in articles:
        search.update_article(index_dir, article)
    for key in removed:
        search.remove_article(index_dir, key)
    search.write_fingerprint(index_dir, fingerprint)
    _write_manifest(index_dir, fingerprint, languages, snapshot, keys)
    mark_content_changed(html.directory)
    return SyncReport(
        added=tuple(sorted(key for key in updated if key not in old_winners)),
        changed=tuple(sorted(key for key in updated if key in old_winners)),
        removed=tuple(removed),
        categories_changed=categories_changed,
        problems=tuple(problems + duplicates),
    )


def _rebuild_reason(
    index_dir: Path, manifest: dict | None, languages: tuple[str, ...], snapshot: _Snapshot
) -> str | None:
    """Why the last sync's manifest cannot be the base of an incremental update (or None)."""
    if not search.index_exists(index_dir):
        return f"there was no index in {index_path(index_dir).name}/"
    if not cache_dir(index_dir).is_dir():
        return "there was no HTML cache for this renderer"
    if manifest is None:
        return "no earlier sync recorded beside this index"
    if not search.index_is_current(index_dir, manifest["fingerprint"]):
        return "the index was rebuilt by other means since the last sync"
    if manifest.get("render_version") != RENDER_VERSION:
        return "the HTML renderer changed"
    if manifest.get("languages") != list(languages):
        return "the configured languages changed"
    if manifest.get("synonyms") != snapshot.synonyms:
        return f"{SYNONYMS_FILE} changed"
    return None


def _scan(articles_dir: Path) -> _Snapshot:
    files, hashes = {}, {}
    for path in sorted(articles_dir.rglob("*.md")):
        relative = path.relative_to(articles_dir).as_posix()
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue  # removed since the directory was listed
        files[relative] = data
        hashes[relative] = hashlib.sha256(data).hexdigest()
    return _Snapshot(
        files,
        hashes,
        _file_hash(articles_dir / SYNONYMS_FILE),
        _file_hash(articles_dir / CATEGORIES_FILE),
    )


def _file_hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return ""


def _parse(
    articles_dir: Path, relative: str, data: bytes, languages: tuple[str, ...]
) -> tuple[Article | None, list[ContentProblem]]:
    path = articles_dir / relative
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, [ContentProblem(path, f"cannot be read as UTF-8 text: {error}")]
    return parse_article(text, path, languages)


def _winners(
    keys: dict[str, str | None], articles_dir: Path
) -> tuple[dict[str, str], list[ContentProblem]]:
    """The file of each key: the first in path order, as `load_articles` decides duplicates."""
    winners: dict[str, str] = {}
    duplicates = []
    for relative in sorted(keys, key=PurePosixPath):
        key = keys[relative]
        if key is None:
            continue
        if key in winners:
            message = f"duplicate article {key} (also {articles_dir / winners[key]})"
            duplicates.append(ContentProblem(articles_dir / relative, message))
            continue
        winners[key] = relative
    return winners, duplicates


def _manifest_path(index_dir: Path) -> Path:
    return index_path(index_dir) / MANIFEST_FILE


def _read_manifest(index_dir: Path) -> dict | None:
    try:
        manifest = json.loads(_manifest_path(index_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        logger.warning("ignoring an unreadable sync manifest: %s", error)
        return None
    valid = (
        isinstance(manifest, dict)
        and manifest.get("format") == MANIFEST_FORMAT
        and isinstance(manifest.get("fingerprint"), str)
        and isinstance(manifest.get("files"), dict)
        and all(
            isinstance(entry, dict)
            and isinstance(entry.get("sha256"), str)
            and isinstance(entry.get("key"), str | None)
            for entry in manifest["files"].values()
        )
    )
    return manifest if valid else None


def _write_manifest(
    index_dir: Path,
    fingerprint: str,
    languages: tuple[str, ...],
    snapshot: _Snapshot,
    keys: dict[str, str | None],
) -> None:
    manifest = {
        "format": MANIFEST_FORMAT,
        "fingerprint": fingerprint,
        "render_version": RENDER_VERSION,
        "languages": list(languages),
        "synonyms": snapshot.synonyms,
        "categories": snapshot.categories,
        "files": {
            relative: {"sha256": digest, "key": keys[relative]}
            for relative, digest in snapshot.hashes.items()
        },
    }
    path = _manifest_path(index_dir)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(manifest, file, ensure_ascii=False, separators=(",", ":"))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def _exclusive(index_dir: Path) -> Iterator[None]:
    """One sync or rebuild of ``index_dir`` at a time (fcntl: released if the process dies).

    Two overlapping syncs could otherwise apply an older version of an article last.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK_FILE, "a") as handle:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as error:
                if time.monotonic() > deadline:
                    raise SyncBusy(f"another sync or rebuild of {index_dir} is running") from error
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _NoBar:
    def update(self, steps: int) -> None:
        pass


def _no_progress(label: str, length: int) -> AbstractContextManager:
    return contextlib.nullcontext(_NoBar())
