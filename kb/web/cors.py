"""CORS for the JSON API: cross-origin reads for the sites in KB_WIDGET_ORIGINS, nothing more.

A site in the list may read the GET endpoints under /api/ from its own pages (fetch/XHR):
its Origin is echoed in Access-Control-Allow-Origin, on answers and errors alike, and a
preflight for a GET or HEAD is answered. Never Access-Control-Allow-Credentials: reads are
anonymous, and the POST endpoints (feedback, widget events) stay same-origin, behind the
session cookie and CSRF token, with no CORS header at all. Every /api/ response carries
``Vary: Origin`` so a shared cache never hands one site's answer to another.

Written here rather than with Flask-Cors (6.0.5 read): its ``methods`` option only shapes
preflight answers, so a POST from an allowed origin would still get the allow header; it
adds ``Vary: Origin`` only for lists of several origins and only on matching requests; and
it treats an origin containing "[" (an IPv6 host) as a regular expression. The policy we
need is the few lines below.
"""

from __future__ import annotations

from flask import Flask, Response, request

from kb.web.origins import is_allowed_origin

API_PREFIX = "/api/"
READ_METHODS = frozenset({"GET", "HEAD"})
PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight answer


def init_app(app: Flask) -> None:
    app.after_request(add_cors_headers)


def add_cors_headers(response: Response) -> Response:
    if not request.path.startswith(API_PREFIX):
        return response
    response.vary.add("Origin")
    if not is_read_endpoint() or not is_allowed_origin(request.headers.get("Origin")):
        return response
    if request.method == "OPTIONS":
        if request.headers.get("Access-Control-Request-Method") not in READ_METHODS:
            return response
        response.headers["Access-Control-Allow-Methods"] = ", ".join(sorted(READ_METHODS))
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    elif request.method not in READ_METHODS:
        return response
    response.headers["Access-Control-Allow-Origin"] = request.headers["Origin"]
    return response


def is_read_endpoint() -> bool:
    """Whether the request was routed to an endpoint that answers GET (404/405: no)."""
    rule = request.url_rule
    return rule is not None and "GET" in (rule.methods or ())
