"""Parsing received mail into the parts intake needs, without losing a message or a document.

Rules:

- ``parse_mail`` never raises. Whatever is odd about a message becomes a line
  in ``ParsedMail.defects`` that names the part or value and what was done
  about it, and the lines are logged. The raw bytes stay unchanged in the raw
  store: every repair below works on a copy.
- Headers are read by our own reader. Message-ID, In-Reply-To and References
  are opaque ``<...>`` tokens, and encoded words, addresses and 8-bit bytes
  are decoded one header at a time. The modern ``email`` policy is never
  used, because it raises on Exchange Message-IDs (``<[...]@microsoft.com>``),
  on a bare ``name*`` parameter and on ``To: "``. The MIME tree is read with
  ``compat32``, which records defects instead.
- Before that parse, a copy is repaired: bare CR line ends become CRLF, and a
  top-level boundary that never appears in the body is replaced by the one
  the body does use.
- The body text comes from mail-parser. Where mail-parser 4.8 returns text
  undecoded (7-bit stateful charsets such as UTF-7 and ISO-2022-JP) or
  decodes 8-bit text of an unknown charset as UTF-8 with replacement
  characters, the text is decoded here instead: declared charset, then
  UTF-8, then cp1252.

The parts of a message are walked in ``incasso.intake.mime_parts``, which
also names the attachments and opens containers. File names and content
types come from ``incasso.intake.mime_files``, and header and charset
decoding from ``incasso.intake.mime_decode``. The data classes live in
``incasso.intake.mime_model``. This module re-exports, in ``__all__``, the
names that callers import from it.
"""

from __future__ import annotations

import email
import logging
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses

import mailparser

from incasso.intake.mime_decode import (
    BODY_SEPARATOR,
    HEADER_LINE,
    SEVEN_BIT_STATEFUL,
    decode_text,
    decode_words,
    message_ids,
    read_header_block,
)
from incasso.intake.mime_files import sniff
from incasso.intake.mime_model import Attachment, Context, ParsedMail, ReportPart, Walk
from incasso.intake.mime_parts import (
    BOUNDARY_LINE,
    add_attachment,
    referenced_content_ids,
    walk_part,
)

__all__ = [
    "Attachment",
    "ParsedMail",
    "ReportPart",
    "decode_text",
    "decode_words",
    "message_ids",
    "parse_mail",
    "read_header_block",
]

logger = logging.getLogger(__name__)

