"""Markdown -> HTML -> nh3 with an explicit allow-list. The only place HTML is sanitised."""

from __future__ import annotations

from functools import lru_cache

import markdown
import nh3
from markdown.extensions.toc import slugify_unicode

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
    "ul", "ol", "li", "dl", "dt", "dd", "blockquote",
    "table", "thead", "tbody", "tr", "th", "td",
    "pre", "code", "em", "strong", "del", "sup", "sub",
    "a", "img",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "h1": {"id"}, "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "h5": {"id"}, "h6": {"id"},
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"}, "td": {"align"},
    "ol": {"start"},
}  # fmt: skip
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}

MARKDOWN_EXTENSIONS = ["tables", "fenced_code", "sane_lists", "toc"]
MARKDOWN_CONFIG = {"toc": {"slugify": slugify_unicode, "permalink": False}}


def sanitize_html(html: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


@lru_cache(maxsize=4096)
def render_markdown(source: str) -> str:
    """Render Markdown to sanitised HTML (cached per source text)."""
    # A fresh Markdown instance per document: instances keep state between conversions.
    converter = markdown.Markdown(
        extensions=MARKDOWN_EXTENSIONS, extension_configs=MARKDOWN_CONFIG, output_format="html"
    )
    return sanitize_html(converter.convert(source))
