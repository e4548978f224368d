"""The OpenAPI 3.1 description of the public JSON API, served at /api/openapi.json.

Built in Python rather than kept as a YAML/JSON file: the limits (q length, limit ranges,
comment length), the language list and the rate limits come from the same constants and
configuration the views use, so the description cannot drift from the code.
tests/test_openapi.py checks it is valid, that it names every /api/ route and nothing else,
and that real answers match its schemas (plus a bounded schemathesis run).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from kb.content.articles import SLUG_PATTERN
from kb.insights import WIDGET_EVENTS
from kb.web.forms import COMMENT_LIMIT
from kb.web.public import QUERY_MAX

EXTENSION_KEY = "kb.openapi"
JSON = "application/json"


def document(app: Flask) -> dict[str, Any]:
    """The description for ``app``'s configuration, built once per app."""
    if EXTENSION_KEY not in app.extensions:
        app.extensions[EXTENSION_KEY] = build_document(app.config)
    return app.extensions[EXTENSION_KEY]


def build_document(config) -> dict[str, Any]:
    # kb.web.api imports this module to serve the document: import the views' limits late.
    from kb.web import api, widget

    languages = list(config["LANGUAGES"])
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kb help center API",
            "version": "1",
            "description": DESCRIPTION.format(
                search_rate=config["SEARCH_RATE_LIMIT"],
                feedback_rate=config["FEEDBACK_RATE_LIMIT"],
            ),
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/api/search": {
                "get": {
                    "operationId": "search",
                    "summary": "Search the published articles of one language",
                    "description": (
                        "Ranked articles with a highlighted snippet. An empty or blank `q` "
                        "gives no results. Recorded (redacted) as a search for the help "
                        "center's insights. Cross-origin reads: see CORS above."
                    ),
                    "parameters": [
                        query_parameter(QUERY_MAX),
                        language_parameter(languages, config["DEFAULT_LANG"]),
                        limit_parameter(api.DEFAULT_LIMIT, api.MAX_LIMIT),
                        {
                            "name": "context",
                            "in": "query",
                            "required": False,
                            "description": (
                                "`contact` is sent by kb's own contact page: the answers "
                                "shown are attached to the visitor's open contact flow "
                                "instead of being recorded as a search. Other values are "
                                "ignored."
                            ),
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": json_response("Search results", ref("SearchResults")),
                        "400": error_ref("BadRequest"),
                        "429": error_ref("TooManyRequests"),
                        "503": error_ref("SearchUnavailable"),
                        "default": error_ref("Error"),
                    },
                }
            },
            "/api/suggest": {
                "get": {
                    "operationId": "suggest",
                    "summary": "Suggestions while the customer types",
                    "description": (
                        "Completions (article titles and the other ways customers ask "
                        "them) whose words start with the typed words, and their articles. "
                        f"Fewer than {api.SUGGEST_MIN_CHARS} characters gives empty lists. "
                        "Not recorded as a search: these are keystrokes."
                    ),
                    "parameters": [
                        query_parameter(QUERY_MAX),
                        language_parameter(languages, config["DEFAULT_LANG"]),
                        limit_parameter(api.SUGGEST_DEFAULT_LIMIT, api.SUGGEST_MAX_LIMIT),
                    ],
                    "responses": {
                        "200": json_response("Suggestions", ref("Suggestions")),
                        "400": error_ref("BadRequest"),
                        "429": error_ref("TooManyRequests"),
                        "503": error_ref("SearchUnavailable"),
                        "default": error_ref("Error"),
                    },
                }
            },
            "/api/articles/{lang}/{slug}": {
                "parameters": article_parameters(languages),
                "get": {
                    "operationId": "getArticle",
                    "summary": "One published article",
                    "responses": {
                        "200": json_response("The article", ref("Article")),
                        "404": error_ref("NotFound"),
                        "default": error_ref("Error"),
                    },
                },
            },
            "/api/articles/{lang}/{slug}/feedback": {
                "parameters": article_parameters(languages),
                "post": {
                    "operationId": "sendArticleFeedback",
                    "summary": '"Was this helpful?" for one article',
                    "description": (
                        "Same-origin only, for kb's own pages: send the session cookie and "
                        "the page's CSRF token in `X-CSRFToken` (see Security above). "
                        "Recorded like the Yes/No buttons of the article page; a `comment` "
                        "(what was missing) is redacted before it is stored. Rate limited "
                        f"per client address ({config['FEEDBACK_RATE_LIMIT']})."
                    ),
                    "security": [{"session": [], "csrfToken": []}],
                    "requestBody": {
                        "required": True,
                        "content": {JSON: {"schema": ref("Feedback")}},
                    },
                    "responses": {
                        "204": {"description": "Recorded"},
                        "400": error_ref("BadRequest"),
                        "404": error_ref("NotFound"),
                        "413": error_ref("PayloadTooLarge"),
                        "415": error_ref("UnsupportedMediaType"),
                        "429": error_ref("TooManyRequests"),
                        "default": error_ref("Error"),
                    },
                },
            },
            "/api/widget/events": {
                "post": {
                    "operationId": "recordWidgetEvent",
                    "summary": "The help widget's panel was opened or closed",
                    "description": (
                        "Sent by the widget's panel page itself (kb's page inside the "
                        "`<iframe>`, same origin as kb) when the customer opens or closes the "
                        "panel; recorded for the dashboard in the widget channel with the "
                        "host page. Needs the panel's own session cookie "
                        f"(`{widget.SESSION_COOKIE}`) and the panel page's CSRF token in "
                        "`X-CSRFToken`. Rate limited per client address like search "
                        f"({config['SEARCH_RATE_LIMIT']})."
                    ),
                    "security": [{"widgetSession": [], "csrfToken": []}],
                    "requestBody": {
                        "required": True,
                        "content": {JSON: {"schema": ref("WidgetEvent")}},
                    },
                    "responses": {
                        "204": {"description": "Recorded"},
                        "400": error_ref("BadRequest"),
                        "413": error_ref("PayloadTooLarge"),
                        "415": error_ref("UnsupportedMediaType"),
                        "429": error_ref("TooManyRequests"),
                        "default": error_ref("Error"),
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "getOpenAPIDocument",
                    "summary": "This description",
                    "responses": {
                        "200": json_response("The OpenAPI 3.1 document", {"type": "object"}),
                        "default": error_ref("Error"),
                    },
                }
            },
        },
        "components": {
            "schemas": schemas(languages),
            "responses": error_responses(),
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "kb's signed session cookie (set by any kb page).",
                },
                "widgetSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": widget.SESSION_COOKIE,
                    "description": "The widget panel's session cookie (set by its pages).",
                },
                "csrfToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRFToken",
                    "description": "The CSRF token of the page, bound to the session cookie.",
                },
            },
        },
    }


