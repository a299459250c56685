"""Read the invoice XML embedded in a PDF (Factur-X, ZUGFeRD, XRechnung), and route XML roots.

A hybrid PDF carries the invoice twice: as the visible page and as an XML file
embedded in the PDF. The XML is exact, so when it can be read its fields are the
result and the text layer is not read at all. The rules for choosing:

- The embedded files are listed with pypdf. When pypdf cannot list them, or no
  file it lists gives a usable invoice XML, the factur-x library
  (``facturx.get_xml_from_pdf``, without XSD or schematron checks, so nothing goes
  over the network) is asked as a second reader.
- Names decide, never the order in the PDF. The first of ``factur-x.xml``,
  ``zugferd-invoice.xml``, ``xrechnung.xml`` (compared without regard to case,
  so ``ZUGFeRD-invoice.xml`` counts too) that parses wins. Only when none of them
  exists is another embedded ``.xml`` with an invoice root taken, with a note.
- Embedded files that are not invoice XML (a delivery note as PDF, additional
  data XML) are never extracted. They are named in a note for the reviewer.
- An ORDER-X document (``order-x.xml``, or under any of the names above) is an
  order, not an invoice, and gives ``Problem.NOT_AN_INVOICE`` unless the PDF
  also embeds an invoice XML.
- An invoice XML that does not parse, or that gives no invoice, leaves the PDF to
  the text-layer extractor, and a note gives the reason.
- A CII document is checked against the XSD of its Factur-X or ZUGFeRD profile,
  which the factur-x library ships; a schema error becomes a note, because the
  values read from it are still what the file says.

:func:`extract_xml_root` also serves XML files received on their own, so a bare
UBL, CII, ZUGFeRD 1.0 or ORDER-X file is handled like an embedded one.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import facturx
import pypdf
from lxml import etree

from incasso.intake.extract.cii import describe_order_x, extract_cii, is_cii_document, is_order_x
from incasso.intake.extract.model import ExtractionResult, Problem
from incasso.intake.extract.normalize import Exclusions
from incasso.intake.extract.ubl import (
    ENVELOPE_ROOT,
    describe_other_ubl,
    extract_ubl,
    is_ubl_document,
    parse_xml,
    unwrap_envelope,
)

logger = logging.getLogger(__name__)

# Embedded file names of an invoice XML, best first, compared in lower case. Factur-X
# 1.0 names "factur-x.xml"; ZUGFeRD 1.0 and 2.0 name "ZUGFeRD-invoice.xml" (some
# producers write it in lower case); XRechnung in a PDF uses "xrechnung.xml".
INVOICE_XML_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")
ORDER_X_NAME = "order-x.xml"

TextLayerExtractor = Callable[[bytes], ExtractionResult]


@dataclass
class EmbeddedInvoice:
    """Result of searching a PDF's embedded files: an invoice XML, an ORDER-X, or only notes."""

    name: str | None = None  # embedded file name of the chosen XML
    root: etree._Element | None = None
    order_x_detail: str | None = None  # set when the PDF carries an ORDER-X and no invoice
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _EmbeddedFile:
    name: str
    content: bytes


# ---------------------------------------------------------------------------
# Routing a parsed XML root


