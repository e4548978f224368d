"""JSON API: search (also behind the contact flow's live answers), suggestions, articles and
article feedback. Described for clients in kb/web/openapi.py, served at /api/openapi.json;
errors are {"error": {"code": <HTTP status>, "message"}} (kb/web/errors.py)."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, jsonify, request, session, url_for

from kb import insights
from kb.errors import SearchUnavailable
from kb.extensions import limiter
from kb.web import openapi
from kb.web.channel import request_channel
from kb.web.forms import COMMENT_LIMIT
from kb.web.public import QUERY_MAX, feedback_limit
from kb.web.services import library, search_engine, suggester
from kb.web.visit import visit_id

bp = Blueprint("api", __name__, url_prefix="/api")

DEFAULT_LIMIT = 10
MAX_LIMIT = 20
SUGGEST_DEFAULT_LIMIT = 8
SUGGEST_MAX_LIMIT = 10
SUGGEST_MIN_CHARS = 2
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def search_limit() -> str:
    return current_app.config["SEARCH_RATE_LIMIT"]


@bp.get("/search")
@limiter.limit(search_limit)
def search():
    query = request.args.get("q", "")
    lang = request.args.get("lang", current_app.config["DEFAULT_LANG"])
    limit = request.args.get("limit", str(DEFAULT_LIMIT))
    if len(query) > QUERY_MAX:
        abort(400, f"q is longer than {QUERY_MAX} characters")
    if lang not in current_app.config["LANGUAGES"]:
        abort(400, f"lang must be one of {', '.join(current_app.config['LANGUAGES'])}")
    # Not type=int: "abc" must be a 400 like on /api/suggest, not silently the default.
    limit = int(limit) if limit.isascii() and limit.isdigit() else 0
    if not 1 <= limit <= MAX_LIMIT:
        abort(400, f"limit must be between 1 and {MAX_LIMIT}")
    query = query.strip()
    if not query:
        return jsonify(query="", results=[], suggestion=None)
    try:
        results = search_engine().search(query, lang, limit=limit)
    except SearchUnavailable:
        abort(503, "search is unavailable")
    keys = [hit.key for hit in results.hits]
    if request.args.get("context") == "contact":
        # Live suggestions while typing: remember what was shown, but a half-typed
        # question is not a search of its own (the flow records the final question).
        insights.attach_flow_suggestions(session.get("flow_id"), visit_id(), keys)
    else:
        insights.record_search(
            visit_id(), lang, query, results.total, keys, "api", channel=request_channel()
        )
    return jsonify(
        query=results.query,
        results=[
            {
                "slug": hit.slug,
                "lang": hit.lang,
                "title": hit.title,
                "summary": hit.summary,
                "snippet": hit.snippet,
                "url": url_for("public.article", lang=hit.lang, slug=hit.slug),
                "score": round(hit.score, 4),
            }
            for hit in results.hits
        ],
        suggestion=results.suggestion,
    )


@bp.get("/suggest")
@limiter.limit(search_limit)
def suggest():
    """Completions and articles for the search box while the customer types.

    Not recorded as a search: these are keystrokes, the search (if any) comes after.
    """
    query = request.args.get("q", "")
    lang = request.args.get("lang", current_app.config["DEFAULT_LANG"])
    limit = request.args.get("limit", str(SUGGEST_DEFAULT_LIMIT))
    if len(query) > QUERY_MAX:
        abort(400, f"q is longer than {QUERY_MAX} characters")
    if lang not in current_app.config["LANGUAGES"]:
        abort(400, f"lang must be one of {', '.join(current_app.config['LANGUAGES'])}")
    limit = int(limit) if limit.isascii() and limit.isdigit() else 0
    if not 1 <= limit <= SUGGEST_MAX_LIMIT:
        abort(400, f"limit must be between 1 and {SUGGEST_MAX_LIMIT}")
    if len(query.strip()) < SUGGEST_MIN_CHARS:
        return jsonify(query=query.strip(), completions=[], articles=[])
    try:
        found = suggester().suggest(query, lang, limit=limit)
    except SearchUnavailable:
        abort(503, "search is unavailable")
    return jsonify(
        query=found.query,
        completions=[{"text": completion.text} for completion in found.completions],
        articles=[
            {
                "slug": article.slug,
                "lang": article.lang,
                "title": article.title,
                "url": url_for("public.article", lang=article.lang, slug=article.slug),
            }
            for article in found.articles
        ],
    )


@bp.get("/articles/<lang:lang>/<slug>")
def article(lang: str, slug: str):
    found = library().get(lang, slug)
    if found is None:
        abort(404, "no such article")
    return jsonify(
        slug=found.slug,
        lang=found.lang,
        title=found.title,
        summary=found.summary,
        category=found.category,
        html=library().html(found),  # null until `flask kb index` cached it
        url=url_for("public.article", lang=lang, slug=slug),
    )


@bp.post("/articles/<lang:lang>/<slug>/feedback")
@limiter.limit(feedback_limit)
def article_feedback(lang: str, slug: str):
    """Record "Was this helpful?" sent as JSON by kb's own pages (CSRF token in X-CSRFToken)."""
    found = library().get(lang, slug)
    if found is None:
        abort(404, "no such article")
    helpful, comment = feedback_from_body()
    feedback_id = insights.record_feedback(
        visit_id(), found.key, helpful, channel=request_channel()
    )
    if comment:
        insights.add_feedback_comment(feedback_id, visit_id(), comment)
    # Like the form: the article page's "What was missing?" form can still add a comment.
    session["feedback_id"] = feedback_id
    return "", 204


def feedback_from_body() -> tuple[bool, str]:
    """(helpful, comment) from the JSON body; a 415 or 400 that says what is wrong."""
    if not request.is_json:
        abort(415, "send a JSON body with Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "the body must be a JSON object")
    helpful = body.get("helpful")
    if not isinstance(helpful, bool):
        abort(400, "helpful must be true or false")
    comment = body.get("comment")
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        abort(400, "comment must be a string")
    if len(comment) > COMMENT_LIMIT:
        abort(400, f"comment is longer than {COMMENT_LIMIT} characters")
    if LONE_SURROGATE.search(comment):  # a JSON "\ud800" escape: no database can store it
        abort(400, "comment is not valid Unicode")
    # NUL and other control characters: PostgreSQL refuses NUL, and no person types them.
    return helpful, CONTROL_CHARACTERS.sub("", comment).strip()


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.document(current_app))
