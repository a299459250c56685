"""Unpacking the containers that hide documents inside a mail attachment: zip and TNEF.

Rules:

- ``unpack_zip`` and ``unpack_tnef`` never raise on bad input. A damaged or rejected container comes
  back as a defect that names the container and what to do, and the caller
  keeps the container itself as an attachment.
- Zip archives are read with limits against zip bombs: a maximum number of
  files, a maximum total size after unpacking, and a maximum compression
  ratio for large members. The sizes are the ones declared in the archive's
  directory, and ``zipfile`` never returns more bytes than a member declares,
  so the limits also hold for an archive that lies about its sizes.
- Member names lose their folders, so no name can point outside the
  attachment list. Encrypted members are not unpacked but reported.
- This module does not recurse. The caller decides how deep containers
  inside containers are unpacked.
- TNEF (``winmail.dat``, application/ms-tnef) is decoded with tnefparse.
  Its files, including those of embedded Outlook items, become files of
  their own. The message body inside it is returned as text: the plain
  body if present, otherwise the compressed RTF body, decompressed and
  reduced to text here because tnefparse needs the separate
  ``compressed_rtf`` package for that.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import struct
import zipfile
from dataclasses import dataclass, field

from tnefparse.tnef import TNEF

logger = logging.getLogger(__name__)

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"
# Members that make a zip file an Office or OpenDocument file: a document, not an archive.
OFFICE_PACKAGE_MEMBERS = ("[Content_Types].xml", "mimetype")
# Folders and files that Mac and Windows archivers add beside the real files.
ARCHIVER_LEFTOVERS = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$)", re.IGNORECASE)
MAX_TNEF_EMBEDDING = 3


@dataclass(frozen=True)
class ZipLimits:
    """Limits for unpacking one zip archive; sizes in bytes."""

    max_members: int = 100
    max_total_size: int = 50 * 1024 * 1024
    max_ratio: int = 100
    # Members smaller than this are never rejected for their ratio: a small text
    # file can compress 1000:1 and is harmless. Zip bombs need a large output.
    ratio_min_size: int = 1024 * 1024


@dataclass(frozen=True)
class UnpackedFile:
    """A file taken out of a container, with its name as the container gave it."""

    name: str | None
    data: bytes


@dataclass
class Unpacked:
    """The files and body text found in a container, and what was odd about it."""

    files: list[UnpackedFile] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    body_text: str | None = None
    body_html: str | None = None


def is_zip_archive(data: bytes) -> bool:
    """Tell whether ``data`` is a zip archive that is not an Office or OpenDocument file."""
    if not data.startswith(ZIP_SIGNATURES):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return True  # a damaged archive is still reported as an archive
    return not any(member in names for member in OFFICE_PACKAGE_MEMBERS)


def is_tnef(data: bytes) -> bool:
    """Tell whether ``data`` starts with the TNEF signature."""
    return data.startswith(TNEF_SIGNATURE)


def unpack_zip(data: bytes, name: str, limits: ZipLimits | None = None) -> Unpacked:
    """Unpack the files of the zip archive ``data`` within ``limits``; ``name`` is for defects."""
    limits = limits or ZipLimits()
    result = Unpacked()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _unpack_members(archive, name, limits, result)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as err:
        result.defects.append(
            f"archive {name!r} could not be read ({type(err).__name__}: {err}); it is kept "
            "as it is, so ask the creditor to send the files again without the archive"
        )
        logger.warning("zip archive %r could not be read: %s", name, err)
    return result


def _unpack_members(
    archive: zipfile.ZipFile, name: str, limits: ZipLimits, result: Unpacked
) -> None:
    members = [info for info in archive.infolist() if not info.is_dir()]
    leftovers = [info for info in members if ARCHIVER_LEFTOVERS.search(info.filename)]
    if leftovers:
        logger.info("skipped %d archiver leftover file(s) in %r", len(leftovers), name)
    members = [info for info in members if info not in leftovers]

    if len(members) > limits.max_members:
        result.defects.append(
            f"archive {name!r} holds {len(members)} files, more than the limit of "
            f"{limits.max_members}; only the first {limits.max_members} were unpacked, so ask "
            "the creditor to send the rest in a separate mail"
        )
        members = members[: limits.max_members]

    total = 0
    for info in members:
        rejection = _rejection_reason(info, name, limits, total)
        if rejection is not None:
            result.defects.append(rejection)
            logger.warning("zip member rejected: %s", rejection)
            continue
        try:
            content = archive.read(info)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as err:
            result.defects.append(
                f"file {info.filename!r} in archive {name!r} could not be unpacked "
                f"({type(err).__name__}: {err}); the archive is kept as it is"
            )
            continue
        total += len(content)
        result.files.append(UnpackedFile(_member_name(info), content))


def _rejection_reason(
    info: zipfile.ZipInfo, name: str, limits: ZipLimits, total: int
) -> str | None:
    member = f"file {info.filename!r} in archive {name!r}"
    if info.flag_bits & 0x1:
        return (
            f"{member} is encrypted and was not unpacked; ask the creditor for the file "
            "without a password"
        )
    if total + info.file_size > limits.max_total_size:
        return (
            f"{member} would bring the unpacked size to {total + info.file_size} bytes, more "
            f"than the limit of {limits.max_total_size}; it was not unpacked"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size >= limits.ratio_min_size and ratio > limits.max_ratio:
        return (
            f"{member} expands {ratio:.0f} times ({info.compress_size} to {info.file_size} "
            f"bytes), more than the limit of {limits.max_ratio}, as a zip bomb would; it "
            "was not unpacked"
        )
    return None


def _member_name(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if not info.flag_bits & 0x800:
        # Without the UTF-8 flag zipfile decodes names as cp437, but many archivers
        # write UTF-8 anyway.
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("cp437").decode("utf-8")
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base or None


def unpack_tnef(data: bytes, name: str) -> Unpacked:
    """Unpack the files and the body text of the TNEF stream ``data``; ``name`` is for defects."""
    result = Unpacked()
    try:
        tnef = TNEF(data, do_checksum=False)
    except Exception as err:  # tnefparse raises assorted errors on damaged streams
        result.defects.append(
            f"TNEF attachment {name!r} could not be decoded ({type(err).__name__}: {err}); it "
            "is kept as it is, so ask the creditor to send the mail again in HTML or plain text"
        )
        logger.warning("TNEF attachment %r could not be decoded: %s", name, err)
        return result

    _collect_tnef_files(tnef, name, result, depth=0)
    _collect_tnef_body(tnef, name, result)
    return result


def _collect_tnef_files(tnef: TNEF, name: str, result: Unpacked, depth: int) -> None:
    for attachment in tnef.attachments:
        embedded = getattr(attachment, "embed", None)
        if embedded is not None:
            if depth >= MAX_TNEF_EMBEDDING:
                result.defects.append(
                    f"TNEF attachment {name!r} nests Outlook items more than "
                    f"{MAX_TNEF_EMBEDDING} deep; the deeper ones were not unpacked"
                )
                continue
            _collect_tnef_files(embedded, name, result, depth + 1)
            continue
        if not attachment.data:
            continue
        result.files.append(UnpackedFile(_tnef_file_name(attachment), bytes(attachment.data)))


def _tnef_file_name(attachment: object) -> str | None:
    for reader in ("long_filename", "name"):
        try:
            value = getattr(attachment, reader)
            value = value() if callable(value) else value
        except (UnicodeDecodeError, AttributeError, ValueError):
            continue
        if isinstance(value, bytes):
            value = _decode_legacy(value)
        if isinstance(value, str) and value.strip("\x00 "):
            return value.strip("\x00 ")
    return None


def _collect_tnef_body(tnef: TNEF, name: str, result: Unpacked) -> None:
    body = tnef.body
    if isinstance(body, bytes):
        body = _decode_legacy(body)
    if isinstance(body, str) and body.strip("\x00 \r\n"):
        result.body_text = body.strip("\x00")

    html = tnef.htmlbody
    if isinstance(html, bytes):
        html = _decode_legacy(html)
    if isinstance(html, str) and html.strip("\x00 \r\n"):
        result.body_html = html.strip("\x00")

    compressed = getattr(tnef, "_rtfbody", None)
    if result.body_text is not None or not compressed:
        return
    try:
        text = rtf_to_text(decompress_rtf(bytes(compressed)))
        result.body_text = text.replace("\x00", "").strip() or None
    except (ValueError, IndexError, struct.error) as err:
        result.defects.append(
            f"the RTF body in TNEF attachment {name!r} could not be read ({err}); the mail "
            "text is missing, so read the raw message"
        )


def _decode_legacy(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


# Compressed RTF (MS-OXRTFCP) starts its 4096-byte dictionary with this text.
RTF_PREBUFFER = (
    b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss "
    b"\\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier"
    b"{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"
)
RTF_COMPRESSED = 0x75465A4C  # "LZFu"
RTF_UNCOMPRESSED = 0x414C454D  # "MELA"


def decompress_rtf(data: bytes) -> bytes:
    """Decompress an Outlook compressed-RTF stream (MS-OXRTFCP); raise ValueError if damaged."""
    if len(data) < 16:
        raise ValueError(f"compressed RTF is {len(data)} bytes, shorter than its 16-byte header")
    compressed_size, raw_size, kind, _crc = struct.unpack_from("<IIII", data)
    if kind == RTF_UNCOMPRESSED:
        return data[16 : 16 + raw_size]
    if kind != RTF_COMPRESSED:
        raise ValueError(f"compressed RTF has unknown type {kind:#010x}")

    window = bytearray(4096)
    window[: len(RTF_PREBUFFER)] = RTF_PREBUFFER
    position = len(RTF_PREBUFFER)
    output = bytearray()
    source = data[16 : 4 + compressed_size]
    missing = compressed_size - 12 - len(source)
    if missing > 16:
        raise ValueError(f"compressed RTF is cut off: {missing} of {compressed_size} bytes missing")
    # tnefparse 1.4 drops the last byte of the stream, so a short tail is padded back.
    source = source.ljust(compressed_size - 12, b"\x00")
    index = 0

    while index < len(source):
        control = source[index]
        index += 1
        for bit in range(8):
            if index >= len(source):
                break
            if not control & (1 << bit):
                byte = source[index]
                index += 1
                output.append(byte)
                window[position] = byte
                position = (position + 1) % 4096
                continue

            reference = (source[index] << 8) | source[index + 1]
            index += 2
            offset, length = reference >> 4, (reference & 0xF) + 2
            if offset == position:
                return bytes(output)  # the end marker
            for step in range(length):
                byte = window[(offset + step) % 4096]
                output.append(byte)
                window[position] = byte
                position = (position + 1) % 4096
    return bytes(output)


RTF_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\(.)|([{}])|[\r\n]+|([^\\{}\r\n]+)",
    re.DOTALL,
)
# Groups whose content is never text: font and colour tables, pictures, metadata.
RTF_SKIPPED_GROUPS = {
    b"fonttbl",
    b"colortbl",
    b"stylesheet",
    b"info",
    b"pict",
    b"object",
    b"themedata",
    b"datastore",
    b"latentstyles",
    b"listtable",
    b"listoverridetable",
    b"rsidtbl",
    b"generator",
    b"header",
    b"footer",
}
RTF_BREAKS = {b"par": "\n", b"line": "\n", b"tab": "\t", b"cell": "\t", b"row": "\n"}


@dataclass
class _RtfGroup:
    skipped: bool = False
    unicode_skip: int = 1


def rtf_to_text(rtf: bytes) -> str:
    """Reduce an RTF document to its visible text; control words and hidden groups are dropped.

    Handles ``\\'hh`` bytes in the document's ``\\ansicpg`` code page, ``\\uN`` characters,
    and Outlook's encapsulated HTML, where ``\\htmlrtf`` marks RTF-only text.
    """
    codepage = _rtf_codepage(rtf)
    stack = [_RtfGroup()]
    pieces: list[str] = []
    pending = bytearray()  # \'hh bytes, decoded together so double-byte code pages work
    html_only = False
    skip_chars = 0
    group_start = False

    def flush() -> None:
        if pending:
            pieces.append(pending.decode(codepage, errors="replace"))
            pending.clear()

    for match in RTF_TOKEN.finditer(rtf):
        word, argument, hex_byte, symbol, brace, text = match.groups()
        group = stack[-1]
        starts_group = group_start
        group_start = False

        if brace == b"{":
            flush()
            stack.append(_RtfGroup(group.skipped, group.unicode_skip))
            group_start = True
        elif brace == b"}":
            flush()
            if len(stack) > 1:
                stack.pop()
        elif group.skipped:
            continue
        elif word is not None:
            if word in RTF_SKIPPED_GROUPS and starts_group:
                group.skipped = True
            elif word == b"htmlrtf":
                html_only = argument != b"0"
            elif word == b"uc" and argument is not None:
                group.unicode_skip = int(argument)
            elif word == b"u" and argument is not None and not html_only:
                flush()
                pieces.append(chr(int(argument) % 65536))
                skip_chars = group.unicode_skip
            elif word in RTF_BREAKS and not html_only:
                flush()
                pieces.append(RTF_BREAKS[word])
        elif symbol is not None:
            if symbol == b"*" and starts_group:
                group.skipped = True
            elif symbol in (b"\\", b"{", b"}") and not html_only:
                flush()
                pieces.append(symbol.decode("ascii"))
            elif symbol == b"~" and not html_only:
                pieces.append("\u00a0")
        elif hex_byte is not None and not html_only:
            if skip_chars:
                skip_chars -= 1
            else:
                pending.append(int(hex_byte, 16))
        elif text is not None and not html_only:
            if skip_chars:
                dropped = min(skip_chars, len(text))
                text = text[dropped:]
                skip_chars -= dropped
            flush()
            pieces.append(text.decode(codepage, errors="replace"))
    flush()
    return "".join(pieces)


def _rtf_codepage(rtf: bytes) -> str:
    found = re.search(rb"\\ansicpg(\d{3,5})", rtf[:4096])
    if found is None:
        return "cp1252"
    name = f"cp{found.group(1).decode('ascii')}"
    try:
        b"".decode(name)
    except LookupError:
        return "cp1252"
    return name
