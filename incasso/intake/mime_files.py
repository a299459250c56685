"""File names and content types of the files in a message.

A part's name comes from the filename parameter of Content-Disposition, else
the name parameter of Content-Type, else the last segment of
Content-Location, with RFC 2231 and RFC 2047 encodings decoded. A declared
type that carries no information, such as application/octet-stream, gives
way to the type that the file's first bytes show.
"""

from __future__ import annotations

import mimetypes
import unicodedata
from email.message import Message
from urllib.parse import unquote

from incasso.intake.mime_decode import decode_text, decode_words
from incasso.intake.mime_model import ParsedMail

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
PDF_HEADER_WINDOW = 1024


# Content types


def effective_type(declared: str, data: bytes) -> str:
    if declared not in GENERIC_TYPES:
        return declared
    sniffed = sniff(data)
    return sniffed[0] if sniffed is not None else declared


def sniff(data: bytes) -> tuple[str, str] | None:
    """Return the content type and extension that the content shows, or None."""
    for signature, content_type, extension in SIGNATURES:
        if data.startswith(signature):
            return content_type, extension
    if PDF_HEADER in data[:PDF_HEADER_WINDOW]:
        return "application/pdf", ".pdf"
    return None


# File names


def part_filename(part: Message, parsed: ParsedMail, path: str) -> str | None:
    """Return the decoded name of ``part``: its filename, else the name in its Content-Type."""
    by_disposition = _name_parameter(part, "content-disposition", "filename", parsed, path)
    by_type = _name_parameter(part, "content-type", "name", parsed, path)
    if by_disposition and by_type and by_disposition != by_type:
        parsed.defects.append(
            f"{path} is named {by_disposition!r} by Content-Disposition but {by_type!r} by "
            f"Content-Type; {by_disposition!r} is used"
        )
    return by_disposition or by_type


def location_name(part: Message, parsed: ParsedMail, path: str) -> str | None:
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


def default_name(position: int, content_type: str, data: bytes) -> str:
    sniffed = sniff(data)
    if sniffed is not None and sniffed[1] != ".bin":
        extension = sniffed[1]
    else:
        extension = mimetypes.guess_extension(content_type) or ".bin"
    return f"attachment-{position}{extension}"


def type_of_file(name: str | None, data: bytes) -> str:
    sniffed = sniff(data)
    guessed = mimetypes.guess_type(name or "")[0]
    if sniffed is not None and (sniffed[0] not in SHARED_SIGNATURE_TYPES or guessed is None):
        return sniffed[0]
    return guessed or "application/octet-stream"
