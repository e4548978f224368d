"""Per-process objects the views share: the article library and the search engine."""

from __future__ import annotations

from flask import Flask, current_app

from kb.content import ArticleLibrary
from kb.search import SearchEngine


def init_app(app: Flask) -> None:
    # Constructed without I/O: each opens its files on first use in the worker process.
    app.extensions["kb.library"] = ArticleLibrary(
        app.config["ARTICLES_DIR"], app.config["LANGUAGES"]
    )
    app.extensions["kb.search"] = SearchEngine(app.config["INDEX_DIR"])


def library() -> ArticleLibrary:
    return current_app.extensions["kb.library"]


def search_engine() -> SearchEngine:
    return current_app.extensions["kb.search"]
