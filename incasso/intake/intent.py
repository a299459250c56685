"""What a debtor's reply asks for: a proposal, with the words it rests on, for staff to confirm.

The reply's new text (see incasso.intake.reply_text) is matched against the
patterns of ``intent_rules.toml``, kept as data so that staff can read and
extend them. Every matched phrase is kept as evidence. A promise to pay
carries the promised date when the text names one ("tegen 15 december",
"le 20/12", "end of the month"), and a claim of payment notes whether the
reply has an attachment that could be the proof.
"""

from __future__ import annotations

import calendar
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources


class Intent(StrEnum):
    DEBT_MEDIATION = "debt_mediation"
    MOVED_OR_DECEASED = "moved_or_deceased"
    WRONG_DEBTOR = "wrong_debtor"
    DISPUTE = "dispute"
    PAYMENT_PLAN = "payment_plan"
    PAID = "paid"
    PROMISE_TO_PAY = "promise_to_pay"
    QUESTION = "question"
    OTHER = "other"


# When several intents match, the first of this order is the proposal.
PRIORITY = tuple(Intent)
RULES_FILE = "intent_rules.toml"
# The table of RULES_FILE that contains pieces shared by patterns, written ``{name}`` in a pattern.
# Regular-expression repetitions such as ``{0,40}`` contain digits, so they never look like a name.
FRAGMENTS = "fragments"
FRAGMENT_NAME = re.compile(r"\{([a-z_]+)\}")
# Evidence is the matched phrase with this many characters of context on each side.
CONTEXT_CHARS = 30
MONTHS = {
    # Dutch, French, German and English month names and their usual abbreviations.
    **dict.fromkeys(("januari", "janvier", "januar", "january", "jan"), 1),
    **dict.fromkeys(("februari", "février", "fevrier", "februar", "february", "feb", "fév"), 2),
    **dict.fromkeys(("maart", "mars", "märz", "march", "mrt", "mar"), 3),
    **dict.fromkeys(("april", "avril", "apr", "avr"), 4),
    **dict.fromkeys(("mei", "mai", "may"), 5),
    **dict.fromkeys(("juni", "juin", "june", "jun"), 6),
    **dict.fromkeys(("juli", "juillet", "july", "jul", "juil"), 7),
    **dict.fromkeys(("augustus", "août", "aout", "august", "aug"), 8),
    **dict.fromkeys(("september", "septembre", "sep", "sept"), 9),
    **dict.fromkeys(("oktober", "octobre", "october", "okt", "oct"), 10),
    **dict.fromkeys(("november", "novembre", "nov"), 11),
    **dict.fromkeys(("december", "décembre", "decembre", "dezember", "dec", "déc", "dez"), 12),
}
NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?\b")
NAMED_DATE = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th|e|er|ste|de)?\.?\s+([^\W\d_]{3,10})\.?(?:\s+(\d{4}))?\b"
)
END_OF_MONTH = re.compile(
    r"(einde? (van )?de(ze)? maand|eind deze maand|fin (du|de ce) mois|end of (the|this) month|"
    r"ende (des|dieses) monats)",
    re.IGNORECASE,
)
NEXT_WEEK = re.compile(
    r"(volgende week|la semaine prochaine|next week|nächste woche)", re.IGNORECASE
)


@dataclass(frozen=True)
class Proposal:
    """The intent a reply seems to express, the words it rests on, and the facts with it."""

    intent: Intent
    # Other intents that matched too, in order of priority.
    also: tuple[Intent, ...] = ()
    # The matched phrases, with a little context, for staff to judge the proposal by.
    evidence: tuple[str, ...] = ()
    promised_date: date | None = None
    proof_attached: bool = False
    details: dict[str, str] = field(default_factory=dict)

    def as_detail(self) -> dict[str, object]:
        """Return the proposal as the JSON detail of a timeline event."""
        return {
            "intent": self.intent.value,
            "also": [intent.value for intent in self.also],
            "evidence": list(self.evidence),
            "promised_date": self.promised_date.isoformat() if self.promised_date else None,
            "proof_attached": self.proof_attached,
        }


def classify(text: str, *, received_on: date, has_attachment: bool = False) -> Proposal:
    """Propose the intent of ``text``, the new text of a reply received on ``received_on``."""
    found: dict[Intent, list[str]] = {}
    for intent, patterns in _rules().items():
        for pattern in patterns:
            for match in pattern.finditer(text):
                found.setdefault(intent, []).append(_evidence(text, match))

    matched = [intent for intent in PRIORITY if intent in found]
    if not matched:
        return Proposal(Intent.OTHER)
    intent = matched[0]
    promised = promised_date(text, received_on) if intent == Intent.PROMISE_TO_PAY else None
    return Proposal(
        intent=intent,
        also=tuple(matched[1:]),
        evidence=tuple(dict.fromkeys(found[intent])),
        promised_date=promised,
        proof_attached=intent == Intent.PAID and has_attachment,
    )


def promised_date(text: str, received_on: date) -> date | None:
    """Return the first future date that ``text`` names, counted from ``received_on``."""
    for match in NUMERIC_DATE.finditer(text):
        day, month, year = match.groups()
        found = _future_date(int(day), int(month), year, received_on)
        if found is not None:
            return found
    for match in NAMED_DATE.finditer(text):
        day, name, year = match.groups()
        month = MONTHS.get(name.lower())
        if month is not None:
            found = _future_date(int(day), month, year, received_on)
            if found is not None:
                return found
    if END_OF_MONTH.search(text):
        last = calendar.monthrange(received_on.year, received_on.month)[1]
        return received_on.replace(day=last)
    if NEXT_WEEK.search(text):
        return received_on + timedelta(days=7)
    return None


def _future_date(day: int, month: int, year: str | None, received_on: date) -> date | None:
    """Return the date, in the coming year when no year is given; None when it is no date."""
    if year is None:
        candidates = [received_on.year, received_on.year + 1]
    else:
        candidates = [int(year) + 2000 if len(year) == 2 else int(year)]
    for candidate in candidates:
        try:
            found = date(candidate, month, day)
        except ValueError:
            return None
        if found >= received_on:
            return found
    return None


def _evidence(text: str, match: re.Match[str]) -> str:
    start = max(match.start() - CONTEXT_CHARS, 0)
    end = min(match.end() + CONTEXT_CHARS, len(text))
    excerpt = " ".join(text[start:end].split())
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return f"{prefix}{excerpt}{suffix}"


@cache
def _rules() -> dict[Intent, list[re.Pattern[str]]]:
    """Read the patterns of every intent, all languages together, with their fragments filled in."""
    data = tomllib.loads(resources.files(__package__).joinpath(RULES_FILE).read_text("utf-8"))
    fragments: dict[str, str] = data.pop(FRAGMENTS, {})
    rules: dict[Intent, list[re.Pattern[str]]] = {}
    for name, languages in data.items():
        intent = Intent(name)
        rules[intent] = [
            re.compile(_with_fragments(pattern, fragments), re.IGNORECASE)
            for patterns in languages.values()
            for pattern in patterns
        ]
    return rules


def _with_fragments(pattern: str, fragments: dict[str, str]) -> str:
    """Replace each ``{name}`` in ``pattern`` by the fragment of that name."""

    def fragment(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in fragments:
            known = ", ".join(sorted(fragments)) or "none"
            raise ValueError(
                f"unknown fragment {{{name}}} in pattern {pattern!r} of {RULES_FILE}: define it "
                f"in [{FRAGMENTS}] (defined: {known}) or correct the name"
            )
        return fragments[name]

    return FRAGMENT_NAME.sub(fragment, pattern)
