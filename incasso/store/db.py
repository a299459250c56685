"""Engine and session setup, and schema migration to the newest revision.

SQLite runs in WAL mode with a busy timeout, so the SMTP receiver, the
scheduler and the web view of one ``incasso serve`` can share the file
without "database is locked" killing a thread. Every SQLite transaction
starts with ``BEGIN IMMEDIATE``: it takes the write lock at its start, so
a check-then-insert (is this step queued already?) cannot interleave with
another writer's, and a transaction never fails halfway when it upgrades
from reading to writing. Readers in WAL mode are not blocked by it.
PostgreSQL needs nothing special here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

# Milliseconds a SQLite connection waits for another writer before it fails.
SQLITE_BUSY_TIMEOUT_MS = 15_000
# Execution option that marks a connection's transaction as read-only.
READ_ONLY = "incasso_read_only"


def make_engine(url: str, **options: Any) -> Engine:
    """Create an engine for ``url``; SQLite files get their folder, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        _ensure_sqlite_folder(url)
        # The driver's own transaction handling is switched off; _begin_immediate replaces it.
        engine = create_engine(url, connect_args={"isolation_level": None}, **options)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, **options)


def _ensure_sqlite_folder(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    # A read-only transaction takes no write lock, so it never waits for a writer.
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session, commit when the block ends normally, roll back when it raises."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def read_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session for reading only; on SQLite it takes no write lock."""
    with factory() as session:
        session.connection(execution_options={READ_ONLY: True})
        try:
            yield session
        finally:
            session.rollback()


def alembic_config(engine: Engine) -> Config:
    """Build the Alembic configuration for the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("incasso.store") / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade_schema(engine: Engine) -> None:
    """Bring the database to the newest schema revision (a no-op when it is there)."""
    command.upgrade(alembic_config(engine), "head")
    logger.debug("schema at head url=%s", engine.url.render_as_string(hide_password=True))
