"""The raw store keeps bytes under their hash, once, and notices damage."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from incasso.store.rawstore import RawStore, RawStoreError


def test_put_returns_hash_and_get_returns_bytes(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "raw")
    data = b"From: a@b.test\r\n\r\nhello\r\n"

    digest = store.put(data)

    assert digest == hashlib.sha256(data).hexdigest()
    assert store.get(digest) == data
    assert store.path_for(digest).parent.parent.name == digest[:2]


def test_put_same_bytes_twice_keeps_one_file(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "raw")

    first = store.put(b"same")
    second = store.put(b"same")

    assert first == second
    files = [path for path in (tmp_path / "raw").rglob("*") if path.is_file()]
    assert len(files) == 1


def test_get_detects_damaged_blob(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "raw")
    digest = store.put(b"original")
    store.path_for(digest).write_bytes(b"tampered")

    with pytest.raises(RawStoreError, match="damaged"):
        store.get(digest)


def test_get_missing_blob_names_hash(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "raw")
    digest = hashlib.sha256(b"never stored").hexdigest()

    with pytest.raises(RawStoreError, match=digest):
        store.get(digest)


def test_put_into_unwritable_folder_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "raw"
    blocker.write_bytes(b"a file where the folder should be")
    store = RawStore(blocker)

    with pytest.raises(RawStoreError, match="cannot store"):
        store.put(b"data")


def test_path_for_rejects_non_hash(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "raw")

    with pytest.raises(ValueError, match="SHA-256"):
        store.path_for("../../etc/passwd")
