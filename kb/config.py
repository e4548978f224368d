"""Configuration defaults and loading.

Precedence: these defaults -> ``instance/config.py`` -> ``KB_*`` environment variables ->
the ``test_config`` passed to ``create_app`` (which replaces the instance file, so tests never
read a developer's real settings). ``os.environ`` is read nowhere else.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from kb.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Defaults:
    # Signs the session cookie (visit id, CSRF). Required outside debug and testing.
    SECRET_KEY: str | None = None
    # SQLAlchemy URL; empty means SQLite at instance/kb.sqlite3.
    DATABASE_URL = ""
    # Directory of Markdown articles, searched recursively for *.md.
    ARTICLES_DIR = str(PROJECT_ROOT / "articles")
    # Directory holding the Whoosh index (build output of `flask kb index`).
    INDEX_DIR = str(PROJECT_ROOT / "search_index")
    # Language used when the browser expresses no preference we support.
    DEFAULT_LANG = "en"
    # Languages served, comma separated; each needs articles and a UI catalogue.
    LANGUAGES = "ar,en"
    # Flask-Limiter storage; "memory://" per process, or e.g. redis://127.0.0.1:6379/0.
    RATELIMIT_STORAGE_URI = "memory://"
    # Outgoing mail for contact requests: smtp://user:pass@host:587?starttls=1 or
    # smtps://user:pass@host:465; empty = no e-mail delivery.
    SMTP_URL = ""
    # Address that receives contact requests by e-mail (also their From address).
    CONTACT_TO = ""
    # URL that receives contact requests as signed JSON POSTs; empty = none.
    CONTACT_WEBHOOK_URL = ""
    # HMAC-SHA256 key that signs each webhook POST; required when CONTACT_WEBHOOK_URL is set.
    CONTACT_WEBHOOK_SECRET = ""
    # Attempts per channel before a delivery is marked "failed" (retries back off exponentially).
    DELIVERY_MAX_ATTEMPTS = 10
    # Seconds one SMTP or webhook attempt may take before it counts as failed.
    DELIVERY_TIMEOUT = 10
    # Seconds a SQLite write waits for a lock before failing (the customer then sees an error).
    SQLITE_BUSY_TIMEOUT = 5
    # Days after which contact PII and old events are purged by `flask kb purge`.
    RETENTION_DAYS = 365
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    PROXY_COUNT = 0
    # Search results per page on the public search page.
    SEARCH_PAGE_SIZE = 10
    # Rate limits (Flask-Limiter syntax) for customer POSTs.
    CONTACT_RATE_LIMIT = "5 per minute; 30 per hour"
    FEEDBACK_RATE_LIMIT = "20 per minute"
    LOGIN_RATE_LIMIT = "5 per minute; 50 per day"
    # Rate limit per client for the JSON search and suggestion API (keystrokes: generous).
    SEARCH_RATE_LIMIT = "120 per minute"
    # Sites allowed to embed the help widget and to read the JSON API cross-origin (CORS),
    # comma separated exact origins: "https://shop.example.com,http://127.0.0.1:5001".
    # Empty = none. A malformed entry stops start-up (kb/web/origins.py).
    WIDGET_ORIGINS = ""
    # Largest request body in bytes (customer forms); larger is a 413. The editor allows 1 MB.
    MAX_CONTENT_LENGTH = 64 * 1024
    # Send cookies over HTTPS only; None = on unless debug or testing. `make run` (plain
    # http on 127.0.0.1) sets it to false.
    SESSION_COOKIE_SECURE: bool | None = None


def load_config(app: Flask, test_config: dict | None) -> None:
    """Fill ``app.config`` in precedence order and resolve paths."""
    app.config.from_object(Defaults)
    if test_config is None:  # tests never read the real instance/ folder
        app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("KB")
    if test_config:
        app.config.update(test_config)

    if not app.config["SECRET_KEY"] and not (app.debug or app.testing):
        raise ConfigError(
            "KB_SECRET_KEY is not set. Set it in the environment or as SECRET_KEY in "
            f"{Path(app.instance_path) / 'config.py'} (`make run` creates one)."
        )
    instance = Path(app.instance_path)
    app.config["ARTICLES_DIR"] = Path(app.config["ARTICLES_DIR"]).resolve()
    app.config["INDEX_DIR"] = Path(app.config["INDEX_DIR"]).resolve()
    url = app.config["DATABASE_URL"] or f"sqlite:///{instance / 'kb.sqlite3'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("sqlite"):
        # Copies, so that a test_config's dicts are never changed behind its back.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("timeout", float(app.config["SQLITE_BUSY_TIMEOUT"]))
        options["connect_args"] = connect_args
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    app.config["LANGUAGES"] = _as_list(app.config["LANGUAGES"])
    app.config["MIGRATIONS_DIR"] = PROJECT_ROOT / "migrations"
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", str(PROJECT_ROOT / "kb" / "translations")
    )
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = not (app.debug or app.testing)
    app.config.setdefault("MAX_CONTENT_LENGTH", 64 * 1024)


def _as_list(value: str | list[str]) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return list(value)
