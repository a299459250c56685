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
- Attachments are chosen by content, not by Content-Disposition: every leaf
  that is not body text is an attachment, whether it is marked inline, marked
  attachment or not marked at all. An unnamed one is called
  ``attachment-N.ext``, N being its position in the list and the extension
  taken from the content.
- Containers are opened. A forwarded message (``message/rfc822``, up to
  ``MAX_FORWARD_DEPTH`` levels), a zip archive (one level, with the limits of
  ``incasso.intake.unpack``) and a TNEF ``winmail.dat`` add their files as
  attachments whose ``origin`` names the containers around them. The
  container itself stays in the list, with ``unpacked`` set when every file
  inside it was taken out.
- The machine-readable parts of delivery and read reports are kept in
  ``report_parts``, never among the attachments.
"""

from __future__ import annotations

import codecs
import email
import logging
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field, replace
from email.header import decode_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses
from urllib.parse import unquote

import mailparser

from incasso.intake.unpack import (
    ZipLimits,
    is_tnef,
    is_zip_archive,
    unpack_tnef,
    unpack_zip,
)

logger = logging.getLogger(__name__)

MESSAGE_ID_PATTERN = re.compile(r"<[^<>\s]+>")
HEADER_LINE = re.compile(rb"^([!-9;-~]+)[ \t]*:[ \t]*(.*)$")
BODY_SEPARATOR = re.compile(rb"\r?\n\r?\n")
# An opening boundary line that a header line follows, for finding the boundary a body really uses.
BOUNDARY_LINE = re.compile(
    rb"^--([0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?])[ \t]*\r?\n"
    rb"(?=[Cc][Oo][Nn][Tt][Ee][Nn][Tt]-[A-Za-z-]+[ \t]*:)",
    re.MULTILINE,
)
CID_REFERENCE = re.compile(r"cid:([^\"'\s>)]+)", re.IGNORECASE)

MAX_FORWARD_DEPTH = 3
MAX_ARCHIVE_DEPTH = 1
MAX_CONTAINER_DEPTH = 5
MAX_MULTIPART_DEPTH = 50
# All containers of one message together may unpack to at most this many bytes.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
ZIP_LIMITS = ZipLimits()

BODY_TYPES = ("text/plain", "text/html")
FORWARD_TYPES = ("message/rfc822", "message/global")
REPORT_TYPES = (
    "message/delivery-status",
    "message/global-delivery-status",
    "message/disposition-notification",
    "message/feedback-report",
    "text/rfc822-headers",
    "message/global-headers",
)
# Declared types that carry no information, so the content decides.
GENERIC_TYPES = (
    "application/octet-stream",
    "application/unknown",
    "application/x-unknown",
    "application/binary",
    "application/download",
    "application/force-download",
    "binary/octet-stream",
)
# (signature, content type, extension) of files that start with their signature.
SIGNATURES = (
    (b"II*\x00", "image/tiff", ".tif"),
    (b"MM\x00*", "image/tiff", ".tif"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF8", "image/gif", ".gif"),
    (b"PK\x03\x04", "application/zip", ".zip"),
    (b"\x78\x9f\x3e\x22", "application/ms-tnef", ".dat"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage", ".bin"),
    (b"{\\rtf", "application/rtf", ".rtf"),
    (b"<?xml", "application/xml", ".xml"),
)
# Sniffed types shared by several formats (.docx is a zip, .doc is OLE2), where a name says more.
SHARED_SIGNATURE_TYPES = ("application/zip", "application/x-ole-storage", "application/xml")
PDF_HEADER = b"%PDF-"
# Names for a whole input that is a file, not a mail.
BARE_FILE_NAMES = {"application/ms-tnef": "winmail.dat", "application/x-ole-storage": "message.msg"}
PDF_HEADER_WINDOW = 1024

CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "x-sjis": "shift_jis",
    "iso-8859-8-i": "iso-8859-8",
    "x-mac-roman": "mac_roman",
}
# Labels that name no charset at all, whatever Python's codec registry maps them to.
UNKNOWN_CHARSETS = ("unknown-8bit", "unknown", "x-unknown", "none", "default", "x-user-defined")
# Charsets written with 7-bit bytes that are not ASCII text, which mail-parser 4.8 leaves undecoded.
SEVEN_BIT_STATEFUL = ("utf-7", "utf7", "unicode-1-1-utf-7", "iso-2022-", "hz-gb-2312")
# Header defects that mail-parser finds and the MIME walk below does not.
MAILPARSER_HEADER_DEFECTS = (
    "AddressHeaderDefect",
    "DateHeaderDefect",
    "ReceivedHeaderDefect",
    "MimeHeaderDefect",
)


@dataclass(frozen=True)
class Attachment:
    """A file carried by a message.

    ``origin`` names the containers it was taken out of, outermost first (``"scan.zip"``,
    ``"forwarded message 'Factuur' > winmail.dat"``), or is None for a file of the
    message itself. ``unpacked`` marks a container whose files all follow as
    attachments of their own. ``embedded_image`` marks an image that the HTML body
    shows through a ``cid:`` reference, such as a logo.
    """

    filename: str | None
    content_type: str
    data: bytes
    origin: str | None = None
    unpacked: bool = False
    embedded_image: bool = False

    @property
    def display_name(self) -> str:
        """Return the file name with the containers it came from, for reviewers and logs."""
        name = self.filename or self.content_type
        return f"{self.origin} > {name}" if self.origin else name


@dataclass(frozen=True)
class ReportPart:
    """A machine-readable part of a delivery or read report (RFC 3464, RFC 8098), as text."""

    content_type: str
    text: str

    def field_blocks(self) -> list[dict[str, str]]:
        """Split the text into blocks of header fields: lower-case names, unfolded values."""
        blocks: list[dict[str, str]] = []
        for chunk in re.split(r"\r?\n[ \t]*\r?\n", self.text):
            fields = read_header_block(chunk.encode("utf-8"))
            if fields:
                blocks.append({name: values[0] for name, values in fields.items()})
        return blocks


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
    # Every file of the message, including unpacked containers and embedded images.
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    report_parts: list[ReportPart] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """Return the first raw value of header ``name``, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def documents(self) -> list[Attachment]:
        """Return the attachments to extract invoices from: no unpacked containers or logos."""
        return [a for a in self.attachments if not a.unpacked and not a.embedded_image]


