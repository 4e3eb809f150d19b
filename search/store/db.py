"""Database connection and schema migrations.

The schema comes only from the Alembic scripts in ``migrations/``. Commands that
write apply pending migrations themselves; read-only ones call
:func:`require_current_schema`, which stops with a message saying what to run.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from search.base.errors import DatabaseUnavailable, NoIndex, SchemaOutOfDate
from search.base.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def make_engine(settings: Settings, *, create: bool = False) -> Engine:
    """The one place a SQLAlchemy engine is made (see ``search.store.Store.open``).

    A SQLite file is made only when ``create`` (writers); a reader that finds
    none stops with NoIndex, saying where it looked, and leaves nothing behind.
    On PostgreSQL a reader's queries are cancelled after
    ``PAPERSEARCH_STATEMENT_TIMEOUT`` seconds, so that one slow query cannot hold a
    server's worker; writers run without a limit. Failures to reach the database
    become DatabaseUnavailable, with the URL's password hidden.
    """
    url = make_url(settings.db_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database) if url.database not in (None, "", ":memory:") else None
        if path is not None and not path.exists():
            if not create:
                raise NoIndex(
                    f"There is no papersearch data in {path.parent} (no {path.name} there). "
                    "Index a corpus into it with `papersearch index CORPUS`, or point --home "
                    "(PAPERSEARCH_HOME) at a data directory: `papersearch demo` makes "
                    "./papersearch-demo."
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        connect_args: dict = {}
        if url.get_backend_name() == "postgresql":
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
            if not create:
                milliseconds = int(settings.statement_timeout * 1000)
                connect_args["options"] = f"-c statement_timeout={milliseconds}"
        engine = create_engine(url, pool_pre_ping=True, pool_recycle=3600,
                               connect_args=connect_args)  # fmt: skip
    event.listen(engine, "handle_error", functools.partial(_unavailable, url=url))
    return engine


CONNECT_TIMEOUT_SECONDS = 10
# SQLite errors that say the database is out of reach for now, not that a query is wrong.
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")


def _unavailable(context, url) -> None:
    """Connection failures, lost connections and cancelled (too slow) queries, on any
    database, are DatabaseUnavailable: one line, the password never in it."""
    error = context.original_exception
    kind = type(error).__module__.partition(".")[0]
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    lost = context.is_disconnect or (
        kind == "psycopg" and isinstance(error, context.dialect.dbapi.OperationalError)
    )
    if kind == "sqlite3" and text.lower().startswith(_SQLITE_UNAVAILABLE):
        lost = True
    if lost:
        where = url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(f"The database {where} is unavailable: {text}") from None


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets searches read while an indexer writes; foreign keys make
    # embedding rows go with their paper.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def require_current_schema(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no papersearch schema" if current is None else f"is at {current}"
        raise SchemaOutOfDate(
            f"The database {engine.url.render_as_string(hide_password=True)} {state}; "
            f"the code needs {head}. Run `papersearch db upgrade` (or index a corpus)."
        )
