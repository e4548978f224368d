"""Browser fixtures: the app served on 127.0.0.1 and Debian's Chromium driven by Playwright.

Every test gets its own app (temporary database) and its own browser context (new cookies,
so a new visit). Requests to any host but 127.0.0.1 are aborted, so tests never leave the
machine; a page that tries to load something from elsewhere, throws an uncaught script
error or breaks the Content-Security-Policy fails its test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.serving import make_server

from kb import create_app
from kb.extensions import db

from ..conftest import app_config, require_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOCAL_HOST = "127.0.0.1"
TIMEOUT_MS = 10_000


@dataclass
class LiveApp:
    """The app under test and the address it is served at."""

    app: Flask
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path


@dataclass
class PageProblems:
    """What a context's pages did wrong, checked when the test ends."""

    outside_requests: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def playwright_api():
    """playwright.sync_api, or a skip with the reason when it cannot be imported."""
    try:
        import playwright.sync_api
    except ImportError as error:
        require_service(
            f"playwright is not importable: pip install -r requirements-dev.txt ({error})"
        )
    return playwright.sync_api


@pytest.fixture(scope="session")
def browser(playwright_api) -> Iterator:
    if not CHROMIUM.exists():
        require_service(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    playwright_api.expect.set_options(timeout=TIMEOUT_MS)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@contextmanager
def serve(app: Flask) -> Iterator[LiveApp]:
    """Serve ``app`` from a background thread on a free loopback port until the block ends."""
    server = make_server(LOCAL_HOST, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="kb-live-server", daemon=True)
    thread.start()
    try:
        yield LiveApp(app=app, base_url=f"http://{LOCAL_HOST}:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def live_app(tmp_path, shared_index) -> Iterator[LiveApp]:
    """A fresh app on a temporary database, served by a background thread on a free port."""
    app = create_app(app_config(tmp_path, INDEX_DIR=str(shared_index)))
    assert not app.config["SESSION_COOKIE_SECURE"], "cookies must travel over plain http here"
    with app.app_context():
        db.create_all()
    with serve(app) as live:
        yield live


@pytest.fixture
def expect(playwright_api):
    return playwright_api.expect


@pytest.fixture
def new_context(browser) -> Iterator[Callable]:
    """Open a browser context (a new visit); keyword arguments go to ``browser.new_context``."""
    opened = []

    def open_context(**options):
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        problems = PageProblems()

        def local_only(route):
            if urlsplit(route.request.url).hostname == LOCAL_HOST:
                route.continue_()
            else:
                problems.outside_requests.append(route.request.url)
                route.abort()

        def on_console(message):
            if "Content Security Policy" in message.text:
                problems.script_errors.append(message.text)

        context.route("**/*", local_only)
        context.on("weberror", lambda error: problems.script_errors.append(str(error.error)))
        context.on("console", on_console)
        opened.append((context, problems))
        return context

    yield open_context
    for context, problems in opened:
        context.close()
        assert not problems.outside_requests, f"pages tried to leave the machine: {problems}"
        assert not problems.script_errors, f"pages had script errors: {problems}"


@pytest.fixture
def page(new_context):
    """A page in a fresh context with JavaScript on and a desktop viewport."""
    return new_context(viewport={"width": 1280, "height": 900}).new_page()