@dataclass(frozen=True)
class _Context:
    """Position of a part: the containers around it and how deeply they nest."""

    origin: str | None = None
    forward_depth: int = 0
    archive_depth: int = 0
    container_depth: int = 0

    def inside(self, label: str, *, forward: bool = False, archive: bool = False) -> _Context:
        return _Context(
            origin=f"{self.origin} > {label}" if self.origin else label,
            forward_depth=self.forward_depth + forward,
            archive_depth=self.archive_depth + archive,
            container_depth=self.container_depth + 1,
        )


@dataclass
class _Walk:
    """State of one walk over a message tree."""

    parsed: ParsedMail
    content_ids: set[str] = field(default_factory=set)
    body_parts: list[tuple[Message, str]] = field(default_factory=list)
    tnef_texts: list[str] = field(default_factory=list)
    unpacked_bytes: int = 0


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
    walk = _Walk(parsed)
    message = _parse_structure(data, parsed)
    if message is not None:
        parsed.content_type = message.get_content_type()
        walk.content_ids = _referenced_content_ids(message)
        _walk_part(message, walk, _Context(), "message", 0)

    _fill_body(parsed, data, walk)


def read_header_block(raw: bytes, defects: list[str] | None = None) -> dict[str, list[str]]:
    """Read the top-level header block into lower-case names and unfolded raw values.

    Values are UTF-8, or cp1252 when their 8-bit bytes are not UTF-8; each such
    header adds a line to ``defects`` when a list is given.
    """
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
        value = _decode_header_bytes(b" ".join(pieces), name, defects)
        headers.setdefault(name, []).append(value)
    return headers


def message_ids(value: str | None) -> list[str]:
    """Return the ``<...>`` tokens of a Message-ID, In-Reply-To or References value."""
    return MESSAGE_ID_PATTERN.findall(value or "")


