"""Render a written notice as a PDF letter for posting, through WeasyPrint.

The letter uses the step's HTML template with the letter layout
(``incasso/templates/letter/notice.html.j2``). The layout is A4, with the
debtor's address where a window envelope shows it. The EPC QR code is an SVG
image beside the payment details, with the structured communication printed in
clear next to it.

A debtor who reads another language than the agency's legal language gets the
courtesy version first and the legally required version on the pages after
it. Each version is rendered as its own document and the pages are joined,
so the legal version starts on a new page and each version counts its own
pages.

WeasyPrint would fetch any URL a template names. Letters embed everything as
``data:`` URIs, and the fetcher allows that scheme only and stops rendering on
any other URL, so rendering a letter never touches the network or the file
system.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from jinja2 import BaseLoader
from PIL import ImageFile
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher

from incasso.cases.law import Channel
from incasso.i18n import normalize_language
from incasso.outbound.notice import Notice
from incasso.outbound.qr import epc_payment, make_epc_qr, qr_svg_data_uri
from incasso.outbound.render import RenderedLetterPage, render_letter_page, version_texts
from incasso.outbound.views import address_lines

logger = logging.getLogger(__name__)

# Importing WeasyPrint tells Pillow to accept truncated images, for the whole process.
# Our letters embed only an SVG, and intake must see a truncated scan as damaged
# rather than read it as a blank page, so the strict default is restored.
ImageFile.LOAD_TRUNCATED_IMAGES = False


@dataclass(frozen=True)
class RenderedLetter:
    """A letter ready for the print-and-post service."""

    subject: str
    pdf: bytes
    # Language of the first version, the debtor's.
    language: str
    # The HTML of each version, courtesy version first.
    pages_html: tuple[str, ...]


def render_letter(
    notice: Notice, legal_language: str, *, loader: BaseLoader | None = None
) -> RenderedLetter:
    """Render ``notice`` as a PDF letter in the debtor's language and in ``legal_language``.

    ``notice.channel`` must be POST, because the payment term of a posted
    letter starts later than that of an e-mail. Raises MissingMentionError when
    a version lacks a mandatory mention or the debtor's postal address is empty.
    """
    if notice.channel != Channel.POST:
        raise ValueError(
            f"letter for case {notice.case_reference} has channel {notice.channel}; "
            "a posted letter's term is computed for channel post, so set channel=Channel.POST"
        )

    payment = epc_payment(notice)
    qr_src = qr_svg_data_uri(make_epc_qr(payment)) if payment is not None else None
    versions = _render_versions(notice, legal_language, qr_src, loader)
    pdf = write_pdf([version.html for version in versions])

    logger.info(
        "rendered %s letter case=%s languages=%s bytes=%d",
        notice.step,
        notice.case_reference,
        ",".join(version.language for version in versions),
        len(pdf),
    )
    return RenderedLetter(
        subject=versions[0].subject,
        pdf=pdf,
        language=versions[0].language,
        pages_html=tuple(version.html for version in versions),
    )


def _render_versions(
    notice: Notice, legal_language: str, qr_src: str | None, loader: BaseLoader | None
) -> list[RenderedLetterPage]:
    courtesy_language = normalize_language(notice.language)
    legal_language = normalize_language(legal_language)
    if courtesy_language == legal_language:
        return [render_letter_page(notice, loader=loader, qr_src=qr_src)]

    texts = version_texts(courtesy_language, legal_language, letter=True)
    courtesy = render_letter_page(notice, loader=loader, qr_src=qr_src, version_note=texts.note)
    legal = render_letter_page(
        replace(notice, language=legal_language),
        loader=loader,
        qr_src=qr_src,
        version_heading=texts.heading,
    )
    return [courtesy, legal]


def write_pdf(documents_html: list[str]) -> bytes:
    """Render each HTML document and join their pages, in order, into one PDF."""
    try:
        documents = [
            HTML(string=html, url_fetcher=_embedded_only()).render() for html in documents_html
        ]
    except FatalURLFetchingError as error:
        # WeasyPrint derives this error from BaseException; callers expect an Exception.
        raise ValueError(
            f"letter template refers to a resource that is not embedded ({error}); "
            "embed it as a data: URI"
        ) from error
    pages = [page for document in documents for page in document.pages]
    pdf = documents[0].copy(pages).write_pdf()
    if pdf is None:
        raise RuntimeError("WeasyPrint returned no PDF bytes; check the letter templates")
    return bytes(pdf)


def _embedded_only() -> URLFetcher:
    # fail_on_errors turns a refused URL into an error that stops rendering,
    # where WeasyPrint would otherwise log it and leave the resource out.
    return URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)


def one_line_address(name: str, address: str | None) -> str:
    """Return name and postal address on one line, as the letter outbox records the recipient."""
    lines = [line for line in address_lines(address) if line != name]
    return ", ".join([name, *lines])
