"""Taking in files from disk: ``.eml`` files as mail, any other file as an uploaded document.

A drop folder is read in name order, recursively, skipping hidden files. A
file that looks like a mail (a ``.eml`` name, or a header block with From,
Subject, Received or Message-ID) is received like mail from the SMTP
receiver; any other file (a PDF, a UBL file, a scan) becomes an upload,
addressed to the creditor's intake address when a creditor code is given.
Each file goes through ``receive``, so taking the same folder in twice
changes nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from incasso.cases.addresses import Addresses
from incasso.intake.receive import Envelope, receive
from incasso.store.models import Channel
from incasso.store.rawstore import RawStore

logger = logging.getLogger(__name__)

MAIL_HEADERS = re.compile(rb"^(from|subject|received|message-id|return-path|date):", re.I | re.M)
CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".xml": "application/xml",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".txt": "text/plain",
    ".csv": "text/csv",
}


@dataclass
class DropReport:
    """What a run over some paths did."""

    new: int = 0
    duplicate: int = 0
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def intake_paths(
    factory: sessionmaker[Session],
    rawstore: RawStore,
    addresses: Addresses,
    paths: Iterable[Path],
    creditor_code: str | None = None,
) -> DropReport:
    """Receive every file under ``paths``; unreadable paths are listed, never fatal."""
    report = DropReport()
    for path in _files(paths, report):
        try:
            data = path.read_bytes()
        except OSError as err:
            report.skipped.append((path, str(err)))
            continue

        duplicate = _receive_file(factory, rawstore, addresses, path, data, creditor_code)
        if duplicate:
            report.duplicate += 1
        else:
            report.new += 1
    return report


def _files(paths: Iterable[Path], report: DropReport) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(
                candidate
                for candidate in path.rglob("*")
                if candidate.is_file() and not candidate.name.startswith(".")
            )
        elif path.is_file():
            yield path
        else:
            report.skipped.append((path, "not found"))


def _receive_file(
    factory: sessionmaker[Session],
    rawstore: RawStore,
    addresses: Addresses,
    path: Path,
    data: bytes,
    creditor_code: str | None,
) -> bool:
    """Receive one file and return True when it had been received before."""
    recipients = (addresses.intake_address(creditor_code),) if creditor_code else ()
    envelope = Envelope(rcpt_tos=recipients, peer=f"file:{path.name}")
    if looks_like_mail(path, data):
        receipt = receive(factory, rawstore, data, channel=Channel.DROP, envelope=envelope)
    else:
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        receipt = receive(
            factory,
            rawstore,
            data,
            channel=Channel.UPLOAD,
            envelope=envelope,
            content_type=content_type,
            filename=path.name,
        )
    logger.info("file %s taken in as row=%d", path, receipt.message_row_id)
    return receipt.duplicate


def looks_like_mail(path: Path, data: bytes) -> bool:
    """Tell whether ``data`` is an RFC 822 message rather than a document."""
    if path.suffix.lower() == ".eml":
        return True
    head = data[:4096]
    if head.startswith(b"%PDF") or head.startswith(b"<?xml"):
        return False
    return len(MAIL_HEADERS.findall(head)) >= 2
