"""Cut a mail body into the creditor's message, forwarded or quoted messages and signatures.

- The text is cut into parts: the creditor's own message and each forwarded or quoted
  message. A part starts at a separator ("-----Original Message-----", "----------
  Forwarded message ---------"), an attribution ("Op … schreef …:", "Le … a écrit :",
  "On … wrote:") or a block of two or more header lines with a sender ("Van:", "De :",
  "From:"). Header lines are never read as claim text, and every address and sender
  name in them is kept from the debtor, because they belong to the forwarder, the
  original sender or their recipients.
- A signature runs from a sign-off line ("Met vriendelijke groeten", "Cordialement",
  "Kind regards") or the "-- " delimiter to the end of its part. Nothing in a signature
  is read, so the creditor's own name, phone and address never become the debtor's.

:func:`split_lines` gives each line its role, part and paragraph, and :class:`Passage`
joins the readable lines of one part so that a value may span lines.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

_SEPARATOR_RE = re.compile(
    r"-{2,}\s*(?:original message|oorspronkelijk bericht|message d'origine|forwarded message"
    r"|doorgestuurd bericht|message transf[ée]r[ée]|weitergeleitete nachricht)\s*-{2,}"
    r"|(?:begin doorgestuurd bericht|begin forwarded message"
    r"|d[ée]but du message r[ée]exp[ée]di[ée])\s*:|_{10,}",
    re.IGNORECASE,
)
# "Op … heeft X geschreven:", "Op … schreef X <x@y>:" (Gmail), "Le … a écrit :", "On … wrote:".
_ATTRIBUTION_RE = re.compile(
    r"(?:op|le|on|am)\s.+\b(?:schreef|geschreven|a\s+[ée]crit|wrote|schrieb)(?:\s.*)?:",
    re.IGNORECASE,
)
_HEADER_RE = re.compile(
    r"(?P<name>van|aan|cc|bcc|kopie|verzonden|datum|onderwerp|beantwoorden aan|from|to|sent"
    r"|date|subject|reply-to|de|à|a|pour|envoyé|objet|sujet|copie(?: à)?|cci|répondre à)\s*:",
    re.IGNORECASE,
)
_SENDER_HEADERS = frozenset({"van", "from", "de"})
_SIGN_OFF_RE = re.compile(
    r"(?:(?:met\s+)?(?:vriendelijke|hartelijke)\s+groet(?:en|jes)?|groet(?:en|jes)?|m\.?v\.?g\.?"
    r"|cordialement|bien\s+(?:à|a)\s+vous|(?:meilleures\s+)?salutations|sinc[eè]rement"
    r"|(?:with\s+)?(?:kind|best|warm)(?:est)?\s+regards|regards|sincerely|yours\s+faithfully)"
    r"(?!\w)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Line:
    number: int  # 1-based, in the text as received
    text: str  # without quote marks and surrounding white space
    role: str  # "text", "blank", "header" or "signature"
    part: int
    paragraph: int


def _unquote(line: str) -> str:
    return re.sub(r"^(?:\s*>)+", "", line).strip()


def split_lines(text: str) -> list[Line]:
    """Give each line its role, part and paragraph, following the module rules."""
    raw = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cleaned = [_unquote(line) for line in raw]
    roles = ["blank" if not line else "text" for line in cleaned]
    parts = [0] * len(cleaned)
    part = 0
    in_signature = False

    index = 0
    while index < len(cleaned):
        header_end = _header_end(cleaned, index)
        if header_end > index:
            part += 1
            in_signature = False
            for covered in range(index, header_end):
                roles[covered] = "header"
                parts[covered] = part
            index = header_end
            continue

        line = cleaned[index]
        if raw[index].rstrip("\r") in ("-- ", "--") or _is_sign_off(line):
            in_signature = True
        if in_signature and line:
            roles[index] = "signature"
        parts[index] = part
        index += 1

    return _number_paragraphs(cleaned, roles, parts)


def _is_sign_off(line: str) -> bool:
    """Tell whether ``line`` is a sign-off, alone or followed by up to three words of a name."""
    match = _SIGN_OFF_RE.match(line)
    rest = line[match.end() :] if match else ""
    return (
        match is not None
        and re.fullmatch(r"[\s,.!]*(?:[^\W\d_][\w.'-]*\s*){0,3}", rest) is not None
    )


def _header_end(lines: list[str], index: int) -> int:
    """Return the end of the separator, attribution or header block at ``index``, else ``index``."""
    line = lines[index]
    if _SEPARATOR_RE.fullmatch(line) or _ATTRIBUTION_RE.fullmatch(line):
        return index + 1
    following = lines[index + 1] if index + 1 < len(lines) else ""
    if "@" in following and _ATTRIBUTION_RE.fullmatch(f"{line} {following}"):
        return index + 2  # Gmail wraps a long attribution before the sender's address

    names: list[str] = []
    end = index
    while end < len(lines) and (match := _HEADER_RE.match(lines[end])):
        names.append(match.group("name").lower())
        end += 1
    if len(names) >= 2 and _SENDER_HEADERS & set(names):
        return end
    return index


def _number_paragraphs(cleaned: list[str], roles: list[str], parts: list[int]) -> list[Line]:
    lines: list[Line] = []
    paragraph = 0
    for index, text in enumerate(cleaned):
        readable = roles[index] == "text"
        if not readable or (lines and lines[-1].part != parts[index]):
            paragraph += 1
        lines.append(Line(index + 1, text, roles[index], parts[index], paragraph))
    return lines


@dataclass(frozen=True)
class Passage:
    """The readable lines of one part, joined with newlines so that values may span lines."""

    text: str
    lines: list[Line]
    starts: list[int]  # offset of each line in ``text``

    @classmethod
    def of(cls, lines: list[Line]) -> Passage:
        starts: list[int] = []
        offset = 0
        for line in lines:
            starts.append(offset)
            offset += len(line.text) + 1
        return cls("\n".join(line.text for line in lines), lines, starts)

    def line_at(self, offset: int) -> Line:
        return self.lines[bisect_right(self.starts, offset) - 1]

    def line_start(self, offset: int) -> int:
        return self.starts[bisect_right(self.starts, offset) - 1]

    def paragraph_span(self, paragraph: int) -> tuple[int, int]:
        indexes = [i for i, line in enumerate(self.lines) if line.paragraph == paragraph]
        last = indexes[-1]
        return self.starts[indexes[0]], self.starts[last] + len(self.lines[last].text)
