"""The PDF letter: versions and their order, the envelope window, the QR code, the term."""

from __future__ import annotations

import io
from datetime import date

import pdfplumber
import pypdfium2
import pytest
import zxingcpp
from jinja2 import ChoiceLoader, DictLoader, PackageLoader

from incasso.cases.ladder import LadderStep
from incasso.cases.law import Channel
from incasso.outbound.letter_pdf import one_line_address, render_letter
from tests.outbound.notices import OGM, make_notice
from tests.test_catalogs import catalog, extracted_messages

MM = 72 / 25.4
# The window of a DL envelope with a left window, on the folded A4 sheet.
WINDOW = (20 * MM, 45 * MM, 105 * MM, 90 * MM)

REVEALING_WORDS = [
    "incasso", "invorder", "schuld", "herinnering", "aanmaning", "betaal", "dossier",
    "recouvrement", "créance", "dette", "rappel", "paiement",
    "inkasso", "forderung", "mahnung", "zahlung",
    "debt", "collection", "reminder", "payment",
]  # fmt: skip


def letter_notice(**changes: object) -> object:
    values: dict[str, object] = {
        "step": LadderStep.REGISTERED_LETTER,
        "channel": Channel.POST,
        "language": "fr",
    }
    values.update(changes)
    return make_notice(**values)


def page_texts(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [page.extract_text() or "" for page in document.pages]


def window_text(pdf: bytes, page_number: int) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return document.pages[page_number].crop(WINDOW).extract_text() or ""


def decoded_qr_codes(pdf: bytes) -> list[bytes]:
    document = pypdfium2.PdfDocument(pdf)
    payloads = []
    for index in range(len(document)):
        image = document[index].render(scale=3).to_pil().convert("L")
        payloads.extend(result.bytes for result in zxingcpp.read_barcodes(image))
    return payloads


@pytest.fixture(scope="module")
def french_letter() -> bytes:
    return render_letter(letter_notice(), "nl").pdf  # type: ignore[arg-type]


def test_letter_is_a_pdf(french_letter: bytes) -> None:
    assert french_letter.startswith(b"%PDF-")


def test_letter_courtesy_version_first_then_dutch(french_letter: bytes) -> None:
    texts = page_texts(french_letter)

    legal_start = next(i for i, text in enumerate(texts) if "Wettelijk vereiste versie" in text)
    assert legal_start > 0
    assert "Bonjour Jan Peeters," in texts[0]
    assert "Les pages qui suivent cette lettre contiennent la même lettre" in texts[0]
    assert "Geachte Jan Peeters," in texts[legal_start]
    assert all("Geachte" not in text for text in texts[:legal_start])
    assert all("Bonjour" not in text for text in texts[legal_start:])


def test_letter_window_shows_only_the_address(french_letter: bytes) -> None:
    texts = page_texts(french_letter)
    legal_start = next(i for i, text in enumerate(texts) if "Wettelijk vereiste versie" in text)

    for page in (0, legal_start):
        lines = window_text(french_letter, page).splitlines()

        assert lines == ["Jan Peeters", "Molenstraat 12 bus 3", "9000 Gent"]


def test_letter_window_reveals_no_collection(french_letter: bytes) -> None:
    window = window_text(french_letter, 0).lower()

    for word in REVEALING_WORDS:
        assert word not in window, word
    assert "zilvermeeuw" not in window


def test_letter_qr_decodes_to_epc_payload(french_letter: bytes) -> None:
    payloads = decoded_qr_codes(french_letter)

    expected = (
        b"BCD\n002\n2\nSCT\nGKCCBEBB\nInvorderkantoor Zilvermeeuw BV\n"
        b"BE71096123456769\nEUR1300.00\n\n" + OGM.encode()
    )
    assert payloads == [expected, expected]


def test_letter_prints_ogm_and_mentions(french_letter: bytes) -> None:
    text = "\n".join(page_texts(french_letter))

    assert text.count("+++202/6000/01711+++") >= 4
    assert "Lettre recommandée" in text
    assert "Aangetekende brief" in text
    assert "BE71 0961 2345 6769" in text
    assert "SPF Economie" in text
    assert "FOD Economie" in text


def test_letter_term_counts_from_third_working_day() -> None:
    notice = letter_notice(language="nl", sent_on=date(2026, 5, 4))

    letter = render_letter(notice, "nl")  # type: ignore[arg-type]

    text = "\n".join(page_texts(letter.pdf))
    assert "te rekenen vanaf 07-05-2026" in text
    assert "uiterlijk op 20-05-2026" in text


def test_letter_in_legal_language_has_one_version() -> None:
    letter = render_letter(letter_notice(language="nl"), "nl")  # type: ignore[arg-type]

    assert len(letter.pages_html) == 1
    text = "\n".join(page_texts(letter.pdf))
    assert "Wettelijk vereiste versie" not in text
    assert "Geachte Jan Peeters," in text


@pytest.mark.parametrize(
    "step", [LadderStep.FIRST_REMINDER, LadderStep.SECOND_REMINDER, LadderStep.THIRD_REMINDER]
)
def test_reminder_steps_render_as_letters(step: LadderStep) -> None:
    letter = render_letter(letter_notice(step=step, language="de"), "nl")  # type: ignore[arg-type]

    text = "\n".join(page_texts(letter.pdf))
    assert "Guten Tag Jan Peeters," in text
    assert "Einschreiben" not in text
    assert "Teilen Sie uns Ihre Gründe" not in text  # consumer: the options list instead


def test_letter_needs_post_channel() -> None:
    with pytest.raises(ValueError, match=r"set channel=Channel\.POST"):
        render_letter(letter_notice(channel=Channel.EMAIL), "nl")  # type: ignore[arg-type]


def test_letter_fetches_no_remote_resource() -> None:
    layout = PackageLoader("incasso", "templates").get_source(None, "letter/notice.html.j2")[0]  # type: ignore[arg-type]
    broken = layout.replace("<body>", '<body><img src="http://127.0.0.1:9/logo.png">')
    loader = ChoiceLoader(
        [DictLoader({"letter/notice.html.j2": broken}), PackageLoader("incasso", "templates")]
    )

    with pytest.raises(ValueError, match="not embedded"):
        render_letter(letter_notice(language="nl"), "nl", loader=loader)  # type: ignore[arg-type]


def test_one_line_address() -> None:
    assert (
        one_line_address("Jan Peeters", "Jan Peeters\nMolenstraat 12 bus 3\n9000 Gent")
        == "Jan Peeters, Molenstraat 12 bus 3, 9000 Gent"
    )
    assert one_line_address("An Janssens", "Kerkstraat 1, 9000 Gent") == (
        "An Janssens, Kerkstraat 1, 9000 Gent"
    )


@pytest.mark.parametrize("language", ["nl", "fr", "de"])
def test_letter_texts_are_translated(language: str) -> None:
    entries = catalog(language)

    letter_messages = [
        message
        for message in extracted_messages()
        if message.location.startswith("incasso/templates/letter/")
    ]
    untranslated = [
        message.msgid
        for message in letter_messages
        if (entry := entries.get(message.msgid)) is None or not entry.string or entry.fuzzy
    ]

    assert letter_messages
    assert untranslated == []


def test_letter_module_leaves_pillow_strict() -> None:
    # WeasyPrint makes Pillow accept truncated images when imported; a truncated scan
    # must stay "damaged" for OCR in the same process (see test_ocr's truncated cases).
    from PIL import ImageFile

    import incasso.outbound.letter_pdf  # noqa: F401

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
