"""Content-addressed stores for raw bytes: received mail, attachments, rendered messages.

Bytes are named by their SHA-256, so storing the same bytes twice stores them
once. Two stores share one interface:

- ``DatabaseRawStore`` (the default) keeps the bytes in the ``blob`` table.
  ``put`` with the caller's session writes them in the caller's transaction,
  so the bytes and the row that names them become durable in one commit.
  This is also what lets several workers on PostgreSQL share the store.
- ``FolderRawStore`` keeps each blob as a file ``<root>/<aa>/<sha256>``, where
  ``aa`` are the first two hex digits: 256 folders keep each one small up to
  millions of blobs. A write goes to a temporary file in the same folder, is
  fsynced, renamed into place and the folder is fsynced; a folder created on
  the way is fsynced into its parent too. So after ``put`` returns, the bytes
  survive a crash or power loss, before any transaction commits.

Invariant the callers rely on: nothing acknowledges a message (SMTP 250, an
IMAP flag) before the transaction that named its bytes has committed, and by
then the bytes are durable in either store.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from incasso.store.db import read_transaction, transaction
from incasso.store.models import Blob
from incasso.store.upsert import insert_if_absent

logger = logging.getLogger(__name__)


class RawStoreError(OSError):
    """Raised when bytes cannot be stored durably or a stored blob is missing or damaged."""


class RawStore(Protocol):
    """What every raw store does."""

    def put(self, data: bytes, *, session: Session | None = None) -> str:
        """Store ``data`` and return its SHA-256 hex digest.

        With ``session``, the bytes are durable once that session commits (or
        earlier); without it, once ``put`` returns.
        """

    def get(self, sha256: str, *, session: Session | None = None) -> bytes:
        """Return the bytes stored under ``sha256``, checked against the hash."""


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_digest(sha256: str) -> None:
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise ValueError(f"invalid SHA-256 hex digest {sha256!r}: expected 64 lower-case hex")


def verified(sha256: str, data: bytes, where: str) -> bytes:
    if digest(data) != sha256:
        raise RawStoreError(f"blob {sha256} in {where} is damaged: its hash does not match")
    return data


class DatabaseRawStore:
    """Blobs in the ``blob`` table of the application's database."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def put(self, data: bytes, *, session: Session | None = None) -> str:
        sha256 = digest(data)
        if session is not None:
            self._insert(session, sha256, data)
            return sha256
        with transaction(self.factory) as own_session:
            self._insert(own_session, sha256, data)
        return sha256

    def get(self, sha256: str, *, session: Session | None = None) -> bytes:
        check_digest(sha256)
        if session is not None:
            return self._read(session, sha256)
        with read_transaction(self.factory) as own_session:
            return self._read(own_session, sha256)

    def _insert(self, session: Session, sha256: str, data: bytes) -> None:
        insert_if_absent(
            session, Blob, {"sha256": sha256, "data": data}, "sha256", returning="sha256"
        )

    def _read(self, session: Session, sha256: str) -> bytes:
        data = session.scalar(select(Blob.data).where(Blob.sha256 == sha256))
        if data is None:
            raise RawStoreError(f"blob {sha256} is missing from the database raw store")
        return verified(sha256, bytes(data), "the database raw store")


class FolderRawStore:
    """Blobs as files on a local file system."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # Folders known to exist, so a write costs no mkdir call after the first.
        self._folders: set[Path] = set()

    def path_for(self, sha256: str) -> Path:
        check_digest(sha256)
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes, *, session: Session | None = None) -> str:
        sha256 = digest(data)
        target = self.path_for(sha256)
        if target.is_file() and target.stat().st_size == len(data):
            return sha256

        try:
            self._ensure_folder(target.parent)
            self._write_atomically(target, data)
        except OSError as err:
            raise RawStoreError(
                f"cannot store blob {sha256} under {self.root}: {err}; "
                "check that the folder exists, is writable and has free space"
            ) from err
        logger.debug("stored blob sha256=%s bytes=%d", sha256, len(data))
        return sha256

    def get(self, sha256: str, *, session: Session | None = None) -> bytes:
        path = self.path_for(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError as err:
            raise RawStoreError(f"blob {sha256} is missing from {self.root}") from err
        return verified(sha256, data, str(self.root))

    def _ensure_folder(self, folder: Path) -> None:
        """Create ``folder`` and its missing parents, each made durable in its own parent."""
        if folder in self._folders:
            return
        missing = [path for path in (folder, *folder.parents) if not path.exists()]
        for path in reversed(missing):
            path.mkdir(exist_ok=True)
            _fsync_folder(path.parent)
        self._folders.add(folder)

    def _write_atomically(self, target: Path, data: bytes) -> None:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_folder(target.parent)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
