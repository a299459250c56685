"""Letters: the sink protocol for printing and posting, and a folder sink for staff to print from.

A letter waits in the outbox as a PDF. Its reference is the case reference
and the step (``2026-00017-registered_letter``), and its idempotency key is
the outbox row's dedupe key.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from incasso.outbound.transport import TransportError, safe_file_name, write_file_atomically
from incasso.store.models import MailMessage

logger = logging.getLogger(__name__)

PDF_CONTENT_TYPE = "application/pdf"


class LetterSink(Protocol):
    """A print-and-post service for letters.

    A print-and-post service must:

    - accept ``idempotency_key`` and post at most one letter per key,
      returning the same id when the key comes again (the outbox resends after
      a temporary failure and after a restart);
    - return its own id for the letter once it has accepted it, which the
      outbox keeps as proof of sending;
    - raise ``TransportError(temporary=True)`` when trying later may work and
      ``temporary=False`` when it will not (an address it cannot post to);
    - optionally offer ``was_delivered(row) -> bool | None``, which the
      outbox calls at start-up for a send that was interrupted.
    """

    def submit(self, pdf: bytes, *, recipient: str, reference: str, idempotency_key: str) -> str:
        """Hand over ``pdf`` for posting to ``recipient``; return the sink's id for the letter."""
        ...


def letter_reference(row: MailMessage) -> str:
    """Return the reference of the letter queued as ``row``: ``<case reference>-<step>``."""
    case_reference = row.case.reference if row.case is not None else f"message-{row.id}"
    return f"{case_reference}-{row.step}"


class FolderLetterSink:
    """Writes each letter to ``<folder>/<reference>.pdf`` for staff to print and post.

    Staff send these by registered mail. A file is written by an atomic rename,
    so it is either absent or complete. Submitting the same reference with the
    same bytes again leaves the file as it is.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def submit(self, pdf: bytes, *, recipient: str, reference: str, idempotency_key: str) -> str:
        name = self.file_name(reference)
        path = self.folder / name
        try:
            if path.is_file():
                self._check_same(path, pdf, idempotency_key)
                logger.info("letter %s already in %s", idempotency_key, path)
                return name
            write_file_atomically(path, pdf)
        except OSError as err:
            raise TransportError(
                f"cannot write letter {name} to {self.folder}: {err}; "
                "check that the letters folder exists and is writable",
                temporary=True,
            ) from err

        logger.info("letter %s written to %s", idempotency_key, path)
        return name

    def was_delivered(self, row: MailMessage) -> bool:
        """Return whether the folder contains the letter file of ``row``."""
        return (self.folder / self.file_name(letter_reference(row))).is_file()

    @staticmethod
    def file_name(reference: str) -> str:
        return safe_file_name(reference) + ".pdf"

    @staticmethod
    def _check_same(path: Path, pdf: bytes, idempotency_key: str) -> None:
        # The file may be printed already, so other bytes under its name are not overwritten.
        if path.read_bytes() != pdf:
            raise TransportError(
                f"letter file {path} already exists with other content than letter "
                f"{idempotency_key}; check whether it was posted, then move it away "
                "so the letter can be written",
                temporary=False,
            )
