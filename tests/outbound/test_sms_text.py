"""The SMS text: its contents in each language and its size in SMS segments."""

from __future__ import annotations

import dataclasses

import pytest

from incasso.cases.ladder import LadderStep
from incasso.outbound.notice import MissingMentionError
from incasso.outbound.sms_text import is_gsm7, render_sms, sms_size
from tests.outbound.notices import AGENCY, make_notice

EXPECTED = {
    "nl": (
        "Invorderkantoor Zilvermeeuw BV, dossier 2026-00017: gelieve € 1.300,00 te betalen op "
        "IBAN BE71 0961 2345 6769 met gestructureerde mededeling +++202/6000/01711+++. "
        "Vragen? Bel +32 9 000 00 00."
    ),
    "fr": (
        "Invorderkantoor Zilvermeeuw BV, dossier 2026-00017 : veuillez payer 1 300,00 € sur "
        "l'IBAN BE71 0961 2345 6769 avec la communication structurée +++202/6000/01711+++. "
        "Des questions ? Appelez le +32 9 000 00 00."
    ),
    "de": (
        "Invorderkantoor Zilvermeeuw BV, Vorgang 2026-00017: Bitte zahlen Sie 1.300,00 € auf "
        "IBAN BE71 0961 2345 6769 mit der strukturierten Mitteilung +++202/6000/01711+++. "
        "Fragen? Rufen Sie +32 9 000 00 00 an."
    ),
    "en": (
        "Invorderkantoor Zilvermeeuw BV, reference 2026-00017: please pay 1.300,00 € to "
        "IBAN BE71 0961 2345 6769 with structured communication +++202/6000/01711+++. "
        "Questions? Call +32 9 000 00 00."
    ),
}


@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_sms_text_per_language(language: str) -> None:
    text = render_sms(make_notice(step=LadderStep.SMS, language=language))

    assert text == EXPECTED[language]


@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_sms_fits_two_gsm7_segments(language: str) -> None:
    text = render_sms(make_notice(step=LadderStep.SMS, language=language))

    size = sms_size(text)
    assert size.encoding == "GSM-7"
    assert size.segments <= 2


def test_sms_names_nothing_beyond_payment() -> None:
    text = render_sms(make_notice(step=LadderStep.SMS))

    assert "Bakkerij De Kruimel" not in text
    assert "F-2026-0412" not in text
    assert "Jan Peeters" not in text


def test_sms_too_long_raises() -> None:
    agency = dataclasses.replace(AGENCY, name="Ç" + "ç" * 69)

    with pytest.raises(
        MissingMentionError, match=r"takes 4 segments \(231 UCS-2 units\), more than 2"
    ):
        render_sms(make_notice(step=LadderStep.SMS, agency=agency))


def test_sms_joins_lines_of_agency_name() -> None:
    agency = dataclasses.replace(AGENCY, name="Zilvermeeuw\nBV")

    text = render_sms(make_notice(step=LadderStep.SMS, agency=agency))

    assert text.startswith("Zilvermeeuw BV, dossier")


SIZE_CASES = [
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("€" * 80, "GSM-7", 160, 1),
    ("€" * 81, "GSM-7", 162, 2),
    # 152 plain septets, then a two-septet euro sign that may not be split.
    ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
    ("ç" * 70, "UCS-2", 70, 1),
    ("ç" * 71, "UCS-2", 71, 2),
    ("ç" * 134, "UCS-2", 134, 2),
    ("ç" * 135, "UCS-2", 135, 3),
    ("a" * 69 + "😀", "UCS-2", 71, 2),
    ("", "GSM-7", 0, 0),
]


@pytest.mark.parametrize(("text", "encoding", "units", "segments"), SIZE_CASES)
def test_sms_size(text: str, encoding: str, units: int, segments: int) -> None:
    size = sms_size(text)

    assert size.encoding == encoding
    assert size.units == units
    assert size.segments == segments


def test_gsm7_alphabet() -> None:
    assert is_gsm7("Zürich, Ærø, £5 @ 10 € {x}")
    assert not is_gsm7("reçu")
    assert not is_gsm7("1\u00a0300")
