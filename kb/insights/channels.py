"""Where an event came from: kb's own pages, the help widget on another site, or the JSON API.

A widget event also names the host page the customer was on (origin and path), so the
dashboard can show where on a shop customers get stuck. Only the path is kept: a page's query
string and fragment may hold personal data (order numbers, e-mail addresses, tokens), so they
are cut off here, whatever the caller passed.
"""

from __future__ import annotations

from dataclasses import dataclass

SITE = "site"
WIDGET = "widget"
API = "api"
# In the order the dashboard lists them.
CHANNELS = (SITE, WIDGET, API)
ORIGIN_LIMIT = 200
PATH_LIMIT = 500


@dataclass(frozen=True)
class Channel:
    """The channel of an event; ``host_origin``/``host_path`` only for the widget.

    Values are cleaned on construction: the path loses its query string and fragment and is
    capped at PATH_LIMIT characters; an origin that is not ``http(s)://...`` or is longer than
    ORIGIN_LIMIT is dropped, and a path without an origin is dropped with it (a bare path says
    nothing about which site it was on). The caller checks the origin against the allowed
    origins (``kb.web.channel``); this module knows no configuration.
    """

    name: str
    host_origin: str | None = None
    host_path: str | None = None

    def __post_init__(self) -> None:
        if self.name not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}, not {self.name!r}")
        origin = clean_origin(self.host_origin)
        path = clean_path(self.host_path) if origin is not None else None
        if self.name != WIDGET and origin is not None:
            raise ValueError("only widget events have a host page")
        object.__setattr__(self, "host_origin", origin)
        object.__setattr__(self, "host_path", path)


def clean_origin(value: str | None) -> str | None:
    """``value`` when it looks like an http(s) origin that fits the column, else None."""
    if not value:
        return None
    value = value.strip()
    if len(value) > ORIGIN_LIMIT or not value.startswith(("http://", "https://")):
        return None
    host = value.split("://", 1)[1]
    if not host or _has_control_characters(host) or any(mark in host for mark in "/?#@ \\"):
        return None
    return value


def clean_path(value: str | None) -> str | None:
    """The path part of ``value`` only: cut at the first ``?`` or ``#``, capped; None if empty.

    A value that does not start with ``/`` is not a path (perhaps a whole URL): dropped rather
    than guessed at.
    """
    if not value:
        return None
    for mark in "?#":
        value = value.split(mark, 1)[0]
    value = "".join(char for char in value if not _is_control(char))
    if not value.startswith("/"):
        return None
    return value[:PATH_LIMIT]


def _is_control(char: str) -> bool:
    return ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0


def _has_control_characters(value: str) -> bool:
    return any(_is_control(char) for char in value)


# The channel of rows recorded without one.
SITE_CHANNEL = Channel(SITE)
