"""Labels for evaluation taken from the XML of e-invoices, for folders without ``expected.json``.

A folder of real e-invoices carries its own truth: a UBL or CII file states its
fields exactly, and a Factur-X or ZUGFeRD PDF embeds the same XML beside the
printed page. :func:`labels_from_xml` reads that truth with the independent
reader of :mod:`incasso.intake.extract.reference` and writes it in the form of
:func:`incasso.intake.evaluation.load_labels`, so ``evaluate`` can score:

- the XML extractors on the XML files and on the PDFs read as usual (kinds
  ``ubl``, ``cii`` and ``facturx``);
- the text-layer and OCR readers on the same PDFs read as if they carried no
  XML (kind ``pdf-text``), with ``text_layer=True``. This measures the layout
  reader on real invoices without labelling them by hand. Only the fields that
  reader looks for on a page are labelled then (:data:`PAGE_FIELDS`); the seller's
  details and the subtotals come from the creditor's record, not from the page.
  A sample whose page shows another invoice than its XML counts against the
  reader, so read the findings before the figures.

Files that give no label (not XML or PDF, no embedded XML, XML that does not
parse, an ORDER-X or invoice response, a document without any field) are
returned in ``skipped`` with the reason, so the report can say what it left out.
The reasons are message ids marked for translation; pass them through ``_``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from incasso.i18n import N_
from incasso.intake.extract.facturx import find_embedded_invoice
from incasso.intake.extract.reference import reference_fields

logger = logging.getLogger(__name__)

PDF_HEADER_WINDOW = 1024
NO_EMBEDDED_XML = N_("a PDF without an embedded invoice XML")
NO_TEXT_LAYER = N_("an XML file has no page to read")
NOT_EINVOICE = N_("neither an XML file nor a PDF")
NOT_PARSED = N_("XML that does not parse")
NO_FIELDS = N_("XML that is no UBL or CII invoice, or holds none of its fields")
PAGE_FIELDS = frozenset(
    {
        "invoice_number",
        "issue_date",
        "due_date",
        "amount_due",
        "currency",
        "debtor_name",
        "debtor_vat",
        "payment_reference",
    }
)


@dataclass
class DerivedLabels:
    """Labels per file name in the ``expected.json`` form, and the files left out with why."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def labels_from_xml(folder: Path, *, text_layer: bool = False) -> DerivedLabels:
    """Derive labels for the e-invoices directly in ``folder`` (see the module doc).

    With ``text_layer`` only PDFs with an embedded invoice are labelled, as
    ``pdf-text``; the XML files have no page to read.
    """
    derived = DerivedLabels()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        if path.name.startswith("."):
            continue
        label_or_reason = _label(path, text_layer)
        if isinstance(label_or_reason, str):
            derived.skipped[path.name] = label_or_reason
        else:
            derived.documents[path.name] = label_or_reason
    logger.info(
        "derived labels for %d file(s) in %s, skipped %d",
        len(derived.documents),
        folder,
        len(derived.skipped),
    )
    return derived


def _label(path: Path, text_layer: bool) -> dict[str, Any] | str:
    data = path.read_bytes()
    header_at = data[:PDF_HEADER_WINDOW].find(b"%PDF-")
    if header_at >= 0:
        xml = _embedded_xml(data[header_at:])
        if xml is None:
            return NO_EMBEDDED_XML
        kind = "pdf-text" if text_layer else "facturx"
    elif path.suffix.lower() == ".xml":
        if text_layer:
            return NO_TEXT_LAYER
        xml = data
        kind = ""
    else:
        return NOT_EINVOICE
    label = _from_xml(xml, kind)
    if text_layer and not isinstance(label, str):
        label["invoices"] = [
            {name: value for name, value in fields.items() if name in PAGE_FIELDS}
            for fields in label["invoices"]
        ]
    return label


def _embedded_xml(pdf: bytes) -> bytes | None:
    embedded = find_embedded_invoice(pdf)
    if embedded.root is None:
        return None
    return bytes(etree.tostring(embedded.root))


def _from_xml(xml: bytes, kind: str) -> dict[str, Any] | str:
    try:
        invoices = reference_fields(xml)
    except etree.XMLSyntaxError as error:
        logger.info("XML that does not parse, left out of the labels: %s", error)
        return NOT_PARSED
    if not invoices:
        return NO_FIELDS

    label_kind = kind or _xml_kind(xml)
    credit_notes = sum(1 for fields in invoices if fields["kind"] == "credit_note")
    expected = [
        {name: value for name, value in fields.items() if name != "kind"}
        for fields in invoices
        if fields["kind"] == "invoice"
    ]
    return {"kind": label_kind, "invoices": expected, "credit_notes": credit_notes}


def _xml_kind(xml: bytes) -> str:
    """``ubl`` or ``cii``, by the local name of the root (or of what a Peppol envelope holds)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(xml, parser=parser)
    names = {etree.QName(root).localname}
    names.update(etree.QName(child).localname for child in root if isinstance(child.tag, str))
    return "ubl" if names & {"Invoice", "CreditNote"} else "cii"
