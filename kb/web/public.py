"""Customer pages: home, search, categories, articles and article feedback."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from kb import insights
from kb.errors import SearchUnavailable
from kb.extensions import limiter
from kb.web.channel import request_channel
from kb.web.forms import FeedbackCommentForm, FeedbackForm
from kb.web.i18n import preferred_language
from kb.web.services import library, search_engine
from kb.web.visit import visit_id

bp = Blueprint("public", __name__)

QUERY_MAX = 256
POPULAR_COUNT = 6
FEEDBACK_STATES = {"thanks", "missing", "done"}


def feedback_limit() -> str:
    return current_app.config["FEEDBACK_RATE_LIMIT"]


@bp.get("/")
def root():
    return redirect(url_for("public.home", lang=preferred_language()))


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/<lang:lang>/")
def home(lang: str):
    articles = library()
    popular = popular_articles(lang, POPULAR_COUNT)
    categories = [
        (category, articles.category_name(category, lang), count)
        for category, count in sorted(articles.category_counts(lang).items())
    ]
    return render_template("public/home.html", popular=popular, categories=categories)


def popular_articles(lang: str, count: int) -> list:
    """The most read articles of the last 30 days, topped up with the most recently updated."""
    articles = library()
    popular = [
        article
        for key in insights.popular_article_keys(lang, count)
        if (article := articles.get(*key.split("/", 1)))
    ]
    if len(popular) < count:
        popular += articles.recent(lang, count - len(popular), [a.key for a in popular])
    return popular


@bp.get("/<lang:lang>/search")
def search(lang: str):
    query = request.args.get("q", "")[:QUERY_MAX].strip()
    category = request.args.get("category", "")[:64] or None
    results = search_id = None
    unavailable = False
    if query:
        try:
            results = search_engine().search(
                query, lang, limit=current_app.config["SEARCH_PAGE_SIZE"], category=category
            )
        except SearchUnavailable:
            unavailable = True
        else:
            search_id = insights.record_search(
                visit_id(),
                lang,
                query,
                results.total,
                [hit.key for hit in results.hits],
                "search",
                channel=request_channel(),
            )
    articles = library()
    categories = [(c, articles.category_name(c, lang)) for c in articles.categories(lang)]
    return render_template(
        "public/search.html",
        query=query,
        category=category,
        categories=categories,
        results=results,
        search_id=search_id,
        unavailable=unavailable,
    )


@bp.get("/<lang:lang>/categories/<category>")
def category(lang: str, category: str):
    articles = library().in_category(lang, category)
    if not articles:
        abort(404)
    articles.sort(key=lambda article: article.title)
    return render_template(
        "public/category.html",
        category=category,
        category_name=library().category_name(category, lang),
        articles=articles,
    )


@bp.get("/<lang:lang>/articles/<slug>")
def article(lang: str, slug: str):
    found = library().get(lang, slug)
    if found is None:
        abort(404)
    search_id = request.args.get("search", type=int)
    position = request.args.get("pos", type=int)
    insights.record_article_view(
        visit_id(), found.key, search_id, position, channel=request_channel()
    )
    translations = library().translations(slug)
    g.alternate_urls = {
        other: url_for("public.article", lang=other, slug=slug)
        if other in translations
        else url_for("public.home", lang=other)
        for other in current_app.config["LANGUAGES"]
        if other != lang
    }
    related = [a for s in found.related if (a := library().get(lang, s))]
    state = request.args.get("feedback")
    return render_template(
        "public/article.html",
        article=found,
        category_name=library().category_name(found.category, lang) if found.category else "",
        related=related,
        feedback_state=state if state in FEEDBACK_STATES else None,
        feedback_form=FeedbackForm(),
        comment_form=FeedbackCommentForm(),
    )


@bp.post("/<lang:lang>/articles/<slug>/feedback")
@limiter.limit(feedback_limit)
def feedback(lang: str, slug: str):
    found = library().get(lang, slug)
    if found is None:
        abort(404)
    form = FeedbackForm()
    if not form.validate_on_submit():
        abort(400)
    helpful = form.helpful.data == "yes"
    session["feedback_id"] = insights.record_feedback(
        visit_id(), found.key, helpful, channel=request_channel()
    )
    state = "thanks" if helpful else "missing"
    return redirect(url_for("public.article", lang=lang, slug=slug, feedback=state) + "#feedback")


@bp.post("/<lang:lang>/articles/<slug>/feedback/comment")
@limiter.limit(feedback_limit)
def feedback_comment(lang: str, slug: str):
    if library().get(lang, slug) is None:
        abort(404)
    form = FeedbackCommentForm()
    if not form.validate_on_submit():
        abort(400)
    insights.add_feedback_comment(session.pop("feedback_id", 0), visit_id(), form.comment.data)
    return redirect(url_for("public.article", lang=lang, slug=slug, feedback="done") + "#feedback")
