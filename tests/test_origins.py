"""KB_WIDGET_ORIGINS: the sites that may embed the widget and read the API cross-origin."""

from __future__ import annotations

import pytest

from kb import create_app
from kb.errors import ConfigError
from kb.web.origins import allowed_origins, is_allowed_origin, normalise_origin

from .conftest import app_config


@pytest.mark.parametrize(
    ("entry", "origin"),
    [
        ("https://shop.example.com", "https://shop.example.com"),
        ("HTTPS://Shop.Example.COM/", "https://shop.example.com"),
        ("https://shop.example.com:443", "https://shop.example.com"),
        ("http://shop.example.com:80/", "http://shop.example.com"),
        ("http://127.0.0.1:5001", "http://127.0.0.1:5001"),
        ("https://shop.example.com:8443", "https://shop.example.com:8443"),
        ("http://[::1]:5001", "http://[::1]:5001"),
        ("https://Bücher.example", "https://xn--bcher-kva.example"),
    ],
)
def test_origins_are_written_the_way_browsers_send_them(entry, origin):
    assert normalise_origin(entry) == origin


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("shop.example.com", "scheme must be http or https"),
        ("ftp://shop.example.com", "scheme must be http or https"),
        ("https://shop.example.com/help", "no path, query or fragment"),
        ("https://shop.example.com?x=1", "no path, query or fragment"),
        ("*", "wildcards"),
        ("https://*.example.com", "wildcards"),
        ("null", "wildcards and 'null'"),
        ("https://user:pw@shop.example.com", "no user name or password"),
        ("https://shop.example.com:99999", "port"),
        ("https://", "host is missing"),
    ],
)
def test_a_malformed_origin_stops_start_up_with_a_clear_message(tmp_path, entry, reason):
    config = app_config(tmp_path, WIDGET_ORIGINS=f"https://fine.example, {entry}")
    with pytest.raises(ConfigError, match="KB_WIDGET_ORIGINS") as error:
        create_app(config)
    assert repr(entry) in str(error.value) and reason in str(error.value)


def test_the_environment_variable_is_a_comma_separated_list(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_WIDGET_ORIGINS", " https://Shop.example.com/ ,http://127.0.0.1:5001,")
    app = create_app(app_config(tmp_path))
    assert allowed_origins(app) == {"https://shop.example.com", "http://127.0.0.1:5001"}
    with app.app_context():
        assert is_allowed_origin("https://shop.example.com")
        assert is_allowed_origin("http://127.0.0.1:5001")
        assert not is_allowed_origin("http://127.0.0.1:5002")
        assert not is_allowed_origin("https://shop.example.com.evil.example")
        assert not is_allowed_origin("null")
        assert not is_allowed_origin(None)


def test_by_default_no_site_is_allowed(tmp_path, monkeypatch):
    monkeypatch.delenv("KB_WIDGET_ORIGINS", raising=False)
    app = create_app(app_config(tmp_path))
    assert app.config["WIDGET_ORIGINS"] == ""
    assert allowed_origins(app) == frozenset()
    with app.app_context():
        assert not is_allowed_origin("http://localhost")
