"""Blueprints: the only request-bound code in kb."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter

from kb.web import (
    admin,
    api,
    auth,
    contact,
    cors,
    editor,
    errors,
    origins,
    public,
    services,
    widget,
)
from kb.web.contacts_admin import bp as contacts_admin_bp
from kb.web.dashboard import bp as dashboard_bp
from kb.web.gaps import bp as gaps_bp
from kb.web.i18n import template_context
from kb.web.notices import bp as notices_bp
from kb.web.notices_admin import bp as notices_admin_bp
from kb.web.services import library

# Directives every response's policy must hold, also one a view set itself (the SVG charts).
REQUIRED_DIRECTIVES = {
    "object-src": "object-src 'none'",
    "base-uri": "base-uri 'none'",
    "frame-ancestors": "frame-ancestors 'none'",
}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    origins.init_app(app)  # first: a malformed KB_WIDGET_ORIGINS stops start-up
    app.url_map.converters["lang"] = language_converter(app.config["LANGUAGES"])
    services.init_app(app)
    for blueprint in (public.bp, contact.bp, api.bp, auth.bp, admin.bp, editor.bp):
        app.register_blueprint(blueprint)
    for blueprint in (notices_bp, contacts_admin_bp, notices_admin_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(gaps_bp)
    widget.init_app(app, CONTENT_SECURITY_POLICY)  # the help widget's script and panel
    errors.init_app(app)
    app.context_processor(template_context)
    app.add_template_global(article_html)
    app.before_request(refuse_cross_site_writes)
    app.after_request(add_security_headers)
    cors.init_app(app)
    if app.config["PROXY_COUNT"]:
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def language_converter(languages: list[str]) -> type[BaseConverter]:
    """A URL converter matching only the configured languages (anything else is a 404)."""

    class LanguageConverter(BaseConverter):
        regex = "|".join(sorted(languages, key=len, reverse=True))

    return LanguageConverter


def article_html(article) -> str | None:
    """Template global: an article's cached HTML (None when not cached; never renders)."""
    return library().html(article)


def refuse_cross_site_writes() -> None:
    """400 for a POST (or other unsafe method) another site's page sent.

    Flask-WTF checks the Referer only over HTTPS; browsers send Origin on every cross-site
    POST and Sec-Fetch-Site on all requests, so this also holds on plain HTTP. Requests
    without either header (curl, old browsers) still need a valid CSRF token.
    """
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        abort(400, "cross-site request refused")
    origin = request.headers.get("Origin")
    if origin is None:
        return
    parts = urlsplit(origin)
    if origin == "null" or (parts.scheme, parts.netloc) != (request.scheme, request.host):
        abort(400, "cross-site request refused")


def add_security_headers(response):
    policy = response.headers.get("Content-Security-Policy")
    if policy is None:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    else:
        present = {part.split()[0] for part in policy.split(";") if part.strip()}
        missing = [rule for name, rule in REQUIRED_DIRECTIVES.items() if name not in present]
        if missing:
            response.headers["Content-Security-Policy"] = "; ".join([policy, *missing])
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]:
        # For browsers without frame-ancestors. It has no allow list, so it is left out of the
        # widget's panel pages, which KB_WIDGET_ORIGINS may frame (kb/web/widget.py).
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response
