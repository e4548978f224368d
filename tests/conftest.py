"""Shared fixtures: an app on a temporary database, built from tests/fixtures/articles."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from kb import create_app
from kb.content import load_articles, load_synonyms
from kb.content.html_cache import write_html_cache
from kb.extensions import db
from kb.search import build_index

FIXTURE_ARTICLES = Path(__file__).parent / "fixtures" / "articles"


def make_index(articles_dir: Path, index_dir: Path) -> Path:
    articles, problems = load_articles(articles_dir)
    assert not problems, problems
    synonyms, _ = load_synonyms(articles_dir)
    build_index(index_dir, [a for a in articles if a.published], synonyms)
    write_html_cache(index_dir, articles)
    return index_dir


@pytest.fixture(scope="session")
def shared_index(tmp_path_factory) -> Path:
    """A read-only index of the fixture articles, for tests that only search."""
    return make_index(FIXTURE_ARTICLES, tmp_path_factory.mktemp("index"))


def app_config(tmp_path: Path, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kb.sqlite3'}",
        "ARTICLES_DIR": str(FIXTURE_ARTICLES),
        "INDEX_DIR": str(tmp_path / "no-index"),
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    return config


@pytest.fixture
def app(tmp_path, shared_index):
    app = create_app(app_config(tmp_path, INDEX_DIR=str(shared_index)))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def writable_app(tmp_path):
    """An app whose articles and index are private copies, for tests that change them."""
    articles = tmp_path / "articles"
    shutil.copytree(FIXTURE_ARTICLES, articles)
    index = make_index(articles, tmp_path / "index")
    app = create_app(app_config(tmp_path, ARTICLES_DIR=str(articles), INDEX_DIR=str(index)))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def csrf_token(response) -> str:
    """The CSRF token of the first form on a page."""
    field = page(response).find("input", attrs={"name": "csrf_token"})
    assert field is not None, "page has no CSRF token"
    return field["value"]


def textarea_text(html: BeautifulSoup, name: str) -> str:
    """A textarea's value as a browser sees it (one leading newline is not part of it)."""
    text = html.find("textarea", attrs={"name": name}).get_text()
    return text.removeprefix("\r\n").removeprefix("\n")


def require_service(reason: str) -> None:
    """Skip with ``reason``, unless CI said the services must be there (then fail)."""
    if os.environ.get("KB_REQUIRE_SERVICES"):
        pytest.fail(f"{reason} (KB_REQUIRE_SERVICES is set, so this must not be skipped)")
    pytest.skip(reason)


@pytest.fixture
def postgres_url():
    """A private schema on the PostgreSQL server of KB_TEST_DATABASE_URL, dropped afterwards."""
    import sqlalchemy as sa

    url = os.environ.get("KB_TEST_DATABASE_URL")
    if not url:
        require_service("KB_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        require_service(f"PostgreSQL at KB_TEST_DATABASE_URL is unreachable: {error}")
    schema = f"kb_test_{uuid.uuid4().hex[:12]}"
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    yield f"{url}{separator}options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


STAFF_PASSWORD = "correct horse battery"


@pytest.fixture
def staff(app):
    """One user per role, all with STAFF_PASSWORD; returns {role: email}."""
    from kb.accounts import ROLES, create_user

    with app.app_context():
        return {
            role: create_user(f"{role}@kb.example", STAFF_PASSWORD, role).email for role in ROLES
        }


def log_in(client, email: str, password: str = STAFF_PASSWORD, next_url: str | None = None):
    login_page = client.get("/admin/login")
    url = "/admin/login" + (f"?next={next_url}" if next_url else "")
    return client.post(
        url, data={"email": email, "password": password, "csrf_token": csrf_token(login_page)}
    )


SHARED_EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"


@pytest.fixture(scope="session")
def shared_eval() -> Path:
    """The third-party evaluation material in ../shared/eval (read in place, never copied)."""
    if not SHARED_EVAL.is_dir():
        require_service(f"{SHARED_EVAL} is missing: the evaluation material sits beside the repo")
    return SHARED_EVAL
