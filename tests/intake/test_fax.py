"""Fax-to-mail: recognizing gateway mail, reading the sending number, splitting pages."""

from __future__ import annotations

import io
import os
from email.message import EmailMessage
from pathlib import Path

import pdfplumber
import pytest
from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from incasso.cases.phone import normalize_phone_number
from incasso.intake.fax import (
    DamagedTiff,
    FaxInfo,
    detect_fax,
    fax_pages,
    find_fax_number,
    split_tiff,
    stated_page_count,
)
from incasso.intake.mime import Attachment, parse_mail
from tests.factories.invoice_pdf import example_spec, make_invoice_pdf

FAX_WIDTH = 1728  # pixels across an A4 fax line


def fax_page(text: str, height: int) -> Image.Image:
    page = Image.new("1", (FAX_WIDTH, height), color=1)
    draw = ImageDraw.Draw(page)
    draw.text((120, 80), text, fill=0)
    draw.rectangle((100, 60, 900, 140), outline=0)
    return page


def fax_tiff(texts: list[str], dpi: tuple[int, int]) -> bytes:
    height = 1100 if dpi[1] < 150 else 2200
    pages = [fax_page(text, height) for text in texts]
    buffer = io.BytesIO()
    pages[0].save(
        buffer,
        format="TIFF",
        save_all=True,
        append_images=pages[1:],
        compression="group4",
        dpi=dpi,
    )
    return buffer.getvalue()


def scanned_invoice_image() -> Image.Image:
    image = Image.new("L", (800, 300), color=255)
    ImageDraw.Draw(image).text((40, 120), "Factuur 2026-118  Totaal: 1.234,56 EUR", fill=0)
    return image


