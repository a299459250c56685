"""What to read invoices from in a received message: its documents, a fax's pages, typed claims.

Attachments are read as they are, except a fax's TIFF and scanned PDF
attachments, which are replaced by their pages without a recognizable cover
sheet. When a creditor's mail holds no invoice in any attachment, the body is
read for claims typed by hand, and counts as a document of its own
(``mail-body.txt``) so its invoices keep a stored source like any attachment's.
"""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

from incasso.intake.extract.body import extract_body
from incasso.intake.extract.validate import validate
from incasso.intake.fax import FaxInfo, fax_pages
from incasso.intake.mime import Attachment, ParsedMail
from incasso.intake.submission import ExtractedAttachment

# Parser notes kept on a review item; a broken message can have hundreds.
MAX_NOTES = 20
HTML_BREAKS = re.compile(r"<\s*(?:br|/p|/div|/tr|/li)\b[^>]*>", re.IGNORECASE)
HTML_TAGS = re.compile(r"<[^>]+>")


def readable_documents(
    parsed: ParsedMail, fax: FaxInfo | None
) -> tuple[list[Attachment], list[str]]:
    """Return the documents to extract from, and notes for the reviewer.

    A fax's TIFF and scanned PDF attachments are replaced by their pages,
    without a recognizable cover sheet.
    """
    documents = parsed.documents
    notes = parsed.defects[:MAX_NOTES]
    if fax is None:
        return documents, notes

    pages = fax_pages(fax)
    faxed = {id(attachment) for attachment in fax.attachments}
    documents = [document for document in documents if id(document) not in faxed]
    documents.extend(pages.for_extraction)
    notes = [f"fax from {fax.sender_number or 'an unknown number'}", *pages.defects, *notes]
    return documents, notes[:MAX_NOTES]


def has_invoice(extracted: list[ExtractedAttachment]) -> bool:
    return any(item.result.invoices for item in extracted)


def typed_claims(parsed: ParsedMail, exclusions: list[str]) -> list[ExtractedAttachment]:
    """Read claims a creditor typed in the mail body; intake asks when no attachment held one."""
    text = parsed.text or html_text(parsed.html or "")
    if not text.strip():
        return []
    result = extract_body(text, exclude=exclusions)
    if not result.invoices:
        return []
    result = replace(result, invoices=[validate(invoice) for invoice in result.invoices])
    body = Attachment("mail-body.txt", "text/plain", text.encode("utf-8"))
    return [ExtractedAttachment(body, result)]


def html_text(html: str) -> str:
    """Reduce an HTML-only body to its text, line by line, for reading typed claims."""
    text = HTML_BREAKS.sub("\n", html)
    return unescape(HTML_TAGS.sub(" ", text))
