"""Configuration precedence and the start-up checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb import create_app
from kb.errors import ConfigError


def test_missing_secret_key_stops_start_up_outside_debug_and_testing(monkeypatch):
    monkeypatch.delenv("KB_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="KB_SECRET_KEY is not set"):
        create_app({"DATABASE_URL": "sqlite://"})


def test_environment_overrides_defaults_and_test_config_overrides_environment(monkeypatch):
    monkeypatch.setenv("KB_DEFAULT_LANG", "ar")
    monkeypatch.setenv("KB_LANGUAGES", "ar,en")
    monkeypatch.setenv("KB_PROXY_COUNT", "2")
    app = create_app({"TESTING": True, "PROXY_COUNT": 1})
    assert app.config["DEFAULT_LANG"] == "ar"
    assert app.config["LANGUAGES"] == ["ar", "en"]
    assert app.config["PROXY_COUNT"] == 1


def test_paths_are_absolute_and_sqlite_is_the_default_database(monkeypatch):
    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    app = create_app({"TESTING": True, "ARTICLES_DIR": "relative/articles"})
    assert Path(app.config["ARTICLES_DIR"]).is_absolute()
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/kb.sqlite3")


def test_cookies_are_secure_httponly_and_lax_outside_debug(monkeypatch):
    monkeypatch.setenv("KB_SECRET_KEY", "x")
    app = create_app({"DATABASE_URL": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    monkeypatch.setenv("KB_SESSION_COOKIE_SECURE", "false")
    assert create_app({"DATABASE_URL": "sqlite://"}).config["SESSION_COOKIE_SECURE"] is False
