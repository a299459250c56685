"""Text messages: the queued payload, the provider protocol, and a file provider for local use.

An SMS waits in the outbox as the UTF-8 JSON object
``{"to": "+32470123456", "text": "..."}`` (content type ``SMS_CONTENT_TYPE``).
The outbox hands it to an ``SmsProvider`` with the row's dedupe key as
idempotency key, so a provider that honours the key sends one text per step
however often the outbox retries.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from incasso.cases.phone import normalize_phone_number
from incasso.outbound.transport import TransportError
from incasso.store.models import MailMessage

logger = logging.getLogger(__name__)

SMS_CONTENT_TYPE = "application/vnd.incasso.sms+json"
# Name of the file provider's JSON-lines file inside its folder.
SMS_FILE_NAME = "outbox.jsonl"


@dataclass(frozen=True)
class SmsText:
    """One text message: the E.164 number it goes to and its text."""

    to: str
    text: str

    def to_bytes(self) -> bytes:
        return json.dumps({"to": self.to, "text": self.text}, ensure_ascii=False).encode("utf-8")


def parse_sms(raw: bytes) -> SmsText:
    """Read a queued SMS; raise ValueError naming what is missing or invalid."""
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"SMS payload is not UTF-8 JSON: {err}") from err
    if not isinstance(payload, dict):
        raise ValueError('SMS payload must be a JSON object {"to": ..., "text": ...}')

    to = payload.get("to")
    text = payload.get("text")
    if not isinstance(to, str) or normalize_phone_number(to) != to:
        raise ValueError(f'SMS "to" {to!r} is not an E.164 number such as +32470123456')
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f'SMS "text" {text!r} is missing or empty; give the text to send')
    return SmsText(to=to, text=text)


class SmsProvider(Protocol):
    """A service that sends text messages.

    A real gateway must:

    - accept ``idempotency_key`` and send at most one text per key, returning
      the same message id when the key comes again (the outbox resends after
      a temporary failure and after a restart);
    - return its own message id once it has accepted the text, which the
      outbox keeps as proof of sending;
    - raise ``TransportError(temporary=True)`` when trying later may work
      (timeouts, HTTP 429 and 5xx) and ``temporary=False`` when it will not
      (an invalid number, a rejected sender name, HTTP 4xx);
    - optionally offer ``was_delivered(row) -> bool | None``, which the
      outbox calls at start-up for a send that was interrupted (see
      ``FileSmsSink.was_delivered``).
    """

    def send(self, to: str, text: str, *, idempotency_key: str) -> str:
        """Send ``text`` to ``to``; return the provider's message id."""
        ...


class FileSmsSink:
    """Appends each text message as one JSON line to ``<folder>/outbox.jsonl``; for local use.

    Each line is ``{"key", "id", "to", "text", "at"}``. A key already in the
    file is not written again and returns the id it got the first time. An
    exclusive ``flock`` on the file serializes writers in several processes,
    and each writer reads the lines added since its last look before it
    decides.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / SMS_FILE_NAME
        self._ids: dict[str, str] = {}
        self._read_up_to = 0
        self._lock = threading.Lock()

    def send(self, to: str, text: str, *, idempotency_key: str) -> str:
        try:
            with self._lock, _locked(self.path) as stream:
                known = self._catch_up(stream).get(idempotency_key)
                if known is not None:
                    logger.info("SMS %s already in %s as %s", idempotency_key, self.path, known)
                    return known
                message_id = f"file-{uuid.uuid4().hex}"
                self._append(stream, idempotency_key, message_id, to, text)
        except OSError as err:
            raise TransportError(
                f"cannot write SMS {idempotency_key} to {self.path}: {err}; "
                "check that the SMS folder exists and is writable",
                temporary=True,
            ) from err

        logger.info("SMS %s written to %s as %s", idempotency_key, self.path, message_id)
        return message_id

    def was_delivered(self, row: MailMessage) -> bool:
        """Return whether the file contains the SMS of ``row``, found by its dedupe key."""
        if not self.path.exists():
            return False
        with self._lock, _locked(self.path) as stream:
            return row.dedupe_key in self._catch_up(stream)

    def _catch_up(self, stream: BinaryIO) -> dict[str, str]:
        """Read the complete lines added since the last call into the key index."""
        if stream.seek(0, os.SEEK_END) < self._read_up_to:
            logger.warning("%s became shorter, so it is read again from the start", self.path)
            self._ids.clear()
            self._read_up_to = 0
        stream.seek(self._read_up_to)
        added = stream.read()
        complete, newline, torn = added.rpartition(b"\n")
        if torn:
            # Only a writer that died mid-line leaves a line without its end, because
            # writers hold the lock. The next append starts on a new line.
            logger.warning("ignoring an incomplete last line in %s", self.path)
        for line in complete.splitlines():
            self._index_line(line)
        self._read_up_to += len(complete) + len(newline)
        return self._ids

    def _index_line(self, line: bytes) -> None:
        try:
            entry = json.loads(line)
            self._ids[str(entry["key"])] = str(entry["id"])
        except (ValueError, KeyError, TypeError) as err:
            logger.warning("ignoring a line of %s without key and id: %s", self.path, err)

    def _append(self, stream: BinaryIO, key: str, message_id: str, to: str, text: str) -> None:
        entry = {
            "key": key,
            "id": message_id,
            "to": to,
            "text": text,
            "at": datetime.now(UTC).isoformat(),
        }
        line = json.dumps(entry, ensure_ascii=False).encode("utf-8") + b"\n"
        end = stream.seek(0, os.SEEK_END)
        if end > self._read_up_to:
            line = b"\n" + line
        stream.write(line)
        stream.flush()
        os.fsync(stream.fileno())
        self._ids[key] = message_id
        self._read_up_to = end + len(line)


@contextmanager
def _locked(path: Path) -> Iterator[BinaryIO]:
    """Open ``path`` for reading and appending under an exclusive ``flock``, creating it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as stream:
        # Closing the file releases the lock.
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX)
        yield stream
