"""The walk over the MIME parts of a message, which fills its attachments and report parts.

Rules:

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

import email
import logging
import re
from dataclasses import replace
from email.message import Message
from email.policy import compat32
from urllib.parse import unquote

from incasso.intake.mime_decode import HEADER_LINE, decode_text, decode_words
from incasso.intake.mime_files import (
    default_name,
    effective_type,
    location_name,
    part_filename,
    type_of_file,
)
from incasso.intake.mime_model import Attachment, Context, ParsedMail, ReportPart, Walk
from incasso.intake.unpack import (
    ZipLimits,
    is_tnef,
    is_zip_archive,
    unpack_tnef,
    unpack_zip,
)

logger = logging.getLogger(__name__)

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


# The MIME walk


def walk_part(part: Message, walk: Walk, context: Context, path: str, depth: int) -> None:
    try:
        _take_part(part, walk, context, path, depth)
    except Exception as err:  # one unreadable part must not lose the others
        walk.parsed.defects.append(
            f"{path} could not be read ({type(err).__name__}: {err}); open the raw message to "
            "see it"
        )
        logger.warning("MIME part %s unreadable: %s", path, err, exc_info=True)


def _take_part(part: Message, walk: Walk, context: Context, path: str, depth: int) -> None:
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


def _take_children(part: Message, walk: Walk, context: Context, path: str, depth: int) -> None:
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
        walk_part(child, walk, context, child_path, depth + 1)


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


def _take_leaf(part: Message, walk: Walk, context: Context, path: str) -> None:
    parsed = walk.parsed
    content_type = part.get_content_type()
    filename = part_filename(part, parsed, path)
    disposition = _disposition(part)
    if content_type in BODY_TYPES and filename is None and disposition != "attachment":
        walk.body_parts.append((part, path))
        return
    filename = filename or location_name(part, parsed, path)

    data = _part_bytes(part, parsed, path)
    if not data:
        described = f"{filename!r}" if filename else f"an unnamed {content_type} part"
        parsed.defects.append(f"{path} ({described}) is empty (0 bytes)")
        if filename is None:
            return  # nothing to name, nothing to show

    attachment = Attachment(
        filename=filename,
        content_type=effective_type(content_type, data),
        data=data,
        origin=context.origin,
        embedded_image=content_type.startswith("image/") and _content_id(part) in walk.content_ids,
    )
    add_attachment(walk, attachment, context)


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


def referenced_content_ids(message: Message) -> set[str]:
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


# Containers


def add_attachment(walk: Walk, attachment: Attachment, context: Context) -> None:
    """Add ``attachment`` to the message; a container also adds the files inside it."""
    if attachment.filename is None:
        position = len(walk.parsed.attachments) + 1
        name = default_name(position, attachment.content_type, attachment.data)
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


def _add_tnef(walk: Walk, container: Attachment, context: Context) -> None:
    label = container.filename or "winmail.dat"
    unpacked = unpack_tnef(container.data, label)
    walk.parsed.defects.extend(unpacked.defects)
    if unpacked.body_text and context.forward_depth == 0:
        walk.tnef_texts.append(unpacked.body_text)

    walk.parsed.attachments.append(replace(container, unpacked=not unpacked.defects))
    inner = context.inside(label)
    for file in unpacked.files:
        walk.unpacked_bytes += len(file.data)
        attachment = Attachment(file.name, type_of_file(file.name, file.data), file.data)
        add_attachment(walk, replace(attachment, origin=inner.origin), inner)


def _add_zip(walk: Walk, container: Attachment, context: Context) -> None:
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
        attachment = Attachment(file.name, type_of_file(file.name, file.data), file.data)
        add_attachment(walk, replace(attachment, origin=inner.origin), inner)


def _is_mail_file(attachment: Attachment) -> bool:
    """Tell whether an attachment not typed message/rfc822 is a saved mail (``*.eml``)."""
    name = (attachment.filename or "").lower()
    if not name.endswith(".eml") or attachment.content_type in FORWARD_TYPES:
        return False
    first_line = attachment.data.lstrip().split(b"\n", 1)[0].rstrip(b"\r")
    return HEADER_LINE.match(first_line) is not None


def _add_mail_file(walk: Walk, container: Attachment, context: Context) -> None:
    inner = email.message_from_bytes(container.data, policy=compat32)
    _add_forwarded(walk, inner, container, context, container.filename or "forwarded mail")


def _take_forwarded_part(part: Message, walk: Walk, context: Context, path: str) -> None:
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

    filename = part_filename(part, walk.parsed, path)
    if filename is None:
        position = len(walk.parsed.attachments) + 1
        filename = f"attachment-{position}.eml"
    container = Attachment(filename, "message/rfc822", data, origin=context.origin)
    _add_forwarded(walk, inner, container, context, path)


def _add_forwarded(
    walk: Walk, inner: Message, container: Attachment, context: Context, path: str
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
    walk_part(inner, walk, context.inside(label, forward=True), f"{path} (forwarded)", 0)