DESCRIPTION = """\
The help center's public JSON API: search, suggestions, articles, article feedback and the
help widget's events.

**Errors.** Every error answer under `/api/` is JSON with the HTTP status:
`{{"error": {{"code": <the HTTP status as a number>, "message": "<what went wrong>"}}}}`.
400 bad parameters or body (also a missing or wrong CSRF token on a POST), 404 unknown
article or route, 405 wrong method, 413 body too large, 415 body not JSON, 429 rate
limited, 503 search unavailable (no index yet), 500 unexpected.

**Rate limits** per client address: `/api/search` {search_rate}, `/api/suggest` and
`/api/widget/events` the same, each counted apart; article feedback {feedback_rate}.
Over a limit: 429.

**CORS.** Cross-origin reads (GET, HEAD, and their preflight) are answered only for the
sites listed in `KB_WIDGET_ORIGINS`: `Access-Control-Allow-Origin` echoes the site's
origin; credentials are never allowed. Every `/api/` answer has `Vary: Origin`.

**Security.** The POST endpoints are for kb's own pages (the article page, the help
widget's panel): they need kb's session cookie (the panel's own cookie for widget events)
and that page's CSRF token in the `X-CSRFToken` header, and refuse requests another
site's page sends (400). They carry no CORS headers.
"""


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def error_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def query_parameter(max_length: int) -> dict[str, Any]:
    return {
        "name": "q",
        "in": "query",
        "required": False,
        "description": "What the customer typed, in any script (Arabic, Latin or mixed).",
        "schema": {"type": "string", "maxLength": max_length, "default": ""},
    }


