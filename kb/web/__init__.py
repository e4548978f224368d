"""Blueprints: the only request-bound code in kb."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter

from kb.web import admin, api, auth, contact, editor, errors, public, services
from kb.web.contacts_admin import bp as contacts_admin_bp
from kb.web.dashboard import bp as dashboard_bp
from kb.web.gaps import bp as gaps_bp
from kb.web.i18n import template_context
from kb.web.notices import bp as notices_bp
from kb.web.notices_admin import bp as notices_admin_bp

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
    app.url_map.converters["lang"] = language_converter(app.config["LANGUAGES"])
    services.init_app(app)
    for blueprint in (public.bp, contact.bp, api.bp, auth.bp, admin.bp, editor.bp):
        app.register_blueprint(blueprint)
    for blueprint in (notices_bp, contacts_admin_bp, notices_admin_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(gaps_bp)
    errors.init_app(app)
    app.context_processor(template_context)
    app.after_request(add_security_headers)
    if app.config["PROXY_COUNT"]:
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def language_converter(languages: list[str]) -> type[BaseConverter]:
    """A URL converter matching only the configured languages (anything else is a 404)."""

    class LanguageConverter(BaseConverter):
        regex = "|".join(sorted(languages, key=len, reverse=True))

    return LanguageConverter


def add_security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response
