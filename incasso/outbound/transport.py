"""Transports that deliver a composed message: a folder of .eml files, or an SMTP relay.

A transport raises ``TransportError`` with ``temporary`` set when trying
again later may succeed (a 4xx reply, a refused or dropped connection) and
cleared when it will not (a 5xx reply for every recipient).
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

logger = logging.getLogger(__name__)

UNSAFE_FILENAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._@+-]")


class TransportError(Exception):
    """Raised when a message could not be handed over; ``temporary`` says whether to retry."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class Transport(Protocol):
    def send(self, raw: bytes, *, mail_from: str, recipients: list[str], message_id: str) -> None:
        """Deliver ``raw``; raise TransportError when it was not handed over."""


class FolderTransport:
    """Writes each message to ``<folder>/<Message-ID>.eml``; the default for local use.

    Writing the same Message-ID again replaces the file with the same bytes,
    so a repeated send leaves one file.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, raw: bytes, *, mail_from: str, recipients: list[str], message_id: str) -> None:
        name = UNSAFE_FILENAME_CHARACTERS.sub("_", message_id.strip("<>")) + ".eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".writing-")
            with os.fdopen(handle, "wb") as stream:
                stream.write(raw)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.folder / name)
        except OSError as err:
            raise TransportError(
                f"cannot write {name} to outbox folder {self.folder}: {err}", temporary=True
            ) from err
        logger.info("message %s written to %s", message_id, self.folder / name)


@dataclass(frozen=True)
class SmtpTransport:
    """Hands messages to an SMTP relay."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_seconds: float = 30.0

    def __repr__(self) -> str:
        return f"SmtpTransport(host={self.host!r}, port={self.port}, username={self.username!r})"

    def send(self, raw: bytes, *, mail_from: str, recipients: list[str], message_id: str) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as client:
                if self.starttls:
                    client.starttls()
                if self.username and self.password:
                    client.login(self.username, self.password)
                refused = client.sendmail(mail_from, recipients, raw)
        except smtplib.SMTPRecipientsRefused as err:
            raise _from_replies(message_id, err.recipients) from err
        except smtplib.SMTPResponseException as err:
            raise TransportError(
                f"relay {self.host}:{self.port} refused {message_id}: "
                f"{err.smtp_code} {err.smtp_error!r}",
                temporary=400 <= err.smtp_code < 500,
            ) from err
        except (OSError, smtplib.SMTPException) as err:
            raise TransportError(
                f"relay {self.host}:{self.port} unreachable for {message_id}: {err}; "
                "check the outbound SMTP host and port",
                temporary=True,
            ) from err

        if refused:
            logger.warning("message %s refused for some recipients: %s", message_id, refused)
        logger.info("message %s handed to %s:%d", message_id, self.host, self.port)


def _from_replies(message_id: str, replies: dict[str, tuple[int, bytes]]) -> TransportError:
    temporary = any(400 <= code < 500 for code, _text in replies.values())
    summary = "; ".join(f"{address}: {code}" for address, (code, _text) in replies.items())
    return TransportError(
        f"all recipients refused for {message_id}: {summary}", temporary=temporary
    )
