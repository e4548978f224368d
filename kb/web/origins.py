"""The sites allowed to embed the help widget and to read the JSON API cross-origin.

``KB_WIDGET_ORIGINS`` lists exact origins ("https://shop.example.com,http://127.0.0.1:5001").
They are compared with the browser's ``Origin`` header, which is always scheme://host[:port]
in lower case with the default port left out, so each entry is normalised to that form once,
when the app is created; an entry that is not an origin stops start-up (a typo would otherwise
silently lock a site out, or a "*" silently let every site in).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app

from kb.errors import ConfigError

DEFAULT_PORTS = {"http": 80, "https": 443}
EXTENSION_KEY = "kb.widget_origins"


def init_app(app: Flask) -> None:
    """Parse ``WIDGET_ORIGINS`` once; a bad entry raises ``ConfigError`` here, at start-up."""
    app.extensions[EXTENSION_KEY] = parse_origins(app.config.get("WIDGET_ORIGINS", ""))


def allowed_origins(app: Flask | None = None) -> frozenset[str]:
    """The normalised allowed origins of ``app`` (default: the current app); may be empty."""
    app = app or current_app
    if EXTENSION_KEY not in app.extensions:
        init_app(app)
    return app.extensions[EXTENSION_KEY]


def is_allowed_origin(origin: str | None, app: Flask | None = None) -> bool:
    """Whether ``origin`` (e.g. a request's Origin header) is one of the allowed origins."""
    if not origin:
        return False
    try:
        return normalise_origin(origin) in allowed_origins(app)
    except ValueError:
        return False


def parse_origins(value: str | list[str] | tuple[str, ...] | None) -> frozenset[str]:
    """Normalised origins from a comma-separated string (or a list, from a test config)."""
    if not value:
        return frozenset()
    entries = value.split(",") if isinstance(value, str) else list(value)
    origins = set()
    for entry in entries:
        entry = str(entry).strip()
        if not entry:
            continue
        try:
            origins.add(normalise_origin(entry))
        except ValueError as error:
            raise ConfigError(
                f"KB_WIDGET_ORIGINS: {entry!r} is not an origin ({error}); write each site as "
                "scheme://host[:port], e.g. https://shop.example.com, separated by commas."
            ) from error
    return frozenset(origins)


def normalise_origin(value: str) -> str:
    """``value`` as a browser sends it in ``Origin``: lower-case scheme://host[:port].

    Raises ``ValueError`` saying what is wrong when ``value`` is not an http(s) origin.
    """
    value = value.strip()
    if value in {"*", "null"}:
        raise ValueError("wildcards and 'null' are not allowed, list each site")
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("the scheme must be http or https")
    if parts.username is not None or parts.password is not None:
        raise ValueError("an origin has no user name or password")
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise ValueError("an origin has no path, query or fragment")
    host = parts.hostname  # lower-cased by urlsplit, brackets of IPv6 removed
    if not host:
        raise ValueError("the host is missing")
    if "*" in host:
        raise ValueError("wildcards are not allowed, list each site")
    try:
        port = parts.port
    except ValueError as error:
        raise ValueError("the port is not a number between 0 and 65535") from error
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")  # browsers send the punycode form
        except UnicodeError as error:
            raise ValueError("the host is not a valid domain name") from error
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"
