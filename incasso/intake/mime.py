"""Parsing received mail into the parts intake needs, without ever losing a message.

Real mail breaks parsers: Exchange Message-IDs such as ``<[...]@microsoft.com>``
make the modern ``email`` header parser raise, a ``name*`` parameter makes
``message_from_bytes`` itself raise, and many senders omit the
Content-Disposition of their PDF. So this module

- reads the header block itself and treats Message-ID, In-Reply-To and
  References as opaque ``<...>`` tokens;
- decodes encoded words and addresses one header at a time, recording a
  defect instead of raising;
- takes the body from mail-parser and the attachments from the parsed
  message tree, choosing attachments by content (every leaf that is not the
  text or HTML body), not by Content-Disposition;
- falls back to headers only, with a defect, when the MIME structure cannot
  be parsed at all. The raw bytes stay in the raw store either way.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses

import mailparser

logger = logging.getLogger(__name__)

MESSAGE_ID_PATTERN = re.compile(r"<[^<>\s]+>")
HEADER_LINE = re.compile(rb"^([!-9;-~]+)[ \t]*:[ \t]*(.*)$")
BODY_SEPARATOR = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class Attachment:
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    """The parts of one message that intake uses."""

    message_id: str | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_address: str | None = None
    from_name: str | None = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    delivered_to: list[str] = field(default_factory=list)
    # Every header by lower-case name, raw values in order of appearance.
    headers: dict[str, list[str]] = field(default_factory=dict)
    content_type: str = "text/plain"
    text: str = ""
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """Return the first raw value of header ``name``, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse ``raw`` into a ParsedMail; malformed parts become defects, never exceptions."""
    parsed = ParsedMail()
    parsed.headers = read_header_block(raw)
    _fill_threading_headers(parsed)
    _fill_addresses(parsed)
    parsed.subject = _decode_words(parsed.header("subject") or "", parsed, "subject")

    try:
        mail = mailparser.parse_from_bytes(raw)
    except Exception as err:  # any parser failure must keep the message
        parsed.defects.append(f"mime structure unreadable: {type(err).__name__}: {err}")
        logger.warning("MIME parse failed message_id=%s: %s", parsed.message_id, err)
        return parsed

    _fill_body(parsed, mail)
    _fill_attachments(parsed, mail.message)
    return parsed


def read_header_block(raw: bytes) -> dict[str, list[str]]:
    """Read the top-level header block into lower-case names and unfolded raw values."""
    head = BODY_SEPARATOR.split(raw, maxsplit=1)[0]
    fields: list[tuple[str, list[bytes]]] = []

    for line in head.splitlines():
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1].append(line.strip())
            continue
        match = HEADER_LINE.match(line)
        if match is not None:
            fields.append((match.group(1).decode("ascii").lower(), [match.group(2).strip()]))

    headers: dict[str, list[str]] = {}
    for name, pieces in fields:
        value = b" ".join(pieces).decode("utf-8", errors="replace")
        headers.setdefault(name, []).append(value)
    return headers


def message_ids(value: str | None) -> list[str]:
    """Return the ``<...>`` tokens of a Message-ID, In-Reply-To or References value."""
    return MESSAGE_ID_PATTERN.findall(value or "")


def _fill_threading_headers(parsed: ParsedMail) -> None:
    own = message_ids(parsed.header("message-id"))
    parsed.message_id = own[0] if own else None
    parsed.in_reply_to = message_ids(parsed.header("in-reply-to"))
    for value in parsed.headers.get("references", []):
        parsed.references.extend(message_ids(value))


def _fill_addresses(parsed: ParsedMail) -> None:
    senders = _addresses(parsed, "from")
    if senders:
        parsed.from_name, parsed.from_address = senders[0]
    parsed.to = [address for _name, address in _addresses(parsed, "to")]
    parsed.cc = [address for _name, address in _addresses(parsed, "cc")]
    parsed.delivered_to = [address for _name, address in _addresses(parsed, "delivered-to")]


def _addresses(parsed: ParsedMail, name: str) -> list[tuple[str | None, str]]:
    values = parsed.headers.get(name, [])
    try:
        pairs = getaddresses(values)
    except Exception as err:  # a malformed address header is a defect
        parsed.defects.append(f"header {name} unreadable: {err}")
        return []

    found: list[tuple[str | None, str]] = []
    for display, address in pairs:
        address = address.strip().lower()
        if "@" in address:
            found.append((_decode_words(display, parsed, name) or None, address))
    return found


def _decode_words(value: str, parsed: ParsedMail, name: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception as err:  # unknown charsets and broken encoded words
        parsed.defects.append(f"header {name} has undecodable encoded words: {err}")
        return value


def _fill_body(parsed: ParsedMail, mail: mailparser.MailParser) -> None:
    parsed.text = "\n".join(mail.text_plain).strip()
    html = "\n".join(mail.text_html).strip()
    parsed.html = html or None
    parsed.defects.extend(str(defect) for defect in mail.defects_categories)


def _fill_attachments(parsed: ParsedMail, message: Message) -> None:
    parsed.content_type = message.get_content_type()
    body_taken = {"text/plain": False, "text/html": False}

    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        filename = _part_filename(part, parsed)
        is_body_text = content_type in body_taken and not filename
        if is_body_text and not body_taken[content_type]:
            body_taken[content_type] = True
            continue
        if content_type in ("message/delivery-status", "text/rfc822-headers"):
            continue

        data = _part_bytes(part, parsed)
        if data:
            parsed.attachments.append(Attachment(filename, content_type, data))


def _part_filename(part: Message, parsed: ParsedMail) -> str | None:
    try:
        filename = part.get_filename()
    except Exception as err:  # RFC 2231 parameters that do not decode
        parsed.defects.append(f"attachment name unreadable: {err}")
        return None
    if filename is None:
        return None
    return _decode_words(filename, parsed, "filename")


def _part_bytes(part: Message, parsed: ParsedMail) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception as err:  # broken transfer encodings
        parsed.defects.append(f"attachment payload undecodable: {err}")
        return b""
    return payload if isinstance(payload, bytes) else b""
