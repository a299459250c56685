"""The text of the SMS step: who writes, about which file, what to pay, where and how.

The text carries the agency's name, the case reference, the total due, the
IBAN of the third-party account, the structured communication and the
agency's phone number, in the debtor's language, and nothing else about the
claim: a text message can be read on a locked phone by anyone nearby.

A text must fit in two SMS segments. A text made of GSM-7 characters (the
default alphabet of GSM 03.38) takes 160 characters in one segment. A split
text takes 153 per segment, because each segment then carries a header. A
character of the GSM-7 extension table (``€``, ``[``, ``^`` and a few
others) counts twice. Any other character makes the whole text UCS-2,
with 70 UTF-16 code units in one segment and 67 per split segment. Amounts
are printed with plain spaces, because the no-break spaces of the Belgian
number formats are not GSM-7 characters.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from babel.numbers import format_currency
from stdnum import iban as stdnum_iban

from incasso.cases.law import format_ogm
from incasso.i18n import LOCALES, normalize_language, translations
from incasso.outbound.mentions import check_required_values
from incasso.outbound.notice import MissingMentionError, Notice

logger = logging.getLogger(__name__)

MAX_SEGMENTS = 2

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"
GSM7_SINGLE_SEGMENT = 160
GSM7_SPLIT_SEGMENT = 153
UCS2_SINGLE_SEGMENT = 70
UCS2_SPLIT_SEGMENT = 67

# Spaces of the number formats that GSM-7 lacks: no-break and narrow no-break.
SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})


@dataclass(frozen=True)
class SmsSize:
    """The encoding of a text and the number of SMS segments it takes."""

    encoding: str  # "GSM-7" or "UCS-2"
    # Septets for GSM-7, UTF-16 code units for UCS-2.
    units: int
    segments: int


def render_sms(notice: Notice) -> str:
    """Return the SMS text of ``notice`` in the debtor's language, Dutch when it is unknown.

    Raises MissingMentionError when a value the notice needs is empty or
    invalid, or when the text would take more than two SMS segments.
    """
    check_required_values(notice)
    language = normalize_language(notice.language)
    _ = translations(language).gettext
    values = {
        "agency": _one_line(notice.agency.name),
        "reference": notice.case_reference,
        "amount": format_currency(notice.total_due, notice.currency, locale=LOCALES[language]),
        "iban": stdnum_iban.format(notice.agency.iban),
        "ogm": format_ogm(notice.payment_reference),
        "phone": _one_line(notice.agency.phone),
    }
    template = _(
        "%(agency)s, reference %(reference)s: please pay %(amount)s to IBAN %(iban)s "
        "with structured communication %(ogm)s. Questions? Call %(phone)s."
    )
    text = (template % values).translate(SPACES)

    size = sms_size(text)
    if size.segments > MAX_SEGMENTS:
        raise MissingMentionError(
            f"SMS text of case {notice.case_reference} takes {size.segments} segments "
            f"({size.units} {size.encoding} units), more than {MAX_SEGMENTS}; shorten "
            "INCASSO_AGENCY__NAME or the SMS text in the catalog"
        )
    logger.debug(
        "rendered SMS case=%s language=%s encoding=%s units=%d",
        notice.case_reference,
        language,
        size.encoding,
        size.units,
    )
    return text


def _one_line(value: str) -> str:
    return " ".join(value.split())


def is_gsm7(text: str) -> bool:
    return all(character in GSM7_BASIC or character in GSM7_EXTENSION for character in text)


def sms_size(text: str) -> SmsSize:
    """Return the encoding of ``text`` and the number of SMS segments it takes."""
    if is_gsm7(text):
        widths = [2 if character in GSM7_EXTENSION else 1 for character in text]
        encoding, single, split = "GSM-7", GSM7_SINGLE_SEGMENT, GSM7_SPLIT_SEGMENT
    else:
        # A character outside the Basic Multilingual Plane takes two code units.
        widths = [2 if ord(character) > 0xFFFF else 1 for character in text]
        encoding, single, split = "UCS-2", UCS2_SINGLE_SEGMENT, UCS2_SPLIT_SEGMENT

    units = sum(widths)
    if units <= single:
        return SmsSize(encoding, units, 1 if units else 0)
    return SmsSize(encoding, units, _split_segments(widths, split))


def _split_segments(widths: list[int], capacity: int) -> int:
    # A two-unit character (escape and code, or a surrogate pair) is never split
    # across segments, so a segment may end one unit short.
    segments, used = 1, 0
    for width in widths:
        if used + width > capacity:
            segments += 1
            used = 0
        used += width
    return segments