# Names for a whole input that is a file, not a mail.
BARE_FILE_NAMES = {"application/ms-tnef": "winmail.dat", "application/x-ole-storage": "message.msg"}
# Header defects that mail-parser finds and the MIME walk in mime_parts does not.
MAILPARSER_HEADER_DEFECTS = (
    "AddressHeaderDefect",
    "DateHeaderDefect",
    "ReceivedHeaderDefect",
    "MimeHeaderDefect",
)


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse ``raw`` into a ParsedMail; malformed parts become defects, never exceptions."""
    parsed = ParsedMail()
    try:
        _parse(raw, parsed)
    except Exception as err:  # a bug here must not lose the message, which is stored raw
        parsed.defects.append(
            f"parsing stopped early ({type(err).__name__}: {err}); open the raw message, and "
            "report this as a bug in incasso"
        )
        logger.exception("parsing message_id=%s stopped early", parsed.message_id)
    _log_defects(parsed)
    return parsed


def _parse(raw: bytes, parsed: ParsedMail) -> None:
    if not raw.strip():
        parsed.defects.append(f"the message is empty ({len(raw)} bytes); there is nothing to read")
        return
    if _take_bare_file(raw, parsed):
        return

    data = _normalize_line_ends(raw, parsed.defects)
    parsed.headers = read_header_block(data, parsed.defects)
    _check_header_block(data, parsed)
    _fill_threading_headers(parsed)
    _fill_addresses(parsed)
    parsed.subject = decode_words(parsed.header("subject") or "", parsed.defects, "header subject")

    data = _repair_boundary(data, parsed.defects)
    walk = Walk(parsed)
    message = _parse_structure(data, parsed)
    if message is not None:
        parsed.content_type = message.get_content_type()
        walk.content_ids = referenced_content_ids(message)
        walk_part(message, walk, Context(), "message", 0)

    _fill_body(parsed, data, walk)


# Messages that are not MIME at all


def _take_bare_file(raw: bytes, parsed: ParsedMail) -> bool:
    """Take an input that is a file, not a mail (winmail.dat, .msg, PDF, image); tell if it was."""
    if HEADER_LINE.match(raw.split(b"\n", 1)[0].rstrip(b"\r")):
        return False
    sniffed = sniff(raw)
    if sniffed is None:
        return False

    content_type, extension = sniffed
    filename = BARE_FILE_NAMES.get(content_type, f"message{extension}")
    walk = Walk(parsed)
    if content_type == "application/ms-tnef":
        parsed.defects.append(
            "the input is a bare TNEF stream (winmail.dat), not a MIME mail; its files were "
            "unpacked as attachments"
        )
    elif content_type == "application/x-ole-storage":
        parsed.defects.append(
            "the input is an OLE2 file such as an Outlook .msg, not a MIME mail; incasso cannot "
            "read its attachments, so ask the sender to forward the mail itself"
        )
    else:
        parsed.defects.append(
            f"the input is a {content_type} file, not a mail; it was taken as the only attachment"
        )
    add_attachment(walk, Attachment(filename, content_type, raw), Context())
    _fill_tnef_body(parsed, walk)
    return True


def _normalize_line_ends(raw: bytes, defects: list[str]) -> bytes:
    if b"\r" not in raw or b"\n" in raw:
        return raw
    defects.append("the message has bare CR line ends; they were read as CRLF")
    return raw.replace(b"\r", b"\r\n")


def _check_header_block(data: bytes, parsed: ParsedMail) -> None:
    if not parsed.headers:
        parsed.defects.append(
            "the input does not start with mail headers; it was read as a plain-text body"
        )
    elif BODY_SEPARATOR.search(data) is None:
        parsed.defects.append("the message has headers but no body")


def _repair_boundary(data: bytes, defects: list[str]) -> bytes:
    """Replace a top-level boundary that never appears by the one the body uses."""
    separator = BODY_SEPARATOR.search(data)
    if separator is None:
        return data
    head, body = data[: separator.start()], data[separator.end() :]
    try:
        top = email.message_from_bytes(head + b"\r\n\r\n", policy=compat32)
        if top.get_content_maintype() != "multipart":
            return data
        declared = top.get_boundary()
    except Exception:  # a header the parser cannot read is reported by the full parse
        return data
    if declared and b"--" + declared.encode("utf-8", "surrogateescape") in body:
        return data

    found = BOUNDARY_LINE.search(body)
    if found is None:
        return data
    boundary = found.group(1).decode("ascii")
    described = f"{declared!r} never appears" if declared else "is missing"
    defects.append(
        f"the top-level boundary {described}; the parts were read with the boundary "
        f"{boundary!r} that the body uses"
    )
    content_type = f'{top.get_content_type()}; boundary="{boundary}"'
    return _replace_content_type(head, content_type) + data[separator.start() :]


def _replace_content_type(head: bytes, value: str) -> bytes:
    newline = b"\r\n" if b"\r\n" in head else b"\n"
    kept: list[bytes] = []
    skipping = False
    for line in head.splitlines():
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = line.lower().startswith(b"content-type:")
        if not skipping:
            kept.append(line)
    kept.append(b"Content-Type: " + value.encode("ascii"))
    return newline.join(kept)


def _parse_structure(data: bytes, parsed: ParsedMail) -> Message | None:
    try:
        return email.message_from_bytes(data, policy=compat32)
    except Exception as err:  # any parser failure must keep the message
        parsed.defects.append(
            f"the MIME structure is unreadable ({type(err).__name__}: {err}); only the headers "
            "were read, so open the raw message to find its documents"
        )
        logger.warning("MIME parse failed message_id=%s: %s", parsed.message_id, err)
        return None


# Headers


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
            display_name = decode_words(display, parsed.defects, f"header {name}")
            found.append((display_name or None, address))
    return found


# The body


def _fill_body(parsed: ParsedMail, data: bytes, walk: Walk) -> None:
    texts, htmls = _mailparser_body(parsed, data)
    _redecode_body_parts(walk, texts, htmls)
    if not texts and not htmls:
        texts, htmls = _body_from_parts(walk)

    parsed.text = "\n".join(texts).strip()
    parsed.html = "\n".join(htmls).strip() or None
    _fill_tnef_body(parsed, walk)


def _mailparser_body(parsed: ParsedMail, data: bytes) -> tuple[list[str], list[str]]:
    try:
        mail = mailparser.parse_from_bytes(data)
    except Exception as err:  # any parser failure must keep the message
        parsed.defects.append(
            f"mail-parser failed ({type(err).__name__}: {err}); the body was read from the "
            "MIME parts instead"
        )
        logger.warning("mail-parser failed message_id=%s: %s", parsed.message_id, err)
        return [], []

    for section in mail.defects:
        for details in section.values():
            parsed.defects.extend(
                f"mail-parser: {detail}"
                for detail in details
                if str(detail).startswith(MAILPARSER_HEADER_DEFECTS)
            )
    return list(mail.text_plain), list(mail.text_html)


def _redecode_body_parts(walk: Walk, texts: list[str], htmls: list[str]) -> None:
    """Replace body texts that mail-parser left undecoded or decoded with replacement characters."""
    for part, path in walk.body_parts:
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        charset = part.get_content_charset()
        preferred, problem = decode_text(data, charset)
        stateful = charset is not None and charset.startswith(SEVEN_BIT_STATEFUL)
        if problem is None and not stateful:
            continue
        if problem is not None:
            walk.parsed.defects.append(f"{path} ({part.get_content_type()}) {problem}")

        raw = part.get_payload()
        as_received = {data.decode("utf-8", errors="replace")}
        if isinstance(raw, str):
            as_received.add(raw)
        target = htmls if part.get_content_type() == "text/html" else texts
        for index, text in enumerate(target):
            if text in as_received and text != preferred:
                target[index] = preferred
                break


def _body_from_parts(walk: Walk) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    htmls: list[str] = []
    for part, _path in walk.body_parts:
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data.strip():
            continue
        text = decode_text(data, part.get_content_charset())[0]
        (htmls if part.get_content_type() == "text/html" else texts).append(text)
    return texts, htmls


def _fill_tnef_body(parsed: ParsedMail, walk: Walk) -> None:
    if not parsed.text and walk.tnef_texts:
        parsed.text = walk.tnef_texts[0]


def _log_defects(parsed: ParsedMail) -> None:
    if not parsed.defects:
        return
    logger.info(
        "message_id=%s parsed with %d defect(s): %s",
        parsed.message_id,
        len(parsed.defects),
        " | ".join(parsed.defects)[:4000],
    )
