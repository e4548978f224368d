"""The help widget: ``/widget.js`` for other sites, and the panel it opens (``/<lang>/widget``).

A site embeds ``<script src="https://HELP-CENTER/widget.js" data-lang="ar" defer>``; the script
shows a help button that opens this module's pages in an ``<iframe>``, so kb's cookies, CSRF
tokens and Content-Security-Policy stay on kb's origin. Only the sites in
``KB_WIDGET_ORIGINS`` may frame the panel (``frame-ancestors``); every other kb page keeps
``frame-ancestors 'none'``.

The panel is the site itself in a smaller layout: the site's search and its whole contact flow
(kb/web/public.py, kb/web/contact.py) are registered a second time under ``/<lang>/widget/``,
and their templates render with ``layout = "widget/base.html"`` and with ``url_for`` mapped
through PANEL_ENDPOINTS, so their links and forms stay inside the panel. Only the panel's home
(with the topic's answers) and its article view (with "Yes, this solved my problem") are its
own. Every event recorded from the panel carries the widget channel and the host page
(``g.widget_host``, read by kb/web/channel.py).

Cookies: in production the panel is a third-party frame, where browsers do not send the site's
``SameSite=Lax`` session cookie. The panel's requests (``/<lang>/widget*``, ``/api/widget/*``)
therefore use a session cookie of their own, ``kb_widget``: ``SameSite=None; Secure;
Partitioned`` (CHIPS: the browser keeps a separate jar per embedding site, so it is not a
cross-site tracking cookie), while the site's cookie stays ``Lax``. Over plain HTTP
(``KB_SESSION_COOKIE_SECURE=false``, local development and tests) browsers refuse
``SameSite=None`` and ``Partitioned`` without ``Secure``, so the panel's cookie is ``Lax`` there,
which works when the host page is on the same site (e.g. another port of 127.0.0.1). A browser
that blocks every third-party cookie (Safari) keeps no panel session: the panel's pages still
work, and pages after the first say so and offer "Open in the help center" (a new tab).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from kb import insights
from kb.errors import SearchUnavailable
from kb.extensions import limiter
from kb.web import contact, public
from kb.web.api import search_limit
from kb.web.channel import request_channel
from kb.web.forms import SolvedForm
from kb.web.i18n import current_language, text_direction
from kb.web.origins import allowed_origins, normalise_origin
from kb.web.services import library, search_engine
from kb.web.visit import visit_id

bp = Blueprint("widget", __name__)

SESSION_COOKIE = "kb_widget"
# Requests that belong to the panel and so use its cookie (matched before routing).
PANEL_PATH = re.compile(r"^/[^/]+/widget(?:/|$)|^/api/widget/")
HOST_KEY = "widget_host"
TOPIC_KEY = "widget_topic"
PATH_LIMIT = 500
TOPIC_LIMIT = 100
TOPIC_ARTICLES = 5
SCRIPT_MAX_AGE = 3600  # seconds a browser or CDN may reuse widget.js

# Site endpoints with a panel version: in panel templates, url_for() of the left one builds
# the right one, so shared templates (search, contact flow, errors) keep their links inside
# the panel. Site pages without a panel version (topics) open in a new tab (widget-panel.js).
PANEL_ENDPOINTS = {
    "public.home": "widget.home",
    "public.search": "widget.search",
    "public.article": "widget.article",
    "contact.start": "widget.start",
    "contact.submit": "widget.submit",
    "contact.sent": "widget.sent",
    "contact.solved": "widget.solved",
    "contact.resolved": "widget.resolved",
    "contact.effort": "widget.effort",
    # The contact flow's live answers: the panel's own endpoint, in the panel's session.
    "api.search": "widget.answers",
}
# The site page "Open in the help center" leads to from each panel page (default: home).
SITE_PAGES = {
    "widget.search": ("public.search", ("q", "category")),
    "widget.article": ("public.article", ()),
    "widget.start": ("contact.start", ("q",)),
}


def init_app(app: Flask, site_policy: str) -> None:
    """Register the widget's routes, its session cookie and its framing policy."""
    app.session_interface = WidgetSessionInterface()
    app.extensions["kb.widget_policy"] = panel_policy(site_policy, allowed_origins(app))
    app.register_blueprint(bp)


def panel_policy(site_policy: str, origins: frozenset[str]) -> str:
    """The site's CSP with frame-ancestors opened to the allowed origins (if any)."""
    closed = "frame-ancestors 'none'"
    if closed not in site_policy:
        raise ValueError(f"the site's policy must contain {closed!r}")
    ancestors = " ".join(sorted(origins)) or "'none'"
    return site_policy.replace(closed, f"frame-ancestors {ancestors}")


class WidgetSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, kept in a cookie of its own for the panel's requests.

    See the module docstring for why; the session's content is the site's (visit id, CSRF
    token, contact flow) plus the host page the panel was opened on.
    """

    def get_cookie_name(self, app: Flask) -> str:
        return SESSION_COOKIE if is_panel_request() else super().get_cookie_name(app)

    def get_cookie_samesite(self, app: Flask) -> str | None:
        if is_panel_request() and self.get_cookie_secure(app):
            return "None"
        return super().get_cookie_samesite(app)

    def get_cookie_partitioned(self, app: Flask) -> bool:
        if is_panel_request():
            return self.get_cookie_secure(app)
        return super().get_cookie_partitioned(app)

    def save_session(self, app: Flask, session, response) -> None:
        # widget.js is one file for everyone. Flask-Login reads the session after every
        # request, which would add "Vary: Cookie" and keep shared caches from storing it.
        if request.endpoint == "widget.script" and not session.modified:
            return
        super().save_session(app, session, response)


def is_panel_request() -> bool:
    return PANEL_PATH.match(request.path) is not None


# The script for host pages


@bp.get("/widget.js")
def script():
    """The embed script, with its few words in every language (it runs before the panel)."""
    labels = {}
    for lang in current_app.config["LANGUAGES"]:
        with force_locale(lang):
            labels[lang] = {
                "open": _("Help"),
                "close": _("Close help"),
                "title": _("Help center"),
                "dir": text_direction(lang),
            }
    body = render_template(
        "widget/widget.js", labels=labels, default_lang=current_app.config["DEFAULT_LANG"]
    )
    response = current_app.response_class(body, mimetype="application/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = SCRIPT_MAX_AGE
    return response


# Every panel request


@bp.before_request
def remember_host_page() -> None:
    """Tell kb/web/channel.py this is a widget request, on the host page of this session."""
    if request.endpoint == "widget.script":
        return
    host = session.get(HOST_KEY) or {}
    g.widget_host = (host.get("origin"), host.get("path"))


@bp.after_request
def allow_framing_by_host_sites(response):
    if request.endpoint != "widget.script":
        response.headers["Content-Security-Policy"] = current_app.extensions["kb.widget_policy"]
    return response


@bp.context_processor
def panel_context() -> dict:
    host = session.get(HOST_KEY) or {}
    return {
        "layout": "widget/base.html",
        "url_for": panel_url_for,
        "site_page_url": site_page_url,
        "panel_host_origin": host.get("origin"),
        "panel_host_known": bool(host),
    }


def panel_url_for(endpoint: str, **values) -> str:
    """``url_for`` for panel templates: site pages that have a panel version stay in the panel."""
    target = PANEL_ENDPOINTS.get(endpoint, endpoint)
    if target.startswith("widget.") and target != "widget.events":
        values.setdefault("lang", current_language())
    return url_for(target, **values)


def site_page_url() -> str:
    """This panel page's counterpart on the help center itself (for a new tab)."""
    endpoint, kept = SITE_PAGES.get(request.endpoint, ("public.home", ()))
    values = {"lang": current_language()}
    if endpoint == "public.article":
        values["slug"] = (request.view_args or {}).get("slug", "")
    values.update({name: request.args[name] for name in kept if request.args.get(name)})
    return url_for(endpoint, **values)


# The panel's own pages


@bp.get("/<lang:lang>/widget")
def home(lang: str):
    """The panel's first page: search, and answers for the host page's topic."""
    if "origin" in request.args:
        open_on_host_page()
    elif not session.get(HOST_KEY):
        abort(400, "the panel opens from a site's help button (origin is missing)")
    topic = session.get(TOPIC_KEY, "")
    topic_category, topic_name, articles = topic_answers(lang, topic)
    return render_template(
        "widget/home.html",
        articles=articles,
        topic_name=topic_name,
        topic_category=topic_category,
    )


def open_on_host_page() -> None:
    """Check the host page widget.js sent and remember it for this panel session."""
    try:
        origin = normalise_origin(request.args.get("origin", ""))
    except ValueError:
        abort(400, "origin is not an origin")
    if origin not in allowed_origins():
        abort(400, "this site may not embed the help widget")
    host = {"origin": origin, "path": host_page_path(request.args.get("path", ""))}
    session[HOST_KEY] = host
    session[TOPIC_KEY] = request.args.get("topic", "")[:TOPIC_LIMIT].strip()
    g.widget_host = (host["origin"], host["path"])


def host_page_path(value: str) -> str:
    """The host page's path only: no query string or fragment, personal data redacted.

    widget.js sends ``location.pathname`` only, but the URL is anyone's to write. Paths can
    hold personal data too (``/orders/12345678``, ``/users/sara@example.com``): redacted like
    search text, which also groups one page's many ids into one row on the dashboard.
    """
    for mark in "?#":
        value = value.split(mark, 1)[0]
    value = insights.redact(unquote(value))
    if not value.startswith("/"):
        return "/"
    return value[:PATH_LIMIT]