def extract_xml_root(
    root: etree._Element, *, exclusions: Exclusions, origin: str = "the file"
) -> ExtractionResult:
    """Extract the invoice of a parsed XML document by its root element.

    A Peppol envelope is unwrapped first. UBL Invoice and CreditNote go to the UBL
    extractor, CrossIndustryInvoice and ZUGFeRD 1.0 CrossIndustryDocument to the
    CII extractor. ORDER-X and other UBL documents (an invoice response, an order)
    give ``Problem.NOT_AN_INVOICE``; any other root gives ``Problem.UNSUPPORTED``.
    ``origin`` names the file in the detail: "the file 'a.xml'".
    """
    document = unwrap_envelope(root)
    if document is None:
        return _failure(
            "none",
            Problem.NOT_AN_INVOICE,
            f"{origin} is an empty Peppol StandardBusinessDocument envelope with no business "
            "document inside; ask the creditor to send the invoice again",
        )

    if is_ubl_document(document):
        return extract_ubl(document, exclusions=exclusions)
    if is_cii_document(document):
        result = extract_cii(document, exclusions=exclusions)
        schema_note = _schema_note(document)
        if schema_note is not None:
            result.notes.append(schema_note)
        return result
    if is_order_x(document):
        return _failure("cii", Problem.NOT_AN_INVOICE, describe_order_x(document))

    other_ubl = describe_other_ubl(document)
    if other_ubl is not None:
        return _failure(
            "ubl",
            Problem.NOT_AN_INVOICE,
            f"{origin} is a UBL {other_ubl}, not an Invoice or CreditNote, so it opens no case; "
            "a Peppol invoice response (ApplicationResponse) is the buyer's answer to an "
            "invoice and belongs with that invoice's case",
        )

    inside = " inside a Peppol envelope" if document is not root else ""
    return _failure(
        "none",
        Problem.UNSUPPORTED,
        f"{origin} is XML with root element {document.tag!r}{inside}, which is neither a UBL "
        "2.1 Invoice or CreditNote nor a UN/CEFACT Cross Industry Invoice; only those "
        "e-invoice formats are extracted",
    )


def _schema_note(document: etree._Element) -> str | None:
    """Check a CII document against the Factur-X or ZUGFeRD schema of its profile.

    The factur-x library ships the XSD files and detects the profile from the
    guideline ID. A document whose profile it does not know is not checked. A
    schema error does not change the values read, so it becomes a note.
    """
    try:
        flavor = facturx.get_flavor(document)
        level = facturx.get_level(document, flavor)
    except Exception as error:  # the library raises a bare Exception for unknown profiles
        logger.debug("CII profile not recognised, schema not checked: %s", error)
        return None

    try:
        facturx.xml_check_xsd(document, flavor=flavor, level=level)
    except Exception as error:  # the library raises a bare Exception with the XSD message
        reason = str(error).rsplit("cause of the problem: ", 1)[-1]
        return (
            f"the XML does not conform to the {flavor} {level} schema ({reason}); the values "
            "were read all the same, so compare them with the visible invoice"
        )
    return None


def _failure(method: str, problem: Problem, detail: str) -> ExtractionResult:
    return ExtractionResult(method=method, problem=problem, detail=detail)


def _is_invoice_root(root: etree._Element) -> bool:
    document = unwrap_envelope(root) if root.tag == ENVELOPE_ROOT else root
    return document is not None and (is_ubl_document(document) or is_cii_document(document))


# ---------------------------------------------------------------------------
# PDFs with an embedded invoice


def extract_hybrid_pdf(
    data: bytes, *, exclusions: Exclusions, text_layer: TextLayerExtractor
) -> ExtractionResult:
    """Extract a PDF from its embedded invoice XML, else with ``text_layer``.

    ``text_layer`` extracts the PDF's visible content. It runs only when the PDF has
    no usable invoice XML, and the notes of the search are added to its result.
    """
    embedded = find_embedded_invoice(data)
    if embedded.order_x_detail is not None:
        result = _failure("cii", Problem.NOT_AN_INVOICE, embedded.order_x_detail)
        result.notes.extend(embedded.notes)
        return result

    if embedded.root is not None:
        origin = f"the embedded file {embedded.name!r}"
        result = extract_xml_root(embedded.root, exclusions=exclusions, origin=origin)
        if result.invoices:
            result.notes[:0] = embedded.notes
            return result
        embedded.notes.append(
            f"the embedded file {embedded.name!r} gave no invoice ({result.detail}); the PDF's "
            "text layer was read instead"
        )
        logger.info("embedded %s gave no invoice: %s", embedded.name, result.detail)

    result = text_layer(data)
    result.notes.extend(embedded.notes)
    return result


