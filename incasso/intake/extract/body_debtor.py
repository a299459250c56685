"""Find the debtor of each typed claim: a labeled block, else a guess from the claim text.

- The debtor comes from a labeled block ("Klant: Jan Peeters, jan.peeters@mail.test,
  0475 12 34 56, Kerkstraat 4, 9000 Gent", or the label alone with the details on the
  next lines). A claim takes the block in its own paragraph, else the last debtor
  paragraph before it, else the first one after it. Addresses, phone numbers and VAT
  numbers that the caller excludes are left out.
- Every e-mail address and display name in a forwarded header is left out too, because
  they belong to the forwarder, the original sender or their recipients.

Confidence is 0.85 (:data:`~incasso.intake.extract.body_claim.CONFIDENCE_LABELED`) for
the details in a labeled block. It is 0.6
(:data:`~incasso.intake.extract.body_claim.CONFIDENCE_GUESS`) for a name after the word
"klant" or the only e-mail address in the claim text, where no debtor block gives one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from incasso.cases.phone import normalize_phone_number
from incasso.intake.extract.body_claim import CONFIDENCE_GUESS, CONFIDENCE_LABELED, Segment
from incasso.intake.extract.body_labels import find_labels, find_mentions
from incasso.intake.extract.body_quotes import Line
from incasso.intake.extract.model import Field, FieldName
from incasso.intake.extract.normalize import Exclusions, find_emails, find_vats, normalize_vat

_MAX_BLOCK_LINES = 6  # lines read below a debtor label that has no value on its own line

_DEBTOR_LABEL_RE = re.compile(
    r"(?<!\w)(?P<label>naam klant|klantnaam|klantgegevens|gegevens (?:van )?(?:de )?klant|klant"
    r"|debiteur|schuldenaar|naam|nom du client|coordonn[ée]es du client|client|d[ée]biteur|nom"
    r"|customer name|customer details|customer|debtor|bill(?:ed)? to|name)\s*:\s*",
    re.IGNORECASE,
)
# Labels inside a debtor block; the group name tells which detail follows.
_CONTACT_LABEL_RE = re.compile(
    r"(?:(?P<email>e-?mail(?:adres)?|adresse e-mail|courriel|mail)"
    r"|(?P<phone>t[ée]l[ée]phone|telefoon|tel\.?|t[ée]l\.?|gsm|phone|mobiel|mobile)"
    r"|(?P<vat>btw(?:-?nummer|-?nr\.?)?|n[°º] tva|tva|vat(?: number| no\.?)?"
    r"|ondernemingsnummer|num[ée]ro d'entreprise)"
    r"|(?P<address>adres|adresse|address))\s*:\s*",
    re.IGNORECASE,
)
_NAME_AFTER_WORD_RE = re.compile(
    r"(?<!\w)(?i:klant|client|customer|debiteur|d[ée]biteur|debtor)"
    r"\s+((?:[A-ZÀ-Ý][\w.&'-]*)(?:[ \t]+[A-ZÀ-Ý][\w.&'-]*){0,4})"
)
_POSTCODE_CITY_RE = re.compile(r"(?:B-|BE-)?\d{4}\s+[^\W\d_][^\d]*")
_STREET_RE = re.compile(
    r"[^\W\d_][^\d]*\s\d+\s?[A-Za-z]?(?:\s*(?:bus|bte|boîte|box)\s*\w+)?|\d+[A-Za-z]?,?\s+[^\W\d_].*",
    re.IGNORECASE,
)
_PHONE_RE = re.compile(r"(?:\+|00|0)[\d\s./()-]{7,}")
_COUNTRY_RE = re.compile(r"belgi[ëe]|belgique|belgium|nederland|france", re.IGNORECASE)
_DISPLAY_NAME_RE = re.compile(r":\s*\"?([^<\"]+?)\"?\s*<")


@dataclass(frozen=True)
class _Exclusions:
    """Values that never become the debtor's: the caller's entries and the header addresses."""

    entries: Exclusions
    phones: frozenset[str]
    header_emails: frozenset[str]
    header_names: frozenset[str]

    def email(self, address: str) -> bool:
        return self.entries.excludes_email(address) or address in self.header_emails


@dataclass(frozen=True)
class _Block:
    line: int
    paragraph: int
    fields: dict[FieldName, Field]


def find_blocks(lines: list[Line], excluded: _Exclusions) -> list[_Block]:
    blocks: list[_Block] = []
    for index, line in enumerate(lines):
        match = _DEBTOR_LABEL_RE.search(line.text) if line.role == "text" else None
        if match is None:
            continue
        inline = _cut_at_claim(line.text[match.end() :])
        entries = [(line, entry) for entry in _split_entries(inline)]
        for following in lines[index + 1 : index + 1 + _MAX_BLOCK_LINES]:
            if following.paragraph != line.paragraph or _ends_block(following.text, inline):
                break
            entries.extend((following, entry) for entry in _split_entries(following.text))
        fields = _block_fields(entries, match.group("label"), excluded)
        if fields:
            blocks.append(_Block(line.number, line.paragraph, fields))
    return blocks


def _cut_at_claim(text: str) -> str:
    """Cut a debtor label's value before any invoice number or claim label in it."""
    starts = [mention.start for mention in find_mentions(text)]
    starts += [label.start for label in find_labels(text, ()) if label.spec is not None]
    return text[: min(starts, default=len(text))]


def _ends_block(text: str, inline: str) -> bool:
    if _DEBTOR_LABEL_RE.search(text) or find_mentions(text):
        return True
    if inline.strip():  # after "Klant: Jan Peeters" only labeled contact lines follow
        return _CONTACT_LABEL_RE.match(text) is None
    labels = find_labels(text, ())
    return bool(labels) and labels[0].start == 0 and labels[0].spec is not None


