"""Transports that deliver a composed message: a folder of .eml files, or an SMTP relay.

A transport raises ``TransportError`` with ``temporary`` set when trying
again later may succeed (a 4xx reply, a refused or dropped connection) and
cleared when it will not (a 5xx reply to MAIL or DATA, or for every recipient).
The SMS and letter transports in ``sms`` and ``letters`` raise the same error.
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

from incasso.store.models import MailMessage

logger = logging.getLogger(__name__)

UNSAFE_FILENAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._@+-]")


class TransportError(Exception):
    """Raised when a message could not be handed over; ``temporary`` says whether to retry."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class Transport(Protocol):
    def send(
        self, raw: bytes, *, mail_from: str, recipients: list[str], message_id: str
    ) -> str | None:
        """Deliver ``raw`` and return the proof of sending, if the transport has one.

        Raises TransportError when the message was not handed over. A transport
        may also offer ``was_delivered(row) -> bool | None``, which the outbox
        calls at start-up for a send that was interrupted.
        """


class FolderTransport:
    """Writes each message to ``<folder>/<Message-ID>.eml``; the default for local use.

    Writing the same Message-ID again replaces the file with the same bytes,
    so a repeated send leaves one file.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, raw: bytes, *, mail_from: str, recipients: list[str], message_id: str) -> str:
        name = self.file_name(message_id)
        try:
            write_file_atomically(self.folder / name, raw)
        except OSError as err:
            raise TransportError(
                f"cannot write {name} to outbox folder {self.folder}: {err}", temporary=True
            ) from err
        logger.info("message %s written to %s", message_id, self.folder / name)
        return f"written to {self.folder / name}"

    def was_delivered(self, row: MailMessage) -> bool:
        """Return whether the folder contains the file of ``row``'s Message-ID.

        The file appears by an atomic rename, so a file that exists is complete.
        """
        return (self.folder / self.file_name(row.message_id or "")).is_file()

    @staticmethod
    def file_name(message_id: str) -> str:
        return safe_file_name(message_id.strip("<>")) + ".eml"


@dataclass(frozen=True)
class SmtpTransport:
    """Hands messages to an SMTP relay.

    The relay's reply to the end of DATA (``250 2.0.0 Ok: queued as ...``) is
    the proof of sending. Once the relay has given it, a failure while sending
    QUIT is only logged, so the message is not sent a second time.
    """

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_seconds: float = 30.0

    def __repr__(self) -> str:
        return f"SmtpTransport(host={self.host!r}, port={self.port}, username={self.username!r})"

    def send(self, raw: bytes, *, mail_from: str, recipients: list[str], message_id: str) -> str:
        try:
            code, reply, refused = self._hand_over(raw, mail_from, recipients)
        except smtplib.SMTPRecipientsRefused as err:
            raise _from_replies(message_id, err.recipients) from err
        except smtplib.SMTPResponseException as err:
            raise TransportError(
                f"relay {self.host}:{self.port} rejected {message_id}: "
                f"{err.smtp_code} {_text(err.smtp_error)}",
                temporary=400 <= err.smtp_code < 500,
            ) from err
        except (OSError, smtplib.SMTPException) as err:
            raise TransportError(
                f"relay {self.host}:{self.port} unreachable for {message_id}: {err}; "
                "check the outbound SMTP host and port",
                temporary=True,
            ) from err

        proof = f"SMTP {self.host}:{self.port} replied to DATA: {code} {_text(reply)}"
        if refused:
            logger.warning("message %s refused for some recipients: %s", message_id, refused)
            proof += "; refused: " + _summary(refused)
        logger.info("message %s handed to %s:%d: %d", message_id, self.host, self.port, code)
        return proof

    def was_delivered(self, row: MailMessage) -> None:
        """Return None: a relay offers no way to ask whether it accepted a message."""
        return None

    def _hand_over(
        self, raw: bytes, mail_from: str, recipients: list[str]
    ) -> tuple[int, bytes, dict[str, tuple[int, bytes]]]:
        """Run one SMTP transaction; return the reply to DATA and the refused recipients.

        The same steps as ``smtplib.SMTP.sendmail``, which returns only the
        refused recipients and drops the reply text to DATA.

        NOTE: a connection lost after the message was sent but before the reply
        to DATA raises a temporary error, so a retry may deliver it twice.
        """
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds)
        try:
            self._greet(client)
            _start_mail(client, mail_from, size=len(raw))
            refused = _add_recipients(client, recipients)
            code, reply = client.data(raw)
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        except BaseException:
            client.close()
            raise

        _quit_quietly(client)
        return code, reply, refused

    def _greet(self, client: smtplib.SMTP) -> None:
        client.ehlo_or_helo_if_needed()
        if self.starttls:
            client.starttls()
            client.ehlo()
        if self.username and self.password:
            client.login(self.username, self.password)


def _start_mail(client: smtplib.SMTP, mail_from: str, *, size: int) -> None:
    options = [f"SIZE={size}"] if client.does_esmtp and client.has_extn("size") else []
    code, reply = client.mail(mail_from, options)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, mail_from)


def _add_recipients(client: smtplib.SMTP, recipients: list[str]) -> dict[str, tuple[int, bytes]]:
    """Send RCPT for each recipient; return the refused ones, raise when all were refused."""
    refused: dict[str, tuple[int, bytes]] = {}
    for recipient in recipients:
        code, reply = client.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, reply)
        if code == 421:
            raise smtplib.SMTPRecipientsRefused(refused)
    if len(refused) == len(recipients):
        raise smtplib.SMTPRecipientsRefused(refused)
    return refused


def _quit_quietly(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException) as err:
        logger.warning("QUIT after an accepted message failed, ignored: %s", err)
    finally:
        client.close()


def _from_replies(message_id: str, replies: dict[str, tuple[int, bytes]]) -> TransportError:
    temporary = any(400 <= code < 500 for code, _text in replies.values())
    return TransportError(
        f"all recipients refused for {message_id}: {_summary(replies)}", temporary=temporary
    )


def _summary(replies: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{address}: {code} {_text(reply)}" for address, (code, reply) in replies.items()
    )


def _text(reply: bytes | str) -> str:
    """Return an SMTP reply text as one line of text."""
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", errors="replace")
    return " ".join(reply.split())


def safe_file_name(value: str) -> str:
    """Return ``value`` with every character outside ``A-Za-z0-9._@+-`` replaced by ``_``."""
    return UNSAFE_FILENAME_CHARACTERS.sub("_", value)


def write_file_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see no file or the whole file, never a part.

    The bytes go to a temporary file in the same folder, are fsynced and
    renamed over ``path``, and the folder is fsynced so the rename survives a
    crash. Raises OSError.
    """
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".writing-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
