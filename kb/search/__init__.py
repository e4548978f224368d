"""Search: Arabic/English analysis, the Whoosh index, safe querying and evaluation.

Whoosh is imported only inside this package, and only when a name that needs it is first
used: ``from kb.search import normalize_query`` stays cheap (the insights module uses it).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from kb.search.results import SearchHit, SearchResults
from kb.search.text import normalize_query

if TYPE_CHECKING:
    from kb.search.engine import SearchEngine
    from kb.search.evaluation import evaluate
    from kb.search.index import (
        SCHEMA_VERSION,
        build_index,
        fingerprint,
        index_exists,
        index_is_current,
        remove_article,
        update_article,
        write_fingerprint,
    )
    from kb.search.suggest import Completion, SuggestedArticle, Suggester, Suggestions

_LAZY = {
    "SearchEngine": "kb.search.engine",
    "evaluate": "kb.search.evaluation",
    "Completion": "kb.search.suggest",
    "SuggestedArticle": "kb.search.suggest",
    "Suggester": "kb.search.suggest",
    "Suggestions": "kb.search.suggest",
    "SCHEMA_VERSION": "kb.search.index",
    "build_index": "kb.search.index",
    "fingerprint": "kb.search.index",
    "index_exists": "kb.search.index",
    "index_is_current": "kb.search.index",
    "remove_article": "kb.search.index",
    "update_article": "kb.search.index",
    "write_fingerprint": "kb.search.index",
}

__all__ = [
    "SCHEMA_VERSION",
    "Completion",
    "SearchEngine",
    "SearchHit",
    "SearchResults",
    "SuggestedArticle",
    "Suggester",
    "Suggestions",
    "build_index",
    "evaluate",
    "fingerprint",
    "index_exists",
    "index_is_current",
    "normalize_query",
    "remove_article",
    "update_article",
    "write_fingerprint",
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
