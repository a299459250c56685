"""Phone and fax numbers in E.164 form (``+3292345678``), from the ways people write them."""

from __future__ import annotations

import re

# Digits after the country code of Belgium (mobiles 4xx have 9), the Netherlands and France.
# Numbers of other countries are only held to the E.164 bounds of 8 to 15 digits in all.
NATIONAL_LENGTHS = {"32": (8,), "31": (9,), "33": (9,)}


def normalize_phone_number(value: str) -> str | None:
    """Return ``value`` in E.164 form, taking a number without country code as Belgian.

    Returns None when the digits do not fit the length of their country's numbers.
    """
    compact = re.sub(r"[\s./\-()]", "", value.replace("(0)", ""))
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]
    elif compact.startswith("0"):
        digits = "32" + compact[1:]
    else:
        return None

    if not digits.isdigit() or not _valid_length(digits):
        return None
    return "+" + digits


def _valid_length(digits: str) -> bool:
    for country, lengths in NATIONAL_LENGTHS.items():
        if digits.startswith(country):
            national = digits[len(country) :]
            if national.startswith("0"):
                return False
            if country == "32" and national.startswith("4"):
                return len(national) == 9
            return len(national) in lengths
    return 8 <= len(digits) <= 15
