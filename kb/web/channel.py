"""The channel of the current request, recorded with every event it causes.

- the help widget: a panel page sets ``g.widget_host`` to the host page's ``(origin, path)``;
  the origin is kept only when it is one of ``KB_WIDGET_ORIGINS`` (anyone can put any origin
  in a URL), and the path never with its query string or fragment (kb.insights.channels);
- the JSON API blueprint: "api";
- everything else: kb's own pages, "site".
"""

from __future__ import annotations

from flask import g, request

from kb.insights import Channel
from kb.insights.channels import API, SITE, WIDGET
from kb.web.origins import allowed_origins, normalise_origin


def request_channel() -> Channel:
    """The channel (and for the widget, the host page) of the current request."""
    host = g.get("widget_host")
    if host is not None:
        return widget_channel(*_origin_and_path(host))
    if "api" in request.blueprints:
        return Channel(API)
    return Channel(SITE)


def widget_channel(origin: str | None, path: str | None) -> Channel:
    """The widget channel on this host page; without the page if its origin is not allowed."""
    try:
        origin = normalise_origin(origin) if origin else None
    except ValueError:
        origin = None
    if origin is None or origin not in allowed_origins():
        return Channel(WIDGET)
    return Channel(WIDGET, origin, path)


def _origin_and_path(host: object) -> tuple[str | None, str | None]:
    """``g.widget_host`` as a pair; a dict like the widget session's is accepted too."""
    if isinstance(host, dict):
        host = (host.get("origin"), host.get("path"))
    if isinstance(host, tuple | list) and len(host) == 2:
        origin, path = host
        return (
            origin if isinstance(origin, str) else None,
            path if isinstance(path, str) else None,
        )
    return None, None
