"""Measure answer quality: run a query set through the site's search over a temporary index.

Used by `flask kb eval` (DESIGN.md section 5). Query files are JSON lines
``{"id", "query", "lang", "relevant": [slugs]}``.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from kb.content import load_articles, load_synonyms
from kb.errors import KBError
from kb.search.engine import SearchEngine
from kb.search.index import build_index

logger = logging.getLogger(__name__)


class QueryFileError(KBError, ValueError):
    """The query file cannot be read or has an invalid line."""


def evaluate(
    articles_dir: Path | str,
    queries_file: Path | str,
    k: int = 10,
    languages: Iterable[str] = ("ar", "en"),
    progress: Callable[[int], None] | None = None,
) -> dict:
    """hit@1, hit@5, hit@k, MRR@k and zero-result rate, overall and per language.

    Invalid article files are skipped and counted (``skipped_articles``); an invalid query
    file raises `QueryFileError`. ``progress(1)`` is called after each query.
    """
    articles, problems = load_articles(Path(articles_dir), languages)
    synonyms, synonym_problems = load_synonyms(Path(articles_dir))
    for problem in [*problems, *synonym_problems]:
        logger.warning("evaluation skips: %s", problem)
    queries = _read_queries(Path(queries_file))
    ranks: dict[str, list[tuple[int | None, bool]]] = {}
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as index_dir:
        indexed = build_index(Path(index_dir), articles, synonyms)
        engine = SearchEngine(Path(index_dir))
        for query in queries:
            results = engine.search(query["query"], query["lang"], limit=max(k, 5))
            relevant = set(query["relevant"])
            rank = next(
                (n for n, hit in enumerate(results.hits, start=1) if hit.slug in relevant), None
            )
            ranks.setdefault(query["lang"], []).append((rank, results.total == 0))
            if progress is not None:
                progress(1)
    every = [outcome for outcomes in ranks.values() for outcome in outcomes]
    report = {
        "articles": indexed,
        "skipped_articles": len({problem.path for problem in problems}),
        **_metrics(every, k),
        "by_lang": {lang: _metrics(outcomes, k) for lang, outcomes in sorted(ranks.items())},
    }
    return report


def _metrics(outcomes: list[tuple[int | None, bool]], k: int) -> dict:
    count = len(outcomes)

    def share(values: Iterable[float]) -> float:
        return round(sum(values) / count, 4) if count else 0.0

    def hit_at(n: int) -> float:
        return share(1.0 for rank, _ in outcomes if rank is not None and rank <= n)

    return {
        "queries": count,
        f"mrr@{k}": share(1.0 / rank for rank, _ in outcomes if rank is not None and rank <= k),
        "hit@1": hit_at(1),
        "hit@5": hit_at(5),
        f"hit@{k}": hit_at(k),
        "zero_result_rate": share(1.0 for _, empty in outcomes if empty),
    }


def _read_queries(path: Path) -> list[dict]:
    queries = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise QueryFileError(f"cannot read the query file {path}: {error}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            query = json.loads(line)
            if not (
                isinstance(query.get("query"), str)
                and isinstance(query.get("lang"), str)
                and isinstance(query.get("relevant"), list)
            ):
                raise ValueError("needs 'query', 'lang' and a 'relevant' list")
        except (ValueError, AttributeError) as error:
            raise QueryFileError(f"{path}:{number}: not a valid query line: {error}") from error
        queries.append(query)
    return queries
