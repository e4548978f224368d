"""Per-process objects the views share: the article library and store, search engine, suggester."""

from __future__ import annotations

from flask import Flask, current_app

from kb.content import ArticleLibrary
from kb.content.html_cache import cache_dir
from kb.content.store import ArticleStore
from kb.search import SearchEngine, Suggester
from kb.search.catalogue import Catalogue
from kb.search.index import index_path


def init_app(app: Flask) -> None:
    # Constructed without I/O: each opens its files on first use in the worker process.
    catalogue = Catalogue(index_path(app.config["INDEX_DIR"]))
    app.extensions["kb.library"] = ArticleLibrary(
        app.config["ARTICLES_DIR"],
        app.config["LANGUAGES"],
        html_dir=cache_dir(app.config["INDEX_DIR"]),
        indexed=catalogue,
    )
    engine = SearchEngine(app.config["INDEX_DIR"])
    app.extensions["kb.search"] = engine
    app.extensions["kb.suggest"] = Suggester(engine, catalogue)
    app.extensions["kb.store"] = ArticleStore(
        app.config["ARTICLES_DIR"],
        app.config["INDEX_DIR"],
        app.config["LANGUAGES"],
        app.extensions["kb.library"],
    )


def library() -> ArticleLibrary:
    return current_app.extensions["kb.library"]


def search_engine() -> SearchEngine:
    return current_app.extensions["kb.search"]


def suggester() -> Suggester:
    return current_app.extensions["kb.suggest"]


def article_store() -> ArticleStore:
    return current_app.extensions["kb.store"]
