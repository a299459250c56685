"""Shared fixtures: a store on SQLite and on PostgreSQL, an application, a clock, SMTP peers.

Every test that takes ``database_url`` (directly or through ``app``) runs
twice: on a SQLite file and on the PostgreSQL server named by
``INCASSO_TEST_POSTGRES_URL`` (default: database ``test`` on 127.0.0.1:5432),
each PostgreSQL run in a schema of its own that is dropped afterwards. When
that server is unreachable the PostgreSQL runs are skipped, unless
``INCASSO_REQUIRE_POSTGRES=1`` (set by CI) turns that into a failure.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from incasso.app.context import Application, build_application
from incasso.app.settings import Settings

POSTGRES_URL = os.environ.get(
    "INCASSO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("INCASSO_REQUIRE_POSTGRES") == "1"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _postgres_dsn() -> str:
    return POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://", 1)


def _postgres_reachable() -> str | None:
    try:
        with psycopg.connect(_postgres_dsn(), connect_timeout=3):
            return None
    except psycopg.Error as err:
        return str(err)


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """Yield the URL of an empty database: a SQLite file in ``folder`` or a PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'incasso.db'}"
        return

    problem = _postgres_reachable()
    if problem is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required but unreachable: {problem}")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} unreachable: {problem}")

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_postgres_dsn(), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(_postgres_dsn(), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test, on each backend in turn."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@dataclass
class Clock:
    """A clock the test moves by hand; starts on a Monday morning in Brussels."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 16, 8, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    """Settings isolated from the environment: everything under ``tmp_path``."""
    values: dict[str, object] = {
        "data_dir": tmp_path / "var",
        "database_url": database_url,
        # In-process extraction keeps the many intake tests fast; tests of the worker
        # process, the corpus and `incasso serve` run with isolation on.
        "extraction_isolated": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def app(tmp_path: Path, database_url: str, clock: Clock) -> Iterator[Application]:
    """The wired application on a fresh store, with the outbox writing to a folder."""
    application = build_application(make_settings(tmp_path, database_url), clock=clock)
    yield application
    application.close()


@dataclass
class SmtpSink:
    """A real SMTP server on loopback that keeps every message it accepts."""

    host: str
    port: int
    messages: list[tuple[Envelope, bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append((envelope, envelope.original_content or b""))
        return "250 2.0.0 Kept"


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink("127.0.0.1", free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip corpus tests unless INCASSO_CORPUS names the corpus folder."""
    corpus = os.environ.get("INCASSO_CORPUS")
    if corpus and Path(corpus).is_dir():
        return
    skip = pytest.mark.skip(reason="set INCASSO_CORPUS to the corpus folder to run this test")
    for item in items:
        if "corpus" in item.keywords:
            item.add_marker(skip)