def _split_entries(text: str) -> list[str]:
    return [entry.strip() for entry in re.split(r"[;|]|,\s", text) if entry.strip()]


def _block_fields(
    entries: list[tuple[Line, str]], caption: str, excluded: _Exclusions
) -> dict[FieldName, Field]:
    """Sort a block's entries into name, e-mail, phone, VAT number and address."""
    found: dict[FieldName, tuple[str, str, Line]] = {}
    address: list[tuple[str, Line]] = []
    for line, entry in entries:
        label_match = _CONTACT_LABEL_RE.match(entry)
        label = (label_match.lastgroup or "") if label_match else ""
        value = entry[label_match.end() :] if label_match else entry
        kind, normalized = _classify(value, label, excluded)
        if kind is FieldName.DEBTOR_EMAIL and FieldName.DEBTOR_NAME not in found:
            name = value[: value.lower().find(normalized)].strip(" <>()\"'")
            if _is_name(name, excluded):
                found[FieldName.DEBTOR_NAME] = (name, name, line)
        if kind is FieldName.DEBTOR_ADDRESS:
            address.append((value, line))
        elif kind is not None and kind not in found:
            found[kind] = (normalized, value, line)

    if address:
        joined = ", ".join(part for part, _ in address)
        found[FieldName.DEBTOR_ADDRESS] = (joined, joined, address[0][1])
    return {
        name: Field(
            value, raw, f"mail body line {line.number}, after {caption!r}", CONFIDENCE_LABELED
        )
        for name, (value, raw, line) in found.items()
    }


def _classify(value: str, label: str, excluded: _Exclusions) -> tuple[FieldName | None, str]:
    """Return the field that ``value`` fills and its normalized form, or (None, "").

    ``label`` is the group name of its contact label ("email", "phone", "vat",
    "address"), or "" without one. An excluded value gives (None, "").
    """
    emails = find_emails(value)
    if emails:
        return (None, "") if excluded.email(emails[0]) else (FieldName.DEBTOR_EMAIL, emails[0])
    vats = find_vats(value)
    if not vats and label == "vat" and (vat := normalize_vat(value)):
        vats = [vat]
    if vats:
        return (
            (None, "")
            if excluded.entries.excludes_vat(vats[0])
            else (FieldName.DEBTOR_VAT, vats[0])
        )
    if label == "vat":
        return None, ""  # an invalid number after a VAT label is no phone or name
    if _PHONE_RE.fullmatch(value) or label == "phone":
        phone = normalize_phone_number(value)
        if phone is not None:
            return (None, "") if phone in excluded.phones else (FieldName.DEBTOR_PHONE, phone)
    if label == "address" or _POSTCODE_CITY_RE.fullmatch(value) or _STREET_RE.fullmatch(value):
        return FieldName.DEBTOR_ADDRESS, value
    if _COUNTRY_RE.fullmatch(value):
        return FieldName.DEBTOR_ADDRESS, value
    if not label and _is_name(value, excluded):
        return FieldName.DEBTOR_NAME, value
    return None, ""


def _is_name(text: str, excluded: _Exclusions) -> bool:
    return sum(char.isalpha() for char in text) >= 2 and text.lower() not in excluded.header_names


def debtor_for(segment: Segment, blocks: list[_Block], busy: dict[int, int]) -> _Block | None:
    """Pick the debtor block of a claim.

    ``busy`` maps each paragraph with invoice numbers to the line of its first number.
    """
    first = segment.passage.line_at(segment.mention.start)
    same = [block for block in blocks if block.paragraph == first.paragraph]
    if same and same[0].line < busy[first.paragraph]:  # blocks head the claims below them
        return [block for block in same if block.line <= first.number][-1]
    if same:  # blocks follow their claims
        last = segment.line(max(segment.start, segment.end - 1))
        return next((block for block in same if first.number <= block.line <= last), same[0])

    standalone = [block for block in blocks if block.paragraph not in busy]
    before = [block for block in standalone if block.line < first.number]
    if before:
        return before[-1]
    return next((block for block in standalone if block.line > first.number), None)


def guessed_debtor(segment: Segment, excluded: _Exclusions) -> dict[FieldName, Field]:
    """Guess the debtor's name after "klant" and the only e-mail address in the claim text."""
    text = segment.passage.text[segment.start : segment.end]
    fields: dict[FieldName, Field] = {}
    emails = [email for email in find_emails(text) if not excluded.email(email)]
    if len(emails) == 1:
        line = segment.line(segment.start + text.lower().index(emails[0]))
        source = f"mail body line {line}, the only e-mail address in the claim"
        fields[FieldName.DEBTOR_EMAIL] = Field(emails[0], emails[0], source, CONFIDENCE_GUESS)
    match = _NAME_AFTER_WORD_RE.search(text)
    if match is not None and _is_name(match.group(1), excluded):
        line = segment.line(segment.start + match.start())
        source = f"mail body line {line}, name after {match.group().split()[0]!r}"
        name = match.group(1)
        fields[FieldName.DEBTOR_NAME] = Field(name, name, source, CONFIDENCE_GUESS)
    return fields


def header_exclusions(lines: list[Line], entries: Exclusions) -> _Exclusions:
    phones = {normalize_phone_number(entry) for entry in entries.unrecognized}
    emails: set[str] = set()
    names: set[str] = set()
    for line in lines:
        if line.role != "header":
            continue
        emails.update(find_emails(line.text))
        match = _DISPLAY_NAME_RE.search(line.text)
        if match is not None:
            names.add(match.group(1).strip().lower())
    return _Exclusions(
        entries, frozenset(p for p in phones if p), frozenset(emails), frozenset(names)
    )
