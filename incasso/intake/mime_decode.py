"""Reading header blocks and decoding encoded words and text in a declared charset.

Text that does not decode as declared is decoded as UTF-8, else as cp1252
with replacement characters. A 7-bit stateful charset such as UTF-7 keeps
its own codec with replacement characters instead. Each such problem comes
back as a sentence for ``ParsedMail.defects``.
"""

from __future__ import annotations

import codecs
import re
from email.header import decode_header

MESSAGE_ID_PATTERN = re.compile(r"<[^<>\s]+>")
HEADER_LINE = re.compile(rb"^([!-9;-~]+)[ \t]*:[ \t]*(.*)$")
BODY_SEPARATOR = re.compile(rb"\r?\n\r?\n")

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