def language_parameter(languages: list[str], default: str) -> dict[str, Any]:
    return {
        "name": "lang",
        "in": "query",
        "required": False,
        "description": "Language of the articles to search.",
        "schema": {"type": "string", "enum": languages, "default": default},
    }


def limit_parameter(default: int, maximum: int) -> dict[str, Any]:
    return {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "Most articles to return.",
        "schema": {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
    }


def article_parameters(languages: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "name": "lang",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "enum": languages},
        },
        {
            "name": "slug",
            "in": "path",
            "required": True,
            "description": "The article's file name without `.md`.",
            "schema": {"type": "string", "pattern": SLUG_PATTERN.pattern},
        },
    ]


def schemas(languages: list[str]) -> dict[str, Any]:
    language = {"type": "string", "enum": languages}
    article_url = {
        "type": "string",
        "description": "Path of the article page on this help center.",
        "pattern": "^/",
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {
                            "type": "integer",
                            "minimum": 400,
                            "maximum": 599,
                            "description": "The HTTP status of the answer.",
                        },
                        "message": {"type": "string", "description": "What went wrong."},
                    },
                }
            },
        },
        "SearchResults": {
            "type": "object",
            "required": ["query", "results", "suggestion"],
            "properties": {
                "query": {"type": "string", "description": "The query as searched."},
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": [
                            "slug",
                            "lang",
                            "title",
                            "summary",
                            "snippet",
                            "url",
                            "score",
                        ],
                        "properties": {
                            "slug": {"type": "string"},
                            "lang": language,
                            "title": {"type": "string"},
                            "summary": {"type": "string"},
                            "snippet": {
                                "type": "string",
                                "description": (
                                    "HTML: the article text escaped, matches in `<mark>`."
                                ),
                            },
                            "url": article_url,
                            "score": {"type": "number"},
                        },
                    },
                },
                "suggestion": {
                    "type": ["string", "null"],
                    "description": '"Did you mean": a corrected query, or null.',
                },
            },
        },
        "Suggestions": {
            "type": "object",
            "required": ["query", "completions", "articles"],
            "properties": {
                "query": {"type": "string"},
                "completions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["text"],
                        "properties": {"text": {"type": "string"}},
                    },
                },
                "articles": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["slug", "lang", "title", "url"],
                        "properties": {
                            "slug": {"type": "string"},
                            "lang": language,
                            "title": {"type": "string"},
                            "url": article_url,
                        },
                    },
                },
            },
        },
        "Article": {
            "type": "object",
            "required": ["slug", "lang", "title", "summary", "category", "html", "url"],
            "properties": {
                "slug": {"type": "string"},
                "lang": language,
                "title": {"type": "string"},
                "summary": {"type": "string"},
                "category": {"type": "string", "description": "Category slug, or empty."},
                "html": {
                    "type": ["string", "null"],
                    "description": (
                        "The sanitised article HTML; null until `flask kb index` has run."
                    ),
                },
                "url": article_url,
            },
        },
        "WidgetEvent": {
            "type": "object",
            "required": ["event", "lang"],
            "properties": {
                "event": {"type": "string", "enum": list(WIDGET_EVENTS)},
                "lang": language,
            },
        },
        "Feedback": {
            "type": "object",
            "required": ["helpful"],
            "properties": {
                "helpful": {"type": "boolean", "description": "Did the article help?"},
                "comment": {
                    "type": ["string", "null"],
                    "maxLength": COMMENT_LIMIT,
                    "description": "What was missing (optional; null or absent: none).",
                },
            },
        },
    }


def error_responses() -> dict[str, Any]:
    def error(description: str) -> dict[str, Any]:
        return json_response(description, ref("Error"))

    return {
        "BadRequest": error("Bad parameters or body, or a refused POST (CSRF, other site)"),
        "NotFound": error("No such article"),
        "PayloadTooLarge": error("The body is larger than the server accepts"),
        "UnsupportedMediaType": error("The body is not application/json"),
        "TooManyRequests": error("Rate limited: too many requests from this address"),
        "SearchUnavailable": error("Search is unavailable (no index yet)"),
        "Error": error("Any other error, in the same format"),
    }
