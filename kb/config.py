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
    # Outgoing mail for contact requests, e.g. smtp://user:pass@mail.example:587; empty = none.
    SMTP_URL = ""
    # Address that receives contact requests by e-mail.
    CONTACT_TO = ""
    # URL that receives contact requests as JSON POSTs; empty = none.
    CONTACT_WEBHOOK_URL = ""
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