def fax_pdf(cover_lines: list[str] | None, scanned_pages: int = 1) -> bytes:
    """Return a PDF fax: an optional text cover page, then pages holding only an image."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    if cover_lines is not None:
        for row, line in enumerate(cover_lines):
            canvas.drawString(72, 760 - 20 * row, line)
        canvas.showPage()
    for _ in range(scanned_pages):
        canvas.drawImage(ImageReader(scanned_invoice_image()), 40, 400, width=515, height=193)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def gateway_mail(subject: str, body: str, *files: tuple[str, str, bytes]) -> bytes:
    message = EmailMessage()
    message["From"] = "fax@gateway.example"
    message["To"] = "intake@incasso.test"
    message["Subject"] = subject
    message.set_content(body)
    for filename, content_type, data in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


# Sending numbers and page counts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fax from +32 9 234 56 78", "+3292345678"),
        ("Fax van 09/234.56.78", "+3292345678"),
        ("Télécopie de 09 234 56 78 reçue", "+3292345678"),
        ("Fax-Nachricht von 0032 9 234 56 78 (3 Seiten)", "+3292345678"),
        ("eFax message from +32 (0)9 234 56 78 - 2 page(s)", "+3292345678"),
        ("FAX: 092345678 (3 pages)", "+3292345678"),
        ("Fax from 092345678 3 pages", "+3292345678"),
        ("Nieuwe fax ontvangen van 0470 12 34 56", "+32470123456"),
        ("Fax von +49 30 1234567", "+49301234567"),
        ("Fax de +33 1 23 45 67 89", "+33123456789"),
    ],
)
def test_fax_number_from_subject(text: str, expected: str) -> None:
    assert find_fax_number(text, subject=True) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Fax from 03.12.2026 10:15",
        "Fax van 09 234 56",
        "Fax from +32 9 234 56 78 90 12",
        "Onbetaalde factuur 092345678",
    ],
    ids=["date", "too-short", "too-long", "no-fax-wording"],
)
def test_no_fax_number(text: str) -> None:
    assert find_fax_number(text, subject=True) is None


def test_signature_fax_label_is_not_the_sender() -> None:
    body = "Zie bijlage.\n\nMet vriendelijke groeten\nTel: 09 111 22 33\nFax: 09 111 22 34"

    assert find_fax_number(body) is None


def test_body_sender_label() -> None:
    body = "Sie haben ein Fax erhalten.\nAbsender: 09 234 56 78\nSeiten: 2"

    assert find_fax_number(body) == "+3292345678"
    assert stated_page_count(body) == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("09 234 56 78", "+3292345678"),
        ("09/234.56.78", "+3292345678"),
        ("0032 9 234 56 78", "+3292345678"),
        ("+32 (0)9 234 56 78", "+3292345678"),
        ("02-123 45 67", "+3221234567"),
        ("0470 12 34 56", "+32470123456"),
        ("092 34 56 78 9", None),
        ("+32 09 234 56 78", None),
        ("234 56 78", None),
    ],
)
def test_normalize_phone_number(value: str, expected: str | None) -> None:
    assert normalize_phone_number(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FAX: 092345678 (3 pages)", 3),
        ("Fax van 09/234.56.78, 4 pagina's", 4),
        ("Aantal pagina's: 5", 5),
        ("Télécopie de 09 234 56 78 - Nombre de pages : 2", 2),
        ("Fax-Nachricht von 0032 9 234 56 78 (3 Seiten)", 3),
        ("eFax: 2 page(s)", 2),
        ("Fax from +32 9 234 56 78", None),
    ],
)
def test_stated_page_count(text: str, expected: int | None) -> None:
    assert stated_page_count(text) == expected


# Recognizing fax mail


def test_tiff_attachment_is_a_fax() -> None:
    tiff = fax_tiff(["Pagina 1", "Pagina 2"], dpi=(204, 98))
    raw = gateway_mail(
        "Fax van 09/234.56.78", "U heeft een fax ontvangen.", ("fax.tif", "image/tiff", tiff)
    )

    info = detect_fax(parse_mail(raw))

    assert info is not None
    assert info.sender_number == "+3292345678"
    assert info.pages is None
    assert [a.filename for a in info.attachments] == ["fax.tif"]


def test_tiff_named_otherwise_is_found_by_content() -> None:
    tiff = fax_tiff(["Pagina 1"], dpi=(204, 196))
    raw = gateway_mail("Document", "", ("scan.dat", "application/octet-stream", tiff))

    info = detect_fax(parse_mail(raw))

    assert info is not None
    assert info.sender_number is None


@pytest.mark.parametrize(
    ("subject", "body", "number", "pages"),
    [
        ("Fax from +32 9 234 56 78", "You have received a fax.", "+3292345678", None),
        ("Nieuwe fax", "Fax van 09/234.56.78, 2 pagina's.", "+3292345678", 2),
        ("Télécopie de 09 234 56 78", "Nombre de pages : 2", "+3292345678", 2),
        ("Fax-Nachricht von 0032 9 234 56 78", "Anzahl Seiten: 2", "+3292345678", 2),
        ("eFax message", "eFax from +32 (0)9 234 56 78 - 2 pages", "+3292345678", 2),
        ("FAX: 092345678 (2 pages)", "", "+3292345678", 2),
    ],
    ids=["en", "nl", "fr", "de", "efax", "subject-only"],
)
def test_scanned_pdf_with_fax_wording(
    subject: str, body: str, number: str, pages: int | None
) -> None:
    raw = gateway_mail(subject, body, ("fax.pdf", "application/pdf", fax_pdf(["FAX"], 1)))

    info = detect_fax(parse_mail(raw))

    assert info is not None
    assert info.sender_number == number
    assert info.pages == pages


def test_normal_pdf_invoice_is_not_a_fax() -> None:
    invoice = make_invoice_pdf(example_spec("nl"))
    raw = gateway_mail(
        "Fax van 09/234.56.78", "Zie bijlage.", ("factuur.pdf", "application/pdf", invoice)
    )

    assert detect_fax(parse_mail(raw)) is None


def test_scan_without_fax_wording_is_not_a_fax() -> None:
    body = "Zie bijlage.\n\nMet vriendelijke groeten\nFax: 09 111 22 34"
    raw = gateway_mail("Factuur", body, ("scan.pdf", "application/pdf", fax_pdf(None, 1)))

    assert detect_fax(parse_mail(raw)) is None


# Splitting TIFF pages


@pytest.mark.parametrize("dpi", [(204, 98), (204, 196)], ids=["standard", "fine"])
def test_split_tiff_keeps_pixels_and_resolution(dpi: tuple[int, int]) -> None:
    original = fax_tiff(["Pagina 1", "Pagina 2", "Pagina 3"], dpi=dpi)

    pages = split_tiff(original)

    assert len(pages) == 3
    with Image.open(io.BytesIO(original)) as source:
        for index, data in enumerate(pages):
            source.seek(index)
            with Image.open(io.BytesIO(data)) as page:
                assert getattr(page, "n_frames", 1) == 1
                assert page.mode == "1"
                assert page.info["compression"] == "group4"
                assert page.info["dpi"] == (float(dpi[0]), float(dpi[1]))
                assert page.size == source.size
                assert page.tobytes() == source.tobytes()


def test_split_tiff_greyscale_is_lossless() -> None:
    pages = [Image.new("L", (300, 200), color=shade) for shade in (40, 200)]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:], dpi=(200, 200))

    split = split_tiff(buffer.getvalue())

    for data, expected in zip(split, pages, strict=True):
        with Image.open(io.BytesIO(data)) as page:
            assert page.info["compression"] == "tiff_lzw"
            assert page.tobytes() == expected.tobytes()


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_split_damaged_tiff_raises() -> None:
    original = fax_tiff(["Pagina 1", "Pagina 2"], dpi=(204, 98))

    with pytest.raises(DamagedTiff):
        split_tiff(original[: len(original) // 2])
    with pytest.raises(DamagedTiff):
        split_tiff(b"II*\x00garbage")


# Pages for storage and extraction


def test_tiff_fax_pages() -> None:
    tiff = Attachment("fax.tif", "image/tiff", fax_tiff(["Voorblad", "Factuur"], dpi=(204, 98)))

    result = fax_pages(FaxInfo(sender_number=None, pages=2, attachments=[tiff]))

    assert [page.filename for page in result.pages] == ["fax-page-01.tif", "fax-page-02.tif"]
    assert all(page.origin == "fax.tif" for page in result.pages)
    assert result.for_extraction == [tiff]
    assert result.covers_skipped == []
    assert result.defects == []


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_damaged_tiff_is_kept_whole() -> None:
    damaged = Attachment("fax.tif", "image/tiff", b"II*\x00" + b"\xff" * 40)

    result = fax_pages(FaxInfo(sender_number=None, pages=None, attachments=[damaged]))

    assert result.pages == [damaged]
    assert result.for_extraction == [damaged]
    assert "'fax.tif' is damaged" in result.defects[0]


def test_missing_page_is_reported() -> None:
    tiff = Attachment("fax.tif", "image/tiff", fax_tiff(["Pagina 1"], dpi=(204, 98)))

    result = fax_pages(FaxInfo(sender_number=None, pages=3, attachments=[tiff]))

    assert "announced 3 pages but the attachments hold 1" in result.defects[0]


COVER = ["FAX - Voorblad", "Van: 09/234.56.78", "Aan: Incasso", "Aantal pagina's: 3"]


def test_pdf_cover_sheet_is_skipped_for_extraction() -> None:
    pdf = Attachment("fax.pdf", "application/pdf", fax_pdf(COVER, scanned_pages=2))

    result = fax_pages(FaxInfo(sender_number="+3292345678", pages=3, attachments=[pdf]))

    assert [page.filename for page in result.pages] == [
        "fax-page-01.pdf",
        "fax-page-02.pdf",
        "fax-page-03.pdf",
    ]
    (extracted,) = result.for_extraction
    assert extracted.filename == "fax-without-cover.pdf"
    with pdfplumber.open(io.BytesIO(extracted.data)) as document:
        assert len(document.pages) == 2
        assert all(page.chars == [] for page in document.pages)
        assert all(page.images for page in document.pages)
    with pdfplumber.open(io.BytesIO(result.pages[0].data)) as cover:
        assert "Voorblad" in cover.pages[0].extract_text()
    assert result.covers_skipped == ["fax.pdf"]
    assert result.defects == []


@pytest.mark.parametrize(
    "cover",
    [
        ["Factuur 2026-118", "Totaal: 1.234,56 EUR"],
        None,
    ],
    ids=["text-page-is-no-cover", "scans-only"],
)
def test_pdf_without_cover_is_extracted_whole(cover: list[str] | None) -> None:
    pdf = Attachment("fax.pdf", "application/pdf", fax_pdf(cover, scanned_pages=1))

    result = fax_pages(FaxInfo(sender_number=None, pages=None, attachments=[pdf]))

    assert result.for_extraction == [pdf]
    assert result.covers_skipped == []


def test_cover_before_text_pages_is_kept() -> None:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    for text in ("Fax cover sheet - Pages: 2", "Factuur met tekstlaag"):
        canvas.drawString(72, 760, text)
        canvas.showPage()
    canvas.save()
    pdf = Attachment("fax.pdf", "application/pdf", buffer.getvalue())

    result = fax_pages(FaxInfo(sender_number=None, pages=2, attachments=[pdf]))

    assert result.for_extraction == [pdf]


def test_damaged_pdf_is_kept_whole() -> None:
    pdf = Attachment("fax.pdf", "application/pdf", b"%PDF-1.4\nnot really\n")

    result = fax_pages(FaxInfo(sender_number=None, pages=None, attachments=[pdf]))

    assert result.pages == [pdf]
    assert result.for_extraction == [pdf]
    assert "could not be split" in result.defects[0]


# Real fax images from the corpus


CORPUS = Path(os.environ.get("INCASSO_CORPUS", "/nonexistent"))
CORPUS_TIFFS = (
    sorted(
        path.relative_to(CORPUS).as_posix()
        for path in CORPUS.rglob("*")
        if path.is_file() and path.suffix.lower() in {".tif", ".tiff"}
    )
    if CORPUS.is_dir()
    else ["(INCASSO_CORPUS is not set)"]
)


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_TIFFS)
def test_corpus_tiff_splits_without_losing_pages(name: str) -> None:
    data = (CORPUS / name).read_bytes()

    pages = split_tiff(data)

    with Image.open(io.BytesIO(data)) as source:
        assert len(pages) == getattr(source, "n_frames", 1)
        for index, page_data in enumerate(pages):
            source.seek(index)
            with Image.open(io.BytesIO(page_data)) as page:
                assert page.info.get("dpi") == source.info.get("dpi")
                assert page.tobytes() == source.tobytes()
