"""Shared fixtures: an app on a temporary database, built from tests/fixtures/articles.

Every app a test builds with ``app_config`` gets a database of its own: a SQLite file in the
test's ``tmp_path`` by default, or, with ``KB_TEST_DATABASE=postgresql`` (`make
test-postgres`), a private schema on the PostgreSQL server of ``KB_TEST_DATABASE_URL`` that is
dropped when the test ends, pass or fail. Tests about SQLite itself are marked ``sqlite`` and
left out of the PostgreSQL pass; tests marked ``postgres`` always use the server.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
import weakref
from pathlib import Path

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from kb import create_app
from kb.content import load_articles, load_synonyms
from kb.content.html_cache import write_html_cache
from kb.extensions import db
from kb.search import build_index

FIXTURE_ARTICLES = Path(__file__).parent / "fixtures" / "articles"
TEST_DATABASES = ("sqlite", "postgresql")
SCHEMA_PREFIX = "kb_test_"
# Seconds after which a test schema is a killed run's leftover: no run lasts this long.
STALE_SCHEMA_AGE = 12 * 3600
# Seconds a schema drop waits for a lock before the test errors out instead of hanging.
DROP_LOCK_TIMEOUT = 20


class PrivateSchemas:
    """Schemas on one PostgreSQL server, one per test database, dropped when the test ends.

    Connections to a schema carry its name as ``application_name``: when the test ends, engines
    opened on it are disposed and any connection still open (a test that never disposed its
    engine, a server subprocess) is terminated before the schema is dropped, so nothing leaks
    and the drop never waits on a forgotten connection.
    """

    def __init__(self, server_url: str):
        self.server_url = server_url
        self.engine = sa.create_engine(server_url, pool_size=1, max_overflow=1)
        # One prefix per pytest process (xdist workers included): the sweep at the end of the
        # session drops only this process's leftovers, never a concurrent run's schemas. The
        # time in it lets a later run drop what a killed run left (see sweep_stale).
        self.prefix = f"{SCHEMA_PREFIX}{int(time.time())}_{uuid.uuid4().hex[:8]}_"
        self.swept_stale = False
        self.for_test: list[str] = []
        self.by_directory: dict[Path, str] = {}
        self.engines: weakref.WeakSet[sa.Engine] = weakref.WeakSet()
        sa.event.listen(sa.Engine, "engine_connect", self._remember_engine)

    def reachable(self) -> str | None:
        """None when the server answers, else why not."""
        try:
            with self.engine.connect():
                return None
        except sa.exc.OperationalError as error:
            return str(error)

    def create(self) -> str:
        """A new empty schema, dropped at the end of the running test; returns its URL."""
        if not self.swept_stale:
            self.swept_stale = True
            self.sweep_stale()
        schema = f"{self.prefix}{uuid.uuid4().hex[:12]}"
        with self.engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        self.for_test.append(schema)
        url = sa.make_url(self.server_url).update_query_dict(
            {"options": f"-csearch_path={schema}", "application_name": schema}
        )
        return url.render_as_string(hide_password=False)

    def for_directory(self, directory: Path) -> str:
        """The URL of the schema that stands for ``directory``'s SQLite file in this test."""
        if directory not in self.by_directory:
            self.by_directory[directory] = self.create()
        return self.by_directory[directory]

    def drop_the_tests_schemas(self) -> None:
        schemas, self.for_test = self.for_test, []
        self.by_directory.clear()
        for engine in list(self.engines):
            engine.dispose()
        self.engines.clear()
        problems = []
        for schema in schemas:
            try:
                self.drop(schema)
            except sa.exc.SQLAlchemyError as error:
                problems.append(f"{schema}: {error}")
        assert not problems, f"test schemas could not be dropped: {problems}"

    def drop(self, schema: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.text(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}s'"))
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = :schema AND pid <> pg_backend_pid()"
                ),
                {"schema": schema},
            )
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))

    def sweep(self) -> None:
        """Drop whatever this process left behind (a failed drop), then close the pool."""
        try:
            with self.engine.connect() as connection:
                leftovers = connection.scalars(
                    sa.text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :p)"),
                    {"p": self.prefix},
                ).all()
            for schema in leftovers:
                self.drop(schema)
        finally:
            sa.event.remove(sa.Engine, "engine_connect", self._remember_engine)
            self.engine.dispose()

    def sweep_stale(self) -> None:
        """Drop schemas that runs killed long ago left behind (their drop never ran)."""
        with self.engine.connect() as connection:
            names = connection.scalars(
                sa.text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :p)"),
                {"p": SCHEMA_PREFIX},
            ).all()
        for name in names:
            created = name.removeprefix(SCHEMA_PREFIX).split("_", 1)[0]
            if created.isdigit() and int(created) < time.time() - STALE_SCHEMA_AGE:
                try:
                    self.drop(name)
                except sa.exc.SQLAlchemyError:
                    pass  # another process dropped it first

    def _remember_engine(self, connection: sa.Connection) -> None:
        name = connection.engine.url.query.get("application_name")
        if isinstance(name, str) and name.startswith(self.prefix):
            self.engines.add(connection.engine)