def topic_answers(lang: str, topic: str) -> tuple[str | None, str, list]:
    """(category, name, articles) for the host page's topic: a category's most read articles,
    else the articles matching the topic's words, else the help center's popular articles."""
    answers = library()
    if topic in answers.categories(lang):
        ranking = {key: rank for rank, key in enumerate(insights.popular_article_keys(lang, 50))}
        articles = sorted(
            answers.in_category(lang, topic),
            key=lambda article: (ranking.get(article.key, len(ranking)), article.title),
        )
        return topic, answers.category_name(topic, lang), articles[:TOPIC_ARTICLES]
    if topic:
        try:
            # Not recorded: the host page chose these words, not the customer.
            results = search_engine().search(topic, lang, limit=TOPIC_ARTICLES)
        except SearchUnavailable:
            results = None
        found = [
            article
            for hit in (results.hits if results else [])
            if (article := answers.get(hit.lang, hit.slug)) is not None
        ]
        if found:
            return None, topic, found
    return None, "", public.popular_articles(lang, TOPIC_ARTICLES)


@bp.get("/<lang:lang>/widget/articles/<slug>")
def article(lang: str, slug: str):
    found = library().get(lang, slug)
    if found is None:
        abort(404)
    search_id = request.args.get("search", type=int)
    position = request.args.get("pos", type=int)
    insights.record_article_view(
        visit_id(), found.key, search_id, position, channel=request_channel()
    )
    search = insights.find_search(search_id, visit_id()) if search_id else None
    related = [a for s in found.related if (a := library().get(lang, s))]
    return render_template(
        "widget/article.html",
        article=found,
        related=related,
        question=search.query if search else "",
        solved_form=SolvedForm(),
    )


@bp.post("/<lang:lang>/widget/articles/<slug>/solved")
def article_solved(lang: str, slug: str):
    """ "Yes, this solved my problem" under an answer read in the panel.

    The customer opened the widget from the page where they were stuck, so an answer they
    confirm there is a contact flow resolved in self-service, even when they never opened the
    contact form: a flow is started (in the widget channel) if none is open, then resolved
    exactly as the contact flow's own button does.
    """
    if library().get(lang, slug) is None:
        abort(404)
    contact.current_flow(lang)
    return contact.solved(lang)


@bp.get("/<lang:lang>/widget/contact/answers")
@limiter.limit(search_limit)
def answers(lang: str):
    """The contact flow's live answers (kb.js), like /api/search?context=contact, but in the
    panel's session (where its flow is) and linking to the panel's article view."""
    query = request.args.get("q", "")[: public.QUERY_MAX].strip()
    if len(query) < contact.MIN_QUESTION:
        return jsonify(results=[])
    try:
        results = search_engine().search(query, lang, limit=contact.SUGGESTION_COUNT)
    except SearchUnavailable:
        return jsonify(results=[]), 503
    keys = [hit.key for hit in results.hits]
    insights.attach_flow_suggestions(session.get("flow_id"), visit_id(), keys)
    return jsonify(
        results=[
            {
                "slug": hit.slug,
                "lang": hit.lang,
                "title": hit.title,
                "summary": hit.summary,
                "url": url_for("widget.article", lang=hit.lang, slug=hit.slug),
            }
            for hit in results.hits
        ]
    )


@bp.post("/api/widget/events")
@limiter.limit(search_limit)
def events():
    """The panel was opened or closed: ``{"event": "open"|"close", "lang": "ar"}`` -> 204.

    Sent by the panel page itself (same origin, CSRF token in X-CSRFToken) when widget.js tells
    it the customer opened or closed it; errors are the API's JSON errors.
    """
    if not request.is_json:
        abort(415, "send the event as application/json")
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or data.get("event") not in insights.WIDGET_EVENTS:
        abort(400, f"event must be one of {', '.join(insights.WIDGET_EVENTS)}")
    lang = data.get("lang")
    if lang not in current_app.config["LANGUAGES"]:
        abort(400, f"lang must be one of {', '.join(current_app.config['LANGUAGES'])}")
    insights.record_widget_event(visit_id(), lang, data["event"], request_channel())
    return "", 204


# The site's own views, served again inside the panel (see the module docstring).
SHARED_VIEWS = (
    ("/<lang:lang>/widget/search", "search", public.search, ("GET",)),
    ("/<lang:lang>/widget/contact", "start", contact.start, ("GET",)),
    ("/<lang:lang>/widget/contact", "submit", contact.submit, ("POST",)),
    ("/<lang:lang>/widget/contact/sent", "sent", contact.sent, ("GET",)),
    ("/<lang:lang>/widget/contact/solved", "solved", contact.solved, ("POST",)),
    ("/<lang:lang>/widget/contact/resolved", "resolved", contact.resolved, ("GET",)),
    ("/<lang:lang>/widget/contact/effort", "effort", contact.effort, ("POST",)),
)
for rule, endpoint, view, methods in SHARED_VIEWS:
    bp.add_url_rule(rule, endpoint, view, methods=list(methods))
bp.register_error_handler(CSRFError, contact.keep_the_message)
bp.register_error_handler(429, contact.keep_the_message)
