"""Error pages in the visitor's language, and JSON errors under /api."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import force_locale
from werkzeug.exceptions import HTTPException, InternalServerError

from kb.extensions import db
from kb.web.i18n import preferred_language

logger = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)


def handle_http_error(error: HTTPException):
    # The error's own headers (Allow on a 405, Retry-After...) but not its Content-Type.
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    if request.path.startswith("/api/"):
        # The API error format (documented in kb/web/openapi.py): code is the HTTP status.
        body = {"error": {"code": error.code, "message": error.description or error.name}}
        return jsonify(body), error.code, headers
    g.lang = language_of_path()
    with force_locale(g.lang):
        page = render_template("errors/error.html", error=error)
    return page, error.code, headers


def handle_unexpected_error(error: Exception):
    db.session.rollback()
    logger.exception("unhandled error on %s", request.path)
    return handle_http_error(InternalServerError())


def language_of_path() -> str:
    """The language prefix of the URL, even when routing failed (404)."""
    first = request.path.strip("/").split("/", 1)[0]
    if first in current_app.config["LANGUAGES"]:
        return first
    return preferred_language()
