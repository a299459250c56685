"""The new text of a reply: what the debtor wrote, without the quoted reminder or a signature.

Mail clients quote the message they answer in many ways. We drop:

- lines quoted with ``>``;
- everything from an attribution line ("On … wrote:", "Op … schreef …:",
  "Le … a écrit :", "Am … schrieb …:"), also when the client wrapped it over
  two lines;
- everything from a separator ("-----Original Message-----", "-------- Message
  d'origine --------", "-----Oorspronkelijk bericht-----", "-----Ursprüngliche
  Nachricht-----") or from an Outlook header block ("From:/Van:/De :/Von:"
  followed by "Sent:/Verzonden:/Envoyé :/Gesendet:/Date :" within a few lines);
- the signature after "-- " and the "Sent from my phone" lines of mobile clients.

A reply that answers between quoted lines keeps its answers: the quoted
lines go, the lines in between stay. An HTML-only reply is first cut where
the client starts the quoted message (a ``blockquote``, or the quote
container of Gmail, Outlook, Thunderbird or Yahoo).
"""

from __future__ import annotations

import re

# An attribution line, whole or as its last part when the client wrapped it.
ATTRIBUTION_END = re.compile(
    r"(\bwrote|\bschreef\b.*|\ba\s+écrit|\bschrieb\b.*|\bescribió)\s*:\s*$", re.IGNORECASE
)
ATTRIBUTION_START = re.compile(r"^\s*(On|Op|Le|Am|El)\s+\S", re.IGNORECASE)
SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(original message|oorspronkelijk bericht|origineel bericht|"
    r"message d'origine|message d’origine|ursprüngliche nachricht|forwarded message|"
    r"doorgestuurd bericht|message transféré|weitergeleitete nachricht)\s*-{2,}\s*$",
    re.IGNORECASE,
)
HEADER_FROM = re.compile(r"^\s*\*?(from|van|de|von)\s*\*?\s*:", re.IGNORECASE)
HEADER_NEXT = re.compile(
    r"^\s*\*?(sent|verzonden|envoyé|gesendet|date|datum|to|aan|à|an)\s*\*?\s*:", re.IGNORECASE
)
RULE = re.compile(r"^\s*_{8,}\s*$")
SIGNATURE = re.compile(r"^--\s?$")
MOBILE_FOOTER = re.compile(
    r"^\s*(sent from my|verzonden (vanaf|met) mijn|verstuurd (vanaf|met) mijn|"
    r"envoyé (de|depuis) mon|envoyé à partir de|von meinem .* gesendet|get outlook for|"
    r"download outlook for)",
    re.IGNORECASE,
)
# The start of the quoted message in an HTML reply, per mail client.
HTML_QUOTE_START = re.compile(
    r"<blockquote|<div[^>]*(gmail_quote|divRplyFwdMsg|moz-cite-prefix|yahoo_quoted|"
    r"OLK_SRC_BODY_SECTION)|<hr[^>]*stopSpelling|<div[^>]*id=[\"']?appendonsend",
    re.IGNORECASE,
)
# An attribution wrapped over this many lines is still recognized.
MAX_ATTRIBUTION_LINES = 3
# "From:" and "Sent:" of an Outlook header block lie at most this many lines apart.
HEADER_BLOCK_LINES = 4


def new_text(body: str) -> str:
    """Return the text the sender wrote in ``body``, without quotes and signature."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = _before_signature(lines)
    marker = _quote_start(kept)
    if marker is not None:
        start, length, attribution = marker
        before = [line for line in kept[:start] if line.strip() and not _quoted(line)]
        after = kept[start + length :]
        if attribution and not before and any(_quoted(line) for line in after):
            kept = after  # answers written between the quoted lines
        else:
            kept = kept[:start]
    text = "\n".join(line for line in kept if not _quoted(line))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def html_new_part(html: str) -> str:
    """Return the part of an HTML reply before the message it quotes."""
    match = HTML_QUOTE_START.search(html)
    return html[: match.start()] if match else html


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _before_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if SIGNATURE.match(line) or MOBILE_FOOTER.match(line):
            return lines[:index]
    return lines


def _quote_start(lines: list[str]) -> tuple[int, int, bool] | None:
    """Find where the quoted message starts: (line index, lines of the marker, is attribution)."""
    for index, line in enumerate(lines):
        if SEPARATOR.match(line) or (RULE.match(line) and _header_block_at(lines, index + 1)):
            return index, 1, False
        if _header_block_at(lines, index):
            return index, 1, False
        length = _attribution_length(lines, index)
        if length:
            return index, length, True
    return None


def _attribution_length(lines: list[str], index: int) -> int:
    """Return how many lines the attribution starting at ``index`` takes; 0 when there is none."""
    if not ATTRIBUTION_START.match(lines[index]):
        return 0
    joined = ""
    for count, line in enumerate(lines[index : index + MAX_ATTRIBUTION_LINES], start=1):
        joined = f"{joined} {line.strip()}"
        if ATTRIBUTION_END.search(joined):
            return count
    return 0


def _header_block_at(lines: list[str], index: int) -> bool:
    if index >= len(lines) or not HEADER_FROM.match(lines[index]):
        return False
    following = lines[index + 1 : index + 1 + HEADER_BLOCK_LINES]
    return any(HEADER_NEXT.match(line) for line in following)
