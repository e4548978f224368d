"""The values a search returns (no Whoosh objects leave `kb.search`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SearchHit:
    """One matching article.

    ``snippet`` is safe HTML: the article text is HTML-escaped first and only then are the
    matched words wrapped in ``<mark>``; templates may mark it safe. Every other field is
    plain text and must be escaped as usual.
    """

    key: str
    lang: str
    slug: str
    title: str
    summary: str
    category: str
    snippet: str
    score: float


@dataclass(frozen=True)
class SearchResults:
    """The answer to one query.

    ``total`` counts every matching article (``hits`` holds at most the requested number);
    ``suggestion`` is a corrected query ("did you mean") when the query matched nothing as
    typed; ``fuzzy`` is true when the hits come from the spelling-tolerant fallback.
    """

    query: str
    hits: tuple[SearchHit, ...] = ()
    total: int = 0
    suggestion: str | None = None
    fuzzy: bool = False