def decode_text(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Decode ``data`` declared as ``charset``; return the text and what was wrong, or None.

    An unknown or wrong charset falls back to UTF-8, then to cp1252 with
    replacement characters, so decoding never fails.
    """
    label = (charset or "").strip().strip("\"'").lower()
    codec = _codec(label)
    if codec is not None:
        try:
            return data.decode(codec), None
        except UnicodeDecodeError:
            pass
        if label.startswith(SEVEN_BIT_STATEFUL):
            # Its bytes are ASCII, so the UTF-8 fallback would return the encoded form.
            text = data.decode(codec, errors="replace")
            return text, f"is not valid {charset!r} text; decoded with replacement characters"
    elif not label and data.isascii():
        return data.decode("ascii"), None

    try:
        text, fallback = data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        text, fallback = data.decode("cp1252", errors="replace"), "cp1252"

    if not label:
        problem = f"has 8-bit bytes but declares no charset; decoded as {fallback}"
    elif codec is None:
        problem = f"declares the unknown charset {charset!r}; decoded as {fallback}"
    else:
        problem = f"is not valid {charset!r} text; decoded as {fallback}"
    return text, problem


def decode_words(value: str, defects: list[str], where: str) -> str:
    """Decode the RFC 2047 encoded words in ``value``; a problem adds a line to ``defects``."""
    if "=?" not in value:
        return value
    try:
        chunks = decode_header(value)
    except Exception as err:  # email.header raises on some broken encoded words
        defects.append(f"{where} has broken encoded words ({err}); kept as received")
        return value

    pieces = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            pieces.append(chunk)
        elif charset is None:
            pieces.append(chunk.decode("raw-unicode-escape", errors="replace"))
        else:
            text, problem = decode_text(chunk, charset)
            if problem:
                defects.append(f"{where}: an encoded word {problem}")
            pieces.append(text)
    return "".join(pieces)


def _codec(label: str) -> str | None:
    if not label or label in UNKNOWN_CHARSETS:
        return None
    label = CHARSET_ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    try:
        b"a".decode(name)
    except LookupError:  # a codec that is not a text encoding, such as base64
        return None
    except UnicodeDecodeError:  # a text encoding that needs more bytes, such as UTF-16
        pass
    return name


def _decode_header_bytes(value: bytes, name: str, defects: list[str] | None) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        if defects is not None:
            defects.append(f"header {name} has 8-bit bytes that are not UTF-8; decoded as cp1252")
        return value.decode("cp1252", errors="replace")


# Messages that are not MIME at all


def _take_bare_file(raw: bytes, parsed: ParsedMail) -> bool:
    """Take an input that is a file, not a mail (winmail.dat, .msg, PDF, image); tell if it was."""
    if HEADER_LINE.match(raw.split(b"\n", 1)[0].rstrip(b"\r")):
        return False
    sniffed = _sniff(raw)
    if sniffed is None:
        return False

    content_type, extension = sniffed
    filename = BARE_FILE_NAMES.get(content_type, f"message{extension}")
    walk = _Walk(parsed)
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
    _add_attachment(walk, Attachment(filename, content_type, raw), _Context())
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


# The MIME walk


def _walk_part(part: Message, walk: _Walk, context: _Context, path: str, depth: int) -> None:
    try:
        _take_part(part, walk, context, path, depth)
    except Exception as err:  # one unreadable part must not lose the others
        walk.parsed.defects.append(
            f"{path} could not be read ({type(err).__name__}: {err}); open the raw message to "
            "see it"
        )
        logger.warning("MIME part %s unreadable: %s", path, err, exc_info=True)


def _take_part(part: Message, walk: _Walk, context: _Context, path: str, depth: int) -> None:
    _record_part_defects(part, walk.parsed, path)
    content_type = part.get_content_type()

    if content_type in REPORT_TYPES:
        _take_report_part(part, content_type, walk.parsed)
        return
    if content_type in FORWARD_TYPES:
        _take_forwarded_part(part, walk, context, path)
        return
    if content_type == "message/external-body":
        access = part.get_param("access-type") or "unknown"
        walk.parsed.defects.append(
            f"{path} is message/external-body (access type {access}): its content is stored "
            "elsewhere and was not fetched, so ask the sender to attach the file itself"
        )
        return
    if part.is_multipart():
        _take_children(part, walk, context, path, depth)
        return
    if part.get_content_maintype() == "multipart":
        recovered = _recover_multipart(part, walk.parsed, path)
        if recovered is not None:
            _take_children(recovered, walk, context, path, depth)
        else:
            walk.body_parts.append((part, path))  # no parts: its payload is text
        return
    _take_leaf(part, walk, context, path)


def _take_children(part: Message, walk: _Walk, context: _Context, path: str, depth: int) -> None:
    if depth >= MAX_MULTIPART_DEPTH:
        walk.parsed.defects.append(
            f"{path} nests multiparts more than {MAX_MULTIPART_DEPTH} deep; the deeper parts "
            "were not read"
        )
        return

    is_report = part.get_content_type() == "multipart/report"
    prefix = "part " if path == "message" else f"{path}."
    for index, child in enumerate(part.get_payload(), start=1):
        child_path = f"{prefix}{index}"
        if is_report and index > 1 and child.get_content_type() in FORWARD_TYPES:
            # The returned original of a bounce, not a forwarded submission.
            _take_report_part(child, child.get_content_type(), walk.parsed)
            continue
        _walk_part(child, walk, context, child_path, depth + 1)


def _recover_multipart(part: Message, parsed: ParsedMail, path: str) -> Message | None:
    """Re-read a multipart whose declared boundary never appears, with the one its body uses."""
    payload = part.get_payload()
    if not isinstance(payload, str):
        return None
    body = payload.encode("ascii", "surrogateescape")
    found = BOUNDARY_LINE.search(body)
    if found is None:
        return None

    boundary = found.group(1).decode("ascii")
    declared = part.get_boundary()
    described = f"boundary {declared!r} never appears" if declared else "boundary is missing"
    parsed.defects.append(
        f"{path} ({part.get_content_type()}): its {described}; the parts were read with the "
        f"boundary {boundary!r} that its body uses"
    )
    head = f'Content-Type: {part.get_content_type()}; boundary="{boundary}"\r\n\r\n'
    return email.message_from_bytes(head.encode("ascii") + body, policy=compat32)


def _record_part_defects(part: Message, parsed: ParsedMail, path: str) -> None:
    for defect in part.defects:
        explanation = (type(defect).__doc__ or "").strip()
        parsed.defects.append(f"{path}: {type(defect).__name__}: {explanation}")


def _take_leaf(part: Message, walk: _Walk, context: _Context, path: str) -> None:
    parsed = walk.parsed
    content_type = part.get_content_type()
    filename = _part_filename(part, parsed, path)
    disposition = _disposition(part)
    if content_type in BODY_TYPES and filename is None and disposition != "attachment":
        walk.body_parts.append((part, path))
        return
    filename = filename or _location_name(part, parsed, path)

    data = _part_bytes(part, parsed, path)
    if not data:
        described = f"{filename!r}" if filename else f"an unnamed {content_type} part"
        parsed.defects.append(f"{path} ({described}) is empty (0 bytes)")
        if filename is None:
            return  # nothing to name, nothing to show

    attachment = Attachment(
        filename=filename,
        content_type=_effective_type(content_type, data),
        data=data,
        origin=context.origin,
        embedded_image=content_type.startswith("image/") and _content_id(part) in walk.content_ids,
    )
    _add_attachment(walk, attachment, context)


def _take_report_part(part: Message, content_type: str, parsed: ParsedMail) -> None:
    payload = part.get_payload()
    if isinstance(payload, list):
        text = "\n".join(_message_text(block) for block in payload)
    else:
        data = part.get_payload(decode=True)
        text = decode_text(data, None)[0] if isinstance(data, bytes) else str(payload)
    parsed.report_parts.append(ReportPart(content_type, text))


def _message_text(block: Message | str) -> str:
    if isinstance(block, str):
        return block
    try:
        return block.as_bytes().decode("utf-8", errors="replace")
    except Exception:  # the generator rejects some malformed trees
        return str(block.get_payload())


def _referenced_content_ids(message: Message) -> set[str]:
    """Return the lower-case Content-IDs that some HTML part refers to with ``cid:``."""
    found: set[str] = set()
    try:
        for part in message.walk():
            if part.get_content_type() != "text/html" or part.is_multipart():
                continue
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                html = data.decode("latin-1")
                found.update(unquote(ref).lower() for ref in CID_REFERENCE.findall(html))
    except Exception:  # an unreadable tree is reported by the walk itself
        logger.debug("could not collect cid references", exc_info=True)
    return found


def _content_id(part: Message) -> str | None:
    value = part.get("content-id")
    if value is None:
        return None
    return str(value).strip().strip("<>").lower() or None


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:  # a malformed disposition is as good as none
        return None


def _part_bytes(part: Message, parsed: ParsedMail, path: str) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception as err:  # broken transfer encodings
        parsed.defects.append(f"{path}: the content could not be decoded ({err})")
        return b""
    return payload if isinstance(payload, bytes) else b""


def _effective_type(declared: str, data: bytes) -> str:
    if declared not in GENERIC_TYPES:
        return declared
    sniffed = _sniff(data)
    return sniffed[0] if sniffed is not None else declared


def _sniff(data: bytes) -> tuple[str, str] | None:
    """Return the content type and extension that the content shows, or None."""
    for signature, content_type, extension in SIGNATURES:
        if data.startswith(signature):
            return content_type, extension
    if PDF_HEADER in data[:PDF_HEADER_WINDOW]:
        return "application/pdf", ".pdf"
    return None


# File names


def _part_filename(part: Message, parsed: ParsedMail, path: str) -> str | None:
    """Return the decoded name of ``part``: its filename, else the name in its Content-Type."""
    by_disposition = _name_parameter(part, "content-disposition", "filename", parsed, path)
    by_type = _name_parameter(part, "content-type", "name", parsed, path)
    if by_disposition and by_type and by_disposition != by_type:
        parsed.defects.append(
            f"{path} is named {by_disposition!r} by Content-Disposition but {by_type!r} by "
            f"Content-Type; {by_disposition!r} is used"
        )
    return by_disposition or by_type


def _location_name(part: Message, parsed: ParsedMail, path: str) -> str | None:
    """Return the last segment of the Content-Location of ``part``, some parts' only name."""
    location = _raw_header(part, "content-location", parsed, path)
    if not location:
        return None
    return _clean_filename(unquote(location.strip().strip("<>").split("?")[0]))


def _name_parameter(
    part: Message, header: str, parameter: str, parsed: ParsedMail, path: str
) -> str | None:
    value = _raw_header(part, header, parsed, path)
    if value is None:
        return None

    scratch = Message()
    scratch[header] = value
    try:
        raw = scratch.get_param(parameter, header=header)
    except Exception as err:  # malformed parameter lists
        parsed.defects.append(f"{path}: the {parameter} parameter is unreadable ({err})")
        return None
    if raw is None:
        return None

    if isinstance(raw, tuple):
        charset, _language, encoded = raw
        text, problem = decode_text(encoded.encode("raw-unicode-escape"), charset)
        if problem:
            parsed.defects.append(f"{path}: the RFC 2231 {parameter} {problem}")
    else:
        text = raw
    text = decode_words(text, parsed.defects, f"{path} {parameter}")
    return _clean_filename(text)


def _raw_header(part: Message, name: str, parsed: ParsedMail, path: str) -> str | None:
    """Return the first value of header ``name`` of ``part`` with raw 8-bit bytes decoded."""
    for key, value in part.raw_items():
        if key.lower() != name:
            continue
        text = str(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raw = text.encode("ascii", "surrogateescape")
            text, problem = decode_text(raw, None)
            if problem:
                parsed.defects.append(f"{path}: header {name} {problem}")
        return text
    return None


def _clean_filename(name: str) -> str | None:
    """Return ``name`` in NFC without folders and control characters, or None if nothing is left."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(character for character in name if character.isprintable()).strip()
    return name[:255] or None


def _default_name(position: int, content_type: str, data: bytes) -> str:
    sniffed = _sniff(data)
    if sniffed is not None and sniffed[1] != ".bin":
        extension = sniffed[1]
    else:
        extension = mimetypes.guess_extension(content_type) or ".bin"
    return f"attachment-{position}{extension}"


def _type_of_file(name: str | None, data: bytes) -> str:
    sniffed = _sniff(data)
    guessed = mimetypes.guess_type(name or "")[0]
    if sniffed is not None and (sniffed[0] not in SHARED_SIGNATURE_TYPES or guessed is None):
        return sniffed[0]
    return guessed or "application/octet-stream"


# Containers


def _add_attachment(walk: _Walk, attachment: Attachment, context: _Context) -> None:
    """Add ``attachment`` to the message; a container also adds the files inside it."""
    if attachment.filename is None:
        position = len(walk.parsed.attachments) + 1
        name = _default_name(position, attachment.content_type, attachment.data)
        attachment = replace(attachment, filename=name)

    if context.container_depth < MAX_CONTAINER_DEPTH:
        if is_tnef(attachment.data):
            _add_tnef(walk, attachment, context)
            return
        if is_zip_archive(attachment.data):
            _add_zip(walk, attachment, context)
            return
        if _is_mail_file(attachment):
            _add_mail_file(walk, attachment, context)
            return
    walk.parsed.attachments.append(attachment)


def _add_tnef(walk: _Walk, container: Attachment, context: _Context) -> None:
    label = container.filename or "winmail.dat"
    unpacked = unpack_tnef(container.data, label)
    walk.parsed.defects.extend(unpacked.defects)
    if unpacked.body_text and context.forward_depth == 0:
        walk.tnef_texts.append(unpacked.body_text)

    walk.parsed.attachments.append(replace(container, unpacked=not unpacked.defects))
    inner = context.inside(label)
    for file in unpacked.files:
        walk.unpacked_bytes += len(file.data)
        attachment = Attachment(file.name, _type_of_file(file.name, file.data), file.data)
        _add_attachment(walk, replace(attachment, origin=inner.origin), inner)


def _add_zip(walk: _Walk, container: Attachment, context: _Context) -> None:
    parsed = walk.parsed
    label = container.filename or "archive.zip"
    remaining = MAX_UNPACKED_BYTES - walk.unpacked_bytes
    if context.archive_depth >= MAX_ARCHIVE_DEPTH or remaining <= 0:
        reason = (
            "it sits inside another archive"
            if context.archive_depth >= MAX_ARCHIVE_DEPTH
            else f"this message already unpacked {walk.unpacked_bytes} bytes"
        )
        parsed.defects.append(
            f"archive {label!r} was not unpacked because {reason}; ask the creditor to send "
            "the documents without nested archives"
        )
        parsed.attachments.append(container)
        return

    limits = replace(ZIP_LIMITS, max_total_size=min(ZIP_LIMITS.max_total_size, remaining))
    unpacked = unpack_zip(container.data, label, limits)
    parsed.defects.extend(unpacked.defects)
    parsed.attachments.append(replace(container, unpacked=not unpacked.defects))

    inner = context.inside(label, archive=True)
    for file in unpacked.files:
        walk.unpacked_bytes += len(file.data)
        attachment = Attachment(file.name, _type_of_file(file.name, file.data), file.data)
        _add_attachment(walk, replace(attachment, origin=inner.origin), inner)


def _is_mail_file(attachment: Attachment) -> bool:
    """Tell whether an attachment not typed message/rfc822 is a saved mail (``*.eml``)."""
    name = (attachment.filename or "").lower()
    if not name.endswith(".eml") or attachment.content_type in FORWARD_TYPES:
        return False
    first_line = attachment.data.lstrip().split(b"\n", 1)[0].rstrip(b"\r")
    return HEADER_LINE.match(first_line) is not None


def _add_mail_file(walk: _Walk, container: Attachment, context: _Context) -> None:
    inner = email.message_from_bytes(container.data, policy=compat32)
    _add_forwarded(walk, inner, container, context, container.filename or "forwarded mail")


def _take_forwarded_part(part: Message, walk: _Walk, context: _Context, path: str) -> None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        inner = payload[0]
    else:
        decoded = part.get_payload(decode=True)
        raw = decoded if isinstance(decoded, bytes) else b""
        inner = email.message_from_bytes(raw, policy=compat32)

    try:
        data = inner.as_bytes()
    except Exception as err:  # the generator rejects some malformed trees
        walk.parsed.defects.append(f"{path}: the forwarded message could not be saved ({err})")
        data = b""

    filename = _part_filename(part, walk.parsed, path)
    if filename is None:
        position = len(walk.parsed.attachments) + 1
        filename = f"attachment-{position}.eml"
    container = Attachment(filename, "message/rfc822", data, origin=context.origin)
    _add_forwarded(walk, inner, container, context, path)


def _add_forwarded(
    walk: _Walk, inner: Message, container: Attachment, context: _Context, path: str
) -> None:
    parsed = walk.parsed
    subject = decode_words(str(inner.get("subject", "") or ""), parsed.defects, f"{path} subject")
    label = f"forwarded message {subject.strip()!r}" if subject.strip() else "forwarded message"
    if context.forward_depth >= MAX_FORWARD_DEPTH or context.container_depth >= MAX_CONTAINER_DEPTH:
        parsed.defects.append(
            f"{label} is nested more than {MAX_FORWARD_DEPTH} forwards deep; its attachments "
            f"were not taken out, so open {container.filename!r} to see them"
        )
        parsed.attachments.append(container)
        return

    parsed.attachments.append(replace(container, unpacked=True))
    _walk_part(inner, walk, context.inside(label, forward=True), f"{path} (forwarded)", 0)


# The body


def _fill_body(parsed: ParsedMail, data: bytes, walk: _Walk) -> None:
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


def _redecode_body_parts(walk: _Walk, texts: list[str], htmls: list[str]) -> None:
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


def _body_from_parts(walk: _Walk) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    htmls: list[str] = []
    for part, _path in walk.body_parts:
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data.strip():
            continue
        text = decode_text(data, part.get_content_charset())[0]
        (htmls if part.get_content_type() == "text/html" else texts).append(text)
    return texts, htmls


def _fill_tnef_body(parsed: ParsedMail, walk: _Walk) -> None:
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
