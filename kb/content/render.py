"""Markdown -> HTML -> nh3 with an explicit allow-list. The only place HTML is sanitised.

Rendering happens outside public requests (index build, editor save and preview; pages read
`kb.content.html_cache`), and every source passes a complexity budget first. Python-Markdown
has quadratic paths: each unclosed "[" scans to the end of its paragraph (Python-Markdown
issues #798 and #1619), so 50 000 "[a" take minutes while the same length of prose takes
milliseconds. The budget (`budget_problem`) caps size, lines, nesting and "[" per paragraph;
measured on ../shared/eval/dos/markdown_pathological.jsonl, everything within it renders in
well under a second. The editor refuses a body over budget; a file over budget (committed
past the editor) renders as escaped plain paragraphs, in linear time, and never hangs a build.
"""

from __future__ import annotations

import html
import re
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

# Bump when the pipeline's output changes: cached HTML of older versions is not used.
RENDER_VERSION = 1
# The complexity budget (see the module docstring).
MAX_SOURCE_CHARS = 100_000
MAX_LINES = 5_000
# Block quote markers or list indentation levels at the start of a line.
MAX_NESTING = 16
# ("[" + "`" count) times the length of the paragraph holding them, summed over paragraphs:
# the scanning the link and code-span parsers may do. A 2 000-character paragraph with 40
# links costs 80 000.
MAX_BRACKET_WORK = 2_000_000
# Spaces or tabs in a row (a fence followed by thousands of spaces takes ~1 s).
MAX_BLANK_RUN = 200
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_QUOTE_PREFIX = re.compile(r"^(?:[ \t]*>)+", re.MULTILINE)
_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)
_BLANK_RUN = re.compile(rf"[ \t]{{{MAX_BLANK_RUN + 1}}}")

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


def budget_problem(source: str) -> str | None:
    """Why ``source`` is too large or too complex to render; None when it is within budget."""
    if len(source) > MAX_SOURCE_CHARS:
        return f"the text is longer than {MAX_SOURCE_CHARS} characters"
    if source.count("\n") > MAX_LINES:
        return f"the text has more than {MAX_LINES} lines"
    quotes = max((match.group().count(">") for match in _QUOTE_PREFIX.finditer(source)), default=0)
    indent = max((len(m.group().expandtabs(4)) for m in _INDENT.finditer(source)), default=0)
    if quotes > MAX_NESTING or indent > 4 * MAX_NESTING:
        return f"the text is nested more than {MAX_NESTING} levels deep"
    parts = _PARAGRAPH_BREAK.split(source)
    work = sum((part.count("[") + part.count("`")) * len(part) for part in parts)
    if work > MAX_BRACKET_WORK:
        return "a paragraph has too many [ or ` characters; split it or remove unused ones"
    if _BLANK_RUN.search(source):
        return f"the text has more than {MAX_BLANK_RUN} spaces or tabs in a row"
    return None


def plain_paragraphs(source: str) -> str:
    """``source`` as escaped paragraphs, no Markdown: the linear-time fallback."""
    parts = (part.strip() for part in _PARAGRAPH_BREAK.split(source[:MAX_SOURCE_CHARS]))
    return "".join(f"<p>{html.escape(part)}</p>" for part in parts if part)


@lru_cache(maxsize=4096)
def render_markdown(source: str) -> str:
    """Render Markdown to sanitised HTML (cached per source text).

    A source over budget is shown as escaped plain paragraphs instead of being parsed.
    """
    if budget_problem(source) is not None:
        return plain_paragraphs(source)
    # A fresh Markdown instance per document: instances keep state between conversions.
    converter = markdown.Markdown(
        extensions=MARKDOWN_EXTENSIONS, extension_configs=MARKDOWN_CONFIG, output_format="html"
    )
    return sanitize_html(converter.convert(source))
