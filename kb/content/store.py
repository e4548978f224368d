"""Edit article files from the back office: validate, write atomically, record, reindex.

The editor addresses an article only by a validated (lang, slug): an existing article is
found through the library (its known path), a new one gets a path built from validated
parts, and every path is checked to lie inside the articles directory before it is written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from kb import search
from kb.content import revisions
from kb.content.articles import (
    INTERNAL_LINK,
    KNOWN_KEYS,
    SLUG_PATTERN,
    Article,
    ContentProblem,
    parse_article,
)
from kb.content.html_cache import HtmlCache, cache_dir
from kb.content.library import ArticleLibrary
from kb.content.render import budget_problem, render_markdown
from kb.errors import ContentError, SearchUnavailable
from kb.extensions import db

logger = logging.getLogger(__name__)

BODY_LIMIT = 100_000
QUESTIONS_LIMIT = 50
LIST_ITEM_LIMIT = 200
TAGS_LIMIT = 30
RELATED_LIMIT = 30
DEFAULT_CATEGORY_FOLDER = "general"
# C0 controls other than tab and newline: Python-Markdown uses \x02/\x03 as placeholders.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# One editor write at a time per process; across processes the base-hash check below
# refuses a save that would overwrite a change the writer has not seen.
_write_lock = threading.Lock()


@dataclass(frozen=True)
class ArticleFields:
    """What a writer edits: the front matter (except lang and updated) and the body."""

    title: str
    body: str
    summary: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    status: str = "published"
    related: tuple[str, ...] = ()

    @classmethod
    def of(cls, article: Article) -> ArticleFields:
        return cls(
            title=article.title,
            body=article.body,
            summary=article.summary,
            category=article.category,
            tags=article.tags,
            questions=article.questions,
            status=article.status,
            related=article.related,
        )

    def cleaned(self) -> ArticleFields:
        """The same fields with whitespace and control characters tidied as files keep them."""
        body = self.body.replace("\r\n", "\n").replace("\r", "\n")
        return ArticleFields(
            title=_one_line(self.title),
            body=CONTROL_CHARACTERS.sub("", body).strip() + "\n",
            summary=_one_line(self.summary),
            category=_one_line(self.category),
            tags=_unique(_one_line(tag) for tag in self.tags),
            questions=_unique(_one_line(question) for question in self.questions),
            status=self.status,
            related=_unique(_one_line(slug) for slug in self.related),
        )


@dataclass(frozen=True)
class FieldProblem:
    """Why a field cannot be saved. ``code`` names the rule (views translate known codes);
    ``field`` is a form field name or "" for the whole article."""

    field: str
    message: str
    code: str = "invalid"
    value: str = ""


class EditError(ContentError):
    """The edit cannot be saved; nothing was written."""

    def __init__(self, problems: Iterable[FieldProblem]):
        self.problems = list(problems)
        super().__init__("; ".join(p.message for p in self.problems))


class EditConflict(EditError):
    """The file changed since the writer opened it."""


@dataclass(frozen=True)
class SaveResult:
    article: Article
    # None when nothing changed (and nothing was written).
    revision: revisions.Revision | None
    # False when the search index could not be updated (the file was saved all the same).
    indexed: bool = True

    @property
    def changed(self) -> bool:
        return self.revision is not None


def article_text(lang: str, fields: ArticleFields, updated: dt.date | None = None) -> str:
    """The file text of an article: YAML front matter in the documented key order, then body."""
    values = {
        "title": fields.title,
        "lang": lang,
        "summary": fields.summary,
        "category": fields.category,
        "tags": list(fields.tags),
        "questions": list(fields.questions),
        # "published" is the default: only a draft says so.
        "status": fields.status if fields.status != "published" else "",
        "updated": updated,
        "related": list(fields.related),
    }
    meta = {key: values[key] for key in KNOWN_KEYS if key in ("title", "lang") or values.get(key)}
    header = yaml.safe_dump(
        meta, allow_unicode=True, sort_keys=False, default_flow_style=False, width=10_000
    )
    return f"---\n{header}---\n\n{fields.body.strip()}\n"


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def preview_html(body: str) -> str:
    """The body as the site renders it (same Markdown + nh3 pipeline).

    Bypasses the render cache: a preview per keystroke pause would fill it with drafts.
    """
    return render_markdown.__wrapped__(body[:BODY_LIMIT])


def filter_articles(
    articles: Iterable[Article],
    lang: str | None = None,
    category: str | None = None,
    status: str | None = None,
    text: str = "",
) -> list[Article]:
    """Articles matching every given filter; ``text`` is looked for in the title and slug."""
    needle = text.strip().casefold()
    found = [
        article
        for article in articles
        if (not lang or article.lang == lang)
        and (not category or article.category == category)
        and (not status or article.status == status)
        and (not needle or needle in article.title.casefold() or needle in article.slug)
    ]
    return sorted(found, key=lambda a: (a.lang, a.title.casefold(), a.slug))


class ArticleStore:
    """The articles directory as the back-office editor changes it."""

    def __init__(
        self,
        articles_dir: Path,
        index_dir: Path,
        languages: Iterable[str],
        library: ArticleLibrary,
    ):
        self.articles_dir = Path(articles_dir)
        self.index_dir = Path(index_dir)
        self.languages = tuple(languages)
        self.library = library

    # Reading

    def find(self, lang: str, slug: str) -> Article | None:
        """The article (draft or published) with this key; None for any invalid key."""
        if not self.valid_key(lang, slug):
            return None
        article = self.library.get(lang, slug, include_drafts=True)
        if article is None or article.path is None or not self._is_inside(article.path):
            return None
        return article

    def valid_key(self, lang: object, slug: object) -> bool:
        return (
            isinstance(lang, str)
            and isinstance(slug, str)
            and lang in self.languages
            and SLUG_PATTERN.fullmatch(slug) is not None
        )

    def articles(self) -> list[Article]:
        return self.library.all()

    def list_articles(
        self, lang: str = "", category: str = "", status: str = "", text: str = ""
    ) -> list[Article]:
        """Every article (drafts too) matching the filters; empty filters match all."""
        return filter_articles(self.library.all(), lang, category, status, text)

    def categories(self) -> list[str]:
        return sorted({article.category for article in self.library.all() if article.category})

    def current_text(self, article: Article) -> str:
        return self._checked_path(article).read_text(encoding="utf-8")

    def current_article(self, article: Article) -> tuple[Article, str]:
        """The article as its file says now, and that text.

        The library may not have seen a change yet (a `git pull` before `flask kb sync`):
        the editor must show and start from the file, or saving would silently undo it.
        A file that no longer parses is shown as the library last read it.
        """
        text = self.current_text(article)
        fresh, _problems = parse_article(text, self._checked_path(article), self.languages)
        return (fresh if fresh is not None and fresh.key == article.key else article), text

    def list_revisions(self, article: Article) -> list[revisions.Revision]:
        return revisions.list_revisions(article.key)

    # Writing

    def save_article(
        self,
        article: Article,
        fields: ArticleFields,
        author: str,
        base_hash: str | None = None,
    ) -> SaveResult:
        """Validate and write the writer's version of ``article``.

        ``base_hash`` is the `content_hash` of the file the writer started from: when the
        file changed since, `EditConflict` is raised instead of overwriting that change.
        Nothing is written when nothing changed.
        """
        path = self._checked_path(article)
        fields = fields.cleaned()
        today = dt.datetime.now(dt.UTC).date()
        text = article_text(article.lang, fields, today)
        edited = self._validate(text, path, article.lang)
        same_content = dataclasses.replace(edited, updated=article.updated, status=article.status)
        if same_content == article:
            if edited.status == article.status:
                return SaveResult(article, None)
            # Only the status changed: keep the date of the last real update.
            text = article_text(article.lang, fields, article.updated)
            action = "publish" if edited.published else "unpublish"
        else:
            action = "edit"
        return self._write(article.key, path, text, author, action, base_hash=base_hash)

    def create_article(
        self, lang: str, slug: str, fields: ArticleFields, author: str
    ) -> SaveResult:
        """Write a new article at ``<lang>/<category or general>/<slug>.md``."""
        fields = fields.cleaned()
        problems = []
        if lang not in self.languages:
            problems.append(FieldProblem("lang", f"unknown language {lang!r}", "lang"))
        if not isinstance(slug, str) or not SLUG_PATTERN.fullmatch(slug):
            problems.append(FieldProblem("slug", "not a valid slug", "slug"))
        if fields.category and not SLUG_PATTERN.fullmatch(fields.category):
            problems.append(FieldProblem("category", "not a valid category", "category"))
        if problems:
            raise EditError(problems)
        if self.library.get(lang, slug, include_drafts=True) is not None:
            raise EditError([FieldProblem("slug", "this article already exists", "exists", slug)])
        folder = fields.category or DEFAULT_CATEGORY_FOLDER
        path = self.articles_dir / lang / folder / f"{slug}.md"
        if not self._is_inside(path):
            raise EditError([FieldProblem("slug", "not a valid slug", "slug")])
        if path.exists():
            raise EditError([FieldProblem("slug", "this article already exists", "exists", slug)])
        text = article_text(lang, fields, dt.datetime.now(dt.UTC).date())
        self._validate(text, path, lang)
        return self._write(f"{lang}/{slug}", path, text, author, "create", create=True)

    def set_status(self, article: Article, status: str, author: str) -> SaveResult:
        """Publish or unpublish ``article`` (its text is otherwise unchanged)."""
        if status not in ("published", "draft"):
            raise EditError([FieldProblem("status", f"unknown status {status!r}", "status")])
        if article.status == status:
            return SaveResult(article, None)
        path = self._checked_path(article)
        fields = dataclasses.replace(ArticleFields.of(article), status=status)
        text = article_text(article.lang, fields, article.updated)
        self._validate(text, path, article.lang)
        action = "publish" if status == "published" else "unpublish"
        return self._write(article.key, path, text, author, action)

    def restore_revision(self, article: Article, revision_id: int, author: str) -> SaveResult:
        """Write the text ``article`` had after revision ``revision_id`` as a new revision."""
        revision = revisions.get_revision(article.key, revision_id)
        if revision is None:
            raise EditError([FieldProblem("", "no such revision of this article", "revision")])
        path = self._checked_path(article)
        if revision.content_after == path.read_text(encoding="utf-8"):
            return SaveResult(article, None)
        self._validate(revision.content_after, path, article.lang)
        return self._write(article.key, path, revision.content_after, author, "restore")

    # Internals

    def _validate(self, text: str, path: Path, lang: str) -> Article:
        """Exactly the article rules (`parse_article`), plus the references `flask kb check`
        would refuse: unknown ``related`` slugs and broken internal links."""
        article, problems = parse_article(text, path, self.languages)
        if article is None:
            raise EditError(_field_problems(text, problems))
        if article.lang != lang:
            raise EditError([FieldProblem("lang", "the language cannot change", "lang")])
        if reason := budget_problem(article.body):
            raise EditError([FieldProblem("body", reason, "too-complex")])
        known = {a.key for a in self.library.all()} | {article.key}
        found = []
        for slug in article.related:
            if f"{lang}/{slug}" not in known:
                found.append(
                    FieldProblem(
                        "related", f"no {lang} article is called {slug!r}", "related", slug
                    )
                )
        for link_lang, slug in INTERNAL_LINK.findall(article.html):
            if f"{link_lang}/{slug}" not in known:
                url = f"/{link_lang}/articles/{slug}"
                found.append(FieldProblem("body", f"broken link to {url}", "link", url))
        if found:
            raise EditError(found)
        return article

    def _write(
        self,
        key: str,
        path: Path,
        text: str,
        author: str,
        action: str,
        base_hash: str | None = None,
        create: bool = False,
    ) -> SaveResult:
        with _write_lock:
            before = None if create else path.read_text(encoding="utf-8")
            if base_hash and before is not None and content_hash(before) != base_hash:
                raise EditConflict(
                    [FieldProblem("", "the article changed since you opened it", "conflict")]
                )
            row = revisions.record_revision(key, author, action, before, text)
            try:
                if create:
                    path.parent.mkdir(parents=True, exist_ok=True)
                write_atomically(path, text, exclusive=create)
            except FileExistsError as error:
                db.session.rollback()
                raise EditError(
                    [FieldProblem("slug", "this article already exists", "exists")]
                ) from error
            except OSError as error:
                db.session.rollback()
                logger.error("cannot write %s: %s", path, error)
                raise ContentError(f"cannot write {path}: {error}") from error
            try:
                db.session.commit()
            except Exception:
                # The revision is part of the change: without it, put the file back.
                db.session.rollback()
                if before is None:
                    path.unlink(missing_ok=True)
                else:
                    write_atomically(path, before)
                raise
            revision = revisions.as_revision(row)
        article, _ = parse_article(text, path, self.languages)
        # Before the library sees the new file: its page must find the new HTML at once.
        HtmlCache(cache_dir(self.index_dir)).store(article.body)
        self.library.invalidate()
        return SaveResult(article, revision, self._reindex(article))

    def _reindex(self, article: Article) -> bool:
        try:
            search.update_article(self.index_dir, article)
        except SearchUnavailable as error:
            logger.warning("saved %s but could not update the search index: %s", article.key, error)
            return False
        return True

    def _is_inside(self, path: Path) -> bool:
        try:
            return path.resolve().is_relative_to(self.articles_dir.resolve())
        except (OSError, ValueError):
            return False

    def _checked_path(self, article: Article) -> Path:
        if article.path is None or not self._is_inside(article.path):
            raise ContentError(f"{article.key} is not a file in {self.articles_dir}")
        return article.path


def write_atomically(path: Path, text: str, exclusive: bool = False) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never half.

    The temporary file sits beside the target (same file system) and does not end in ``.md``,
    so the library never loads it. ``exclusive`` refuses to replace an existing file
    (`FileExistsError`).
    """
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        if exclusive:
            os.link(temporary, path)  # fails if the file exists, unlike os.replace
            os.unlink(temporary)
        else:
            os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (no-op where directories cannot be opened)."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _field_problems(text: str, problems: list[ContentProblem]) -> list[FieldProblem]:
    """Attach `parse_article` problems to the form fields, by the line they point at."""
    lines = text.splitlines()
    key_at_line: dict[int, str] = {}
    body_line = None
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            body_line = number + 1
            break
        match = re.match(r"([a-z]+):", line)
        if match:
            key_at_line[number] = match.group(1)
    found = []
    for problem in problems:
        if problem.line is None:
            field = "slug" if "slug" in problem.message else ""
        elif problem.line in key_at_line:
            field = key_at_line[problem.line]
        elif body_line is not None and problem.line >= body_line:
            field = "body"
        else:
            field = ""
        if field in ("lang", "updated"):
            field = ""
        found.append(FieldProblem(field, problem.message))
    return found


def _one_line(text: str) -> str:
    return " ".join(CONTROL_CHARACTERS.sub(" ", text).split())


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for item in items if item))
