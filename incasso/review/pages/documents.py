"""Pages of an invoice's PDF as PNG images, to show beside the fields read from it.

Only a signed-in staff member gets an image, and only of a document that an
invoice of a case was read from; other stored files (raw mail, reminders we
rendered) are never served here. Pages are rendered with pypdfium2, which is
not thread-safe, so one render runs at a time. Intake has already read each
of these documents within its limits; a page that cannot be rendered anyway
answers 404.
"""

from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass
from typing import Annotated

import pypdfium2 as pdfium
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from incasso.review.webkit import Staff, signed_in, web
from incasso.store.db import read_transaction
from incasso.store.models import Document, Invoice
from incasso.store.rawstore import RawStore

logger = logging.getLogger(__name__)

router = APIRouter()

PDF_TYPE = "application/pdf"
# Pages shown per document on a draft. Staff download a longer PDF from its message.
MAX_PAGES = 20
# About 110 dpi: an A4 page about 900 pixels wide, readable beside the fields.
SCALE = 1.5
# No side of a rendered page is longer than this, however large the page claims to be.
MAX_SIDE_PIXELS = 2400
# Exceptions pypdfium2 raises on PDFs it cannot open or render.
PDF_ERRORS = (pdfium.PdfiumError, ValueError, OSError)
IMAGE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"}

# pdfium keeps global state and must not run in two threads at once.
_PDFIUM = threading.Lock()


@dataclass(frozen=True)
class ShownDocument:
    """A document of a case as the draft page shows it: its pages, or its text."""

    id: int
    filename: str
    content_type: str
    # Width and height in points of each page shown as an image; none for other files.
    pages: tuple[tuple[float, float], ...]
    more_pages: bool  # the PDF has more than MAX_PAGES pages
    text: str | None  # a text or XML document, shown as it is
    unreadable: bool  # a PDF that pdfium cannot open


def is_pdf(document: Document) -> bool:
    return document.content_type.split(";", 1)[0].strip().lower() == PDF_TYPE


def case_document(session: Session, document_id: int) -> Document:
    """Return document ``document_id`` if an invoice of a case was read from it; 404 otherwise."""
    document = session.scalar(
        select(Document)
        .join(Invoice, Invoice.document_id == Document.id)
        .where(Document.id == document_id)
        .limit(1)
    )
    if document is None:
        raise HTTPException(status_code=404, detail=f"no case document {document_id}")
    return document


def shown_document(session: Session, rawstore: RawStore, document: Document) -> ShownDocument:
    """Prepare ``document`` for the draft page: count a PDF's pages, decode a text file."""
    data = rawstore.get(document.sha256, session=session)
    name = document.filename or f"document-{document.id}"
    if is_pdf(document):
        sizes = page_sizes(data)
        return ShownDocument(
            id=document.id,
            filename=name,
            content_type=PDF_TYPE,
            pages=tuple((sizes or [])[:MAX_PAGES]),
            more_pages=len(sizes or []) > MAX_PAGES,
            text=None,
            unreadable=sizes is None,
        )
    return ShownDocument(
        id=document.id,
        filename=name,
        content_type=document.content_type,
        pages=(),
        more_pages=False,
        text=_text_of(document, data),
        unreadable=False,
    )


def page_sizes(data: bytes) -> list[tuple[float, float]] | None:
    """Return the width and height in points of each page of a PDF; None if pdfium cannot."""
    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except PDF_ERRORS as err:
            logger.info("PDF cannot be opened for display: %s", err)
            return None
        try:
            return [pdf.get_page_size(index) for index in range(len(pdf))]
        except PDF_ERRORS as err:
            logger.info("PDF pages cannot be measured for display: %s", err)
            return None
        finally:
            pdf.close()


def render_page(data: bytes, number: int) -> bytes | None:
    """Return page ``number`` (1-based) of a PDF as PNG bytes, or None when there is none."""
    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except PDF_ERRORS as err:
            logger.info("PDF cannot be opened for display: %s", err)
            return None
        try:
            if not 1 <= number <= min(len(pdf), MAX_PAGES):
                return None
            page = pdf[number - 1]
            width, height = page.get_size()
            scale = min(SCALE, MAX_SIDE_PIXELS / max(width, height, 1.0))
            image = page.render(scale=scale).to_pil()
            page.close()
        except PDF_ERRORS as err:
            logger.warning("page %d of a PDF cannot be rendered: %s", number, err)
            return None
        finally:
            pdf.close()

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


@router.get("/documents/{document_id}/page/{number}.png")
def page_image(
    request: Request, document_id: int, number: int, staff: Annotated[Staff, Depends(signed_in)]
) -> Response:
    context = web(request)
    with read_transaction(context.factory) as session:
        document = case_document(session, document_id)
        if not is_pdf(document):
            raise HTTPException(status_code=404, detail=f"document {document_id} is not a PDF")
        data = context.rawstore.get(document.sha256, session=session)

    png = render_page(data, number)
    if png is None:
        raise HTTPException(status_code=404, detail=f"document {document_id} has no page {number}")
    logger.debug("staff %s viewed page %d of document %d", staff.username, number, document_id)
    return Response(content=png, media_type="image/png", headers=IMAGE_HEADERS)


def _text_of(document: Document, data: bytes) -> str | None:
    """The text of a text or XML document, for showing it as it is; None for other files."""
    kind = document.content_type.split(";", 1)[0].strip().lower()
    if not (kind.startswith("text/") or kind.endswith("/xml") or kind.endswith("+xml")):
        return None
    return data[:200_000].decode("utf-8", errors="replace")