def find_embedded_invoice(data: bytes) -> EmbeddedInvoice:
    """Find and parse the invoice XML embedded in the PDF ``data``, by the rules above."""
    files, listed = _list_with_pypdf(data)
    found = _choose(files)
    if found.root is None and found.order_x_detail is None and (files or not listed):
        second = _read_with_facturx(data)
        if second is not None:
            retry = _choose([second])
            if retry.root is not None:
                retry.notes[:0] = found.notes
                retry.notes.append(
                    f"the embedded file {second.name!r} was read with the factur-x library "
                    "because pypdf gave no usable invoice XML"
                )
                return retry
    return found


def _list_with_pypdf(data: bytes) -> tuple[list[_EmbeddedFile], bool]:
    """Return the embedded files, and whether pypdf could list them at all."""
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        attachments = reader.attachments
        files = [
            _EmbeddedFile(str(name), bytes(content))
            for name, contents in attachments.items()
            for content in contents
        ]
    except Exception as error:  # pypdf raises many exception types on damaged or encrypted files
        logger.info("pypdf could not list embedded files: %s: %s", type(error).__name__, error)
        return [], False
    return files, True


def _read_with_facturx(data: bytes) -> _EmbeddedFile | None:
    """Ask the factur-x library for the invoice XML, which it picks by PDF order, not by name."""
    try:
        name, content = facturx.get_xml_from_pdf(
            data,
            check_xsd=False,
            check_schematron=False,
            filenames=[*INVOICE_XML_NAMES, ORDER_X_NAME],
        )
    except Exception as error:  # the library lets pypdf's and lxml's errors through
        logger.info("factur-x could not read the PDF: %s: %s", type(error).__name__, error)
        return None
    if not name or not isinstance(content, bytes):
        return None
    return _EmbeddedFile(str(name), content)


def _choose(files: list[_EmbeddedFile]) -> EmbeddedInvoice:
    """Choose the invoice XML among ``files`` by name, then any other invoice XML."""
    found = EmbeddedInvoice()
    by_name = {name: [f for f in files if f.name.lower() == name] for name in INVOICE_XML_NAMES}

    for name in INVOICE_XML_NAMES:
        for candidate in by_name[name]:
            root = _parse(candidate, found.notes)
            if root is None:
                continue
            if _is_invoice_root(root):
                return _chosen(found, candidate, root, files)
            if is_order_x(root):
                found.order_x_detail = describe_order_x(root)
                continue
            found.notes.append(
                f"the embedded file {candidate.name!r} has root element {root.tag!r}, "
                "which is no invoice; it was skipped"
            )

    standard = {f.name for named in by_name.values() for f in named}
    for candidate in files:
        if candidate.name in standard or not candidate.name.lower().endswith(".xml"):
            continue
        root = _parse(candidate, found.notes)
        if root is not None and is_order_x(root):
            found.order_x_detail = describe_order_x(root)
        elif root is not None and _is_invoice_root(root):
            found.notes.append(
                f"the invoice XML is embedded as {candidate.name!r} and not under a Factur-X, "
                "ZUGFeRD or XRechnung name; it was read all the same"
            )
            found.order_x_detail = None
            return _chosen(found, candidate, root, files)
    return found


def _chosen(
    found: EmbeddedInvoice,
    chosen: _EmbeddedFile,
    root: etree._Element,
    files: list[_EmbeddedFile],
) -> EmbeddedInvoice:
    found.name = chosen.name
    found.root = root
    others = [f.name for f in files if f is not chosen]
    if others:
        listed = ", ".join(repr(name) for name in others)
        found.notes.append(
            f"the PDF also embeds {listed}; only the invoice XML {chosen.name!r} was read"
        )
    logger.info("reading the invoice XML %r embedded in the PDF", chosen.name)
    return found


def _parse(candidate: _EmbeddedFile, notes: list[str]) -> etree._Element | None:
    try:
        return parse_xml(candidate.content)
    except etree.XMLSyntaxError as error:
        notes.append(
            f"the embedded file {candidate.name!r} is not well-formed XML ({error}); "
            "ask the creditor for a corrected Factur-X file"
        )
        logger.info("embedded %s is not well-formed XML: %s", candidate.name, error)
        return None
