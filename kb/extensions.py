"""Extension objects, created unbound; ``create_app`` binds them."""

from __future__ import annotations

import sqlite3

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
# Batch mode lets Alembic alter tables on SQLite (which cannot ALTER most columns).
migrate = Migrate(render_as_batch=True, compare_type=True)
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "basic"


# Marks a pooled SQLite connection switched to synchronous=FULL by `durable_writes`.
DURABLE_WRITES = "kb_durable_writes"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite in WAL mode: readers never wait for the writer, and workers share the file.

    synchronous=NORMAL: a commit costs no fsync (0.1 ms instead of 3 ms here), survives a
    crash of kb or of a worker, and may be lost only to a power cut or OS crash in its last
    moments. Contact requests are written with `durable_writes` (fsync on commit) instead.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _sqlite_normal_sync(dbapi_connection, record) -> None:
    """Back to NORMAL when a connection returns to the pool after `durable_writes`."""
    if record.info.pop(DURABLE_WRITES, False):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def durable_writes() -> None:
    """Make the session's next commit durable against power loss (SQLite: fsync it).

    Call before the first write of the transaction (SQLite refuses the change inside one).
    PostgreSQL commits durably already.
    """
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA synchronous=FULL")
        connection.info[DURABLE_WRITES] = True  # the pool connection's info: reset at checkin


def init_app(app) -> None:
    """Bind every extension to ``app``."""
    from kb.accounts import load_user_by_token
    from kb.web.i18n import select_locale

    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)
        event.listen(Pool, "checkin", _sqlite_normal_sync)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config["MIGRATIONS_DIR"]))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.user_loader(load_user_by_token)
