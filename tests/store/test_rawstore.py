"""Both raw stores keep bytes under their hash, once, and notice damage."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from incasso.store.db import make_engine, make_session_factory, transaction, upgrade_schema
from incasso.store.models import Blob
from incasso.store.rawstore import DatabaseRawStore, FolderRawStore, RawStore, RawStoreError
from tests.conftest import fresh_database


@contextmanager
def database_raw_store(kind: str, folder: Path) -> Iterator[DatabaseRawStore]:
    with fresh_database(kind, folder) as url:
        engine = make_engine(url)
        upgrade_schema(engine)
        yield DatabaseRawStore(make_session_factory(engine))
        engine.dispose()


@pytest.fixture
def database_store(database_url: str) -> Iterator[DatabaseRawStore]:
    engine = make_engine(database_url)
    upgrade_schema(engine)
    yield DatabaseRawStore(make_session_factory(engine))
    engine.dispose()


@pytest.fixture(
    params=[
        "folder",
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RawStore]:
    if request.param == "folder":
        yield FolderRawStore(tmp_path / "raw")
        return
    with database_raw_store(request.param, tmp_path) as database:
        yield database


def test_put_returns_hash_and_get_returns_bytes(store: RawStore) -> None:
    data = b"From: a@b.test\r\n\r\nhello\r\n"

    digest = store.put(data)

    assert digest == hashlib.sha256(data).hexdigest()
    assert store.get(digest) == data


def test_get_missing_blob_names_hash(store: RawStore) -> None:
    digest = hashlib.sha256(b"never stored").hexdigest()

    with pytest.raises(RawStoreError, match=digest):
        store.get(digest)


def test_get_rejects_non_hash(store: RawStore) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        store.get("../../etc/passwd")


def test_folder_layout_and_single_file(tmp_path: Path) -> None:
    store = FolderRawStore(tmp_path / "raw")

    first = store.put(b"same")
    second = store.put(b"same")

    assert first == second
    assert store.path_for(first).parent.name == first[:2]
    files = [path for path in (tmp_path / "raw").rglob("*") if path.is_file()]
    assert len(files) == 1


def test_folder_detects_damaged_blob(tmp_path: Path) -> None:
    store = FolderRawStore(tmp_path / "raw")
    digest = store.put(b"original")
    store.path_for(digest).write_bytes(b"tampered")

    with pytest.raises(RawStoreError, match="damaged"):
        store.get(digest)


def test_folder_put_into_unwritable_folder_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "raw"
    blocker.write_bytes(b"a file where the folder should be")

    with pytest.raises(RawStoreError, match="cannot store"):
        FolderRawStore(blocker).put(b"data")


def test_database_same_bytes_twice_one_row(database_store: DatabaseRawStore) -> None:
    database_store.put(b"same")
    database_store.put(b"same")

    with transaction(database_store.factory) as session:
        assert session.scalar(select(func.count()).select_from(Blob)) == 1


def test_database_put_joins_the_callers_transaction(database_store: DatabaseRawStore) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction(database_store.factory) as session:
        digest = database_store.put(b"rolled back", session=session)
        raise Abort

    with pytest.raises(RawStoreError, match="missing"):
        database_store.get(digest)


def test_database_detects_damaged_blob(database_store: DatabaseRawStore) -> None:
    digest = database_store.put(b"original")
    with transaction(database_store.factory) as session:
        session.execute(update(Blob).where(Blob.sha256 == digest).values(data=b"tampered"))

    with pytest.raises(RawStoreError, match="damaged"):
        database_store.get(digest)


def test_database_read_does_not_wait_for_a_writer(database_store: DatabaseRawStore) -> None:
    digest = database_store.put(b"stored earlier")

    with transaction(database_store.factory) as writer:
        database_store.put(b"being written", session=writer)  # holds the write lock

        assert database_store.get(digest) == b"stored earlier"
