"""JSON API: search (also behind the contact flow's live answers), suggestions and articles."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, request, session, url_for

from kb import insights
from kb.errors import SearchUnavailable
from kb.extensions import limiter
from kb.web.public import QUERY_MAX
from kb.web.services import library, search_engine, suggester
from kb.web.visit import visit_id

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_LIMIT = 20
SUGGEST_MAX_LIMIT = 10
SUGGEST_MIN_CHARS = 2


def search_limit() -> str:
    return current_app.config["SEARCH_RATE_LIMIT"]


@bp.get("/search")
@limiter.limit(search_limit)
def search():
    query = request.args.get("q", "")
    lang = request.args.get("lang", current_app.config["DEFAULT_LANG"])
    limit = request.args.get("limit", 10, type=int)
    if len(query) > QUERY_MAX:
        abort(400, f"q is longer than {QUERY_MAX} characters")
    if lang not in current_app.config["LANGUAGES"]:
        abort(400, f"lang must be one of {', '.join(current_app.config['LANGUAGES'])}")
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
        insights.record_search(visit_id(), lang, query, results.total, keys, "api")
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
    limit = request.args.get("limit", "8")
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
