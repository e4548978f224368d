"""Parse and validate article files (DESIGN.md section 4)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kb.content.render import render_markdown

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
INTERNAL_LINK = re.compile(r'href="/([a-z]{2})/articles/([^"#?/]+)')
DEFAULT_LANGUAGES = ("ar", "en")
STATUSES = ("published", "draft")
LIST_KEYS = ("tags", "questions", "related")
TEXT_LIMITS = {"title": 200, "summary": 500, "category": 64}
KNOWN_KEYS = (
    "title",
    "lang",
    "summary",
    "category",
    "tags",
    "questions",
    "status",
    "updated",
    "related",
)


@dataclass(frozen=True)
class ContentProblem:
    """One validation error, located in a file (and a line when known)."""

    path: Path
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Article:
    lang: str
    slug: str
    title: str
    body: str
    summary: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    status: str = "published"
    updated: dt.date | None = None
    related: tuple[str, ...] = ()
    path: Path | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return f"{self.lang}/{self.slug}"

    @property
    def published(self) -> bool:
        return self.status == "published"

    @property
    def html(self) -> str:
        """The body as sanitised HTML."""
        return render_markdown(self.body)


def parse_article(
    text: str, path: Path, languages: Iterable[str] = DEFAULT_LANGUAGES
) -> tuple[Article | None, list[ContentProblem]]:
    """Parse one article's text; return the article (None if invalid) and its problems."""
    problems: list[ContentProblem] = []

    def problem(message: str, line: int | None = None) -> None:
        problems.append(ContentProblem(path, message, line))

    slug = path.stem
    if not SLUG_PATTERN.match(slug):
        problem(f"file name {slug!r} is not a valid slug (lower-case letters, digits, hyphens)")
    header, body, body_line = _split_front_matter(text)
    if header is None:
        problem("missing front matter: the file must start with a line '---'", 1)
        return None, problems
    try:
        node, meta = _parse_yaml(header)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        problem(f"front matter is not valid YAML: {getattr(error, 'problem', error)}", line)
        return None, problems
    if not isinstance(meta, dict):
        problem("front matter must be a mapping of keys to values", 2)
        return None, problems
    lines = _key_lines(node)

    for key in meta:
        if key not in KNOWN_KEYS:
            problem(f"unknown key {key!r} (allowed: {', '.join(KNOWN_KEYS)})", lines.get(key))

    values: dict = {}
    for key in ("title", "lang"):
        if key not in meta:
            problem(f"missing required key {key!r}", 1)
    for key, limit in TEXT_LIMITS.items():
        if key not in meta:
            continue
        value = meta[key]
        if not isinstance(value, str) or not value.strip():
            problem(f"{key!r} must be a non-empty text", lines.get(key))
        elif len(value) > limit:
            problem(f"{key!r} is longer than {limit} characters", lines.get(key))
        else:
            values[key] = value.strip()
    if "category" in values and not SLUG_PATTERN.match(values["category"]):
        problem("'category' must be lower-case letters, digits and hyphens", lines.get("category"))
        values.pop("category")

    lang = meta.get("lang")
    allowed_langs = tuple(languages)
    if "lang" in meta and lang not in allowed_langs:
        problem(
            f"'lang' must be one of {', '.join(allowed_langs)}, not {lang!r}", lines.get("lang")
        )

    for key in LIST_KEYS:
        if key not in meta:
            continue
        items = meta[key]
        if not isinstance(items, list) or not all(
            isinstance(item, str) and item.strip() for item in items
        ):
            problem(f"{key!r} must be a list of non-empty texts", lines.get(key))
            continue
        values[key] = tuple(item.strip() for item in items)
    for slug_ref in values.get("related", ()):
        if not SLUG_PATTERN.match(slug_ref):
            problem(f"'related' entry {slug_ref!r} is not a valid slug", lines.get("related"))

    status = meta.get("status", "published")
    if status not in STATUSES:
        problem(f"'status' must be 'published' or 'draft', not {status!r}", lines.get("status"))
    updated = meta.get("updated")
    if "updated" in meta:
        updated = _as_date(updated)
        if updated is None:
            problem("'updated' must be a date written YYYY-MM-DD", lines.get("updated"))
    if not body.strip():
        problem("the article has no body text after the front matter", body_line)

    if problems:
        return None, problems
    article = Article(
        lang=lang,
        slug=slug,
        body=body.strip() + "\n",
        status=status,
        updated=updated,
        path=path,
        **values,
    )
    return article, []


def load_articles(
    directory: Path, languages: Iterable[str] = DEFAULT_LANGUAGES
) -> tuple[list[Article], list[ContentProblem]]:
    """Load every ``*.md`` under ``directory``; duplicates of a (lang, slug) key are errors."""
    articles: list[Article] = []
    problems: list[ContentProblem] = []
    seen: dict[str, Path] = {}
    languages = tuple(languages)
    for path in sorted(Path(directory).rglob("*.md")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(ContentProblem(path, f"cannot be read as UTF-8 text: {error}"))
            continue
        article, found = parse_article(text, path, languages)
        problems.extend(found)
        if article is None:
            continue
        if article.key in seen:
            problems.append(
                ContentProblem(path, f"duplicate article {article.key} (also {seen[article.key]})")
            )
            continue
        seen[article.key] = path
        articles.append(article)
    return articles, problems


def check_articles(
    directory: Path, languages: Iterable[str] = DEFAULT_LANGUAGES
) -> tuple[list[Article], list[ContentProblem]]:
    """Everything `load_articles` checks, plus cross-article references."""
    articles, problems = load_articles(directory, languages)
    keys = {article.key for article in articles}
    for article in articles:
        for slug in article.related:
            if f"{article.lang}/{slug}" not in keys:
                problems.append(
                    ContentProblem(
                        article.path,
                        f"'related' names {slug!r}, which has no {article.lang} article",
                    )
                )
        for lang, slug in INTERNAL_LINK.findall(article.html):
            if f"{lang}/{slug}" not in keys:
                problems.append(
                    ContentProblem(article.path, f"broken link to /{lang}/articles/{slug}")
                )
    return articles, problems


def _split_front_matter(text: str) -> tuple[str | None, str, int]:
    """Return (front matter, body, line number where the body starts)."""
    text = text.removeprefix("\ufeff")
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None, text, 1
    for number, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return "".join(lines[1:number]), "".join(lines[number + 1 :]), number + 2
    return None, text, 1


# libyaml's parser when PyYAML was built with it (the wheels are): ~10x faster, which
# matters when `flask kb index` reads 10,000 articles.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_yaml(text: str) -> tuple[yaml.Node | None, object]:
    """The YAML document's node tree (for line numbers) and its value, from one parse."""
    loader = _SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _key_lines(node: yaml.Node | None) -> dict[str, int]:
    """Map each top-level key to its line in the file (front matter starts on line 2)."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: key.start_mark.line + 2 for key, _ in node.value}


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None
