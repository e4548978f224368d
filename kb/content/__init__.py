"""Articles: Markdown files with YAML front matter, validated, rendered and sanitised.

Python-Markdown, nh3 and PyYAML are used only inside this package.
"""

from __future__ import annotations

from kb.content.articles import (
    Article,
    ContentProblem,
    check_articles,
    load_articles,
    parse_article,
)
from kb.content.categories import category_label, load_categories
from kb.content.library import ArticleLibrary
from kb.content.render import render_markdown, sanitize_html
from kb.content.synonyms import SynonymGroup, load_synonyms

__all__ = [
    "Article",
    "ArticleLibrary",
    "ContentProblem",
    "SynonymGroup",
    "category_label",
    "check_articles",
    "load_categories",
    "load_articles",
    "load_synonyms",
    "parse_article",
    "render_markdown",
    "sanitize_html",
]
