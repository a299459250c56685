"""Content-addressed store for raw bytes: received mail, attachments, rendered messages.

Each blob lives at ``<root>/<aa>/<bb>/<sha256>``. A write goes to a temporary
file in the same folder, is fsynced, renamed into place and the folder is
fsynced, so after ``put`` returns the bytes survive a crash or power loss.
Writing the same bytes again finds the file and does nothing: the store is
idempotent by construction.

Invariant the callers rely on: ``put`` returns only after the bytes are
durable, and nothing acknowledges a message (SMTP 250, an IMAP flag) before
``put`` has returned and the database row that names the hash is committed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)


class RawStoreError(OSError):
    """Raised when bytes cannot be stored durably or a stored blob is missing or damaged."""


class RawStore:
    """Blobs on a local file system, named by their SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"invalid SHA-256 hex digest {sha256!r}: expected 64 lower-case hex")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` durably and return its SHA-256 hex digest."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path_for(sha256)
        if target.is_file() and target.stat().st_size == len(data):
            return sha256

        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._write_atomically(target, data)
        except OSError as err:
            raise RawStoreError(
                f"cannot store blob {sha256} under {self.root}: {err}; "
                "check that the folder exists, is writable and has free space"
            ) from err
        logger.debug("stored blob sha256=%s bytes=%d", sha256, len(data))
        return sha256

    def get(self, sha256: str) -> bytes:
        """Return the bytes stored under ``sha256``, checking them against the hash."""
        path = self.path_for(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError as err:
            raise RawStoreError(f"blob {sha256} is missing from {self.root}") from err
        if hashlib.sha256(data).hexdigest() != sha256:
            raise RawStoreError(f"blob {sha256} in {self.root} is damaged: its hash does not match")
        return data

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