# The database of the run (KB_TEST_DATABASE) and the PostgreSQL servers in use, per URL.
_run = {"database": "sqlite"}
_servers: dict[str, PrivateSchemas] = {}


def on_postgresql() -> bool:
    """True in the PostgreSQL pass: apps under test use PostgreSQL instead of SQLite."""
    return _run["database"] == "postgresql"


def postgres_server(url: str) -> PrivateSchemas:
    if url not in _servers:
        _servers[url] = PrivateSchemas(url)
    return _servers[url]


def pytest_configure(config):
    database = os.environ.get("KB_TEST_DATABASE", "sqlite") or "sqlite"
    if database not in TEST_DATABASES:
        raise pytest.UsageError(f"KB_TEST_DATABASE={database!r}: use one of {TEST_DATABASES}")
    _run["database"] = database
    if database == "postgresql":
        url = os.environ.get("KB_TEST_DATABASE_URL")
        if not url:
            raise pytest.UsageError("KB_TEST_DATABASE=postgresql needs KB_TEST_DATABASE_URL")
        problem = postgres_server(url).reachable()
        if problem:
            raise pytest.UsageError(f"PostgreSQL at KB_TEST_DATABASE_URL is unreachable: {problem}")


def pytest_report_header(config):
    if on_postgresql():
        url = sa.make_url(os.environ["KB_TEST_DATABASE_URL"])
        return [
            f"database: PostgreSQL at {url.render_as_string()} (a private schema per test),"
            " tests marked sqlite left out"
        ]
    return ["database: SQLite (a file per test); KB_TEST_DATABASE=postgresql for PostgreSQL"]


def pytest_collection_modifyitems(config, items):
    if not on_postgresql():
        return
    about_sqlite = [item for item in items if item.get_closest_marker("sqlite")]
    if about_sqlite:
        config.hook.pytest_deselected(items=about_sqlite)
        items[:] = [item for item in items if not item.get_closest_marker("sqlite")]


def pytest_sessionfinish(session):
    for server in _servers.values():
        server.sweep()
    _servers.clear()


@pytest.fixture(autouse=True)
def _drop_private_schemas():
    """Drop the PostgreSQL schemas the test created, after all its other fixtures ended."""
    yield
    for server in _servers.values():
        server.drop_the_tests_schemas()


def database_url(tmp_path: Path) -> str:
    """The test's database, as SQLite would keep it in ``tmp_path``: same path, same database.

    In the PostgreSQL pass this is a private schema instead, so give this URL (not a
    ``sqlite:///`` path) to anything that opens the test's database, subprocesses included.
    """
    if on_postgresql():
        return postgres_server(os.environ["KB_TEST_DATABASE_URL"]).for_directory(tmp_path)
    return f"sqlite:///{tmp_path / 'kb.sqlite3'}"


def drop_table(table: sa.Table) -> None:
    """Drop ``table`` from the current app's database: a real failure for code that uses it.

    On PostgreSQL the foreign keys that point at it go too (SQLite does not enforce them).
    """
    with db.engine.begin() as connection:
        cascade = " CASCADE" if connection.dialect.name == "postgresql" else ""
        connection.execute(sa.text(f'DROP TABLE "{table.name}"{cascade}'))


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
    """Test settings; the database is ``database_url(tmp_path)`` unless DATABASE_URL is given."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "ARTICLES_DIR": str(FIXTURE_ARTICLES),
        "INDEX_DIR": str(tmp_path / "no-index"),
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    if "DATABASE_URL" not in config:
        config["DATABASE_URL"] = database_url(tmp_path)
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
    url = os.environ.get("KB_TEST_DATABASE_URL")
    if not url:
        require_service("KB_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
    server = postgres_server(url)
    problem = server.reachable()
    if problem:
        require_service(f"PostgreSQL at KB_TEST_DATABASE_URL is unreachable: {problem}")
    return server.create()


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
