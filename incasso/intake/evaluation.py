"""Measuring extraction against labelled documents: precision, recall and confident errors.

A labelled set is a folder of documents with an ``expected.json`` beside them::

    {"schema": "incasso.extraction-labels/1",
     "documents": {
        "factuur-nl.pdf": {"kind": "pdf-text",
                           "invoices": [{"invoice_number": "2026-0412",
                                         "due_date": "2026-10-15",
                                         "amount_due": "184.50", ...}]},
        "creditnota.pdf": {"kind": "pdf-text", "invoices": [], "credit_notes": 1}}}

Field values are written the way extraction normalizes them (ISO dates,
amounts with a dot and two decimals). ``kind`` is the true source kind of the
document (``ubl``, ``cii``, ``pdf-text``, ``scan``, ``email-body``,
``spreadsheet``), so a scan that the extractor reads some other way still
counts as a scan. A ``.txt`` document is a mail body with a typed claim.

Scoring, per field and per kind: an expected value that was extracted equal
is a hit; extracted but different is a wrong value (it lowers precision and
recall); not extracted is a miss (it lowers recall). Fields that a label does
not list are not scored. A wrong value with a confidence at or above the
review threshold is a *confident error*: the worst outcome, because it would
reach a debtor without a person looking at it. Extracted invoices are paired
with labelled ones by invoice number, else in order.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incasso.i18n import format_share
from incasso.intake.extract import extract_document
from incasso.intake.extract.body import extract_body
from incasso.intake.extract.model import (
    DocumentKind,
    ExtractedInvoice,
    ExtractionResult,
    FieldName,
)

logger = logging.getLogger(__name__)

LABELS_FILE = "expected.json"
LABELS_SCHEMA = "incasso.extraction-labels/1"

Extractor = Callable[[Path], ExtractionResult]


@dataclass
class Tally:
    """Counts for one field, or one kind, or everything."""

    hits: int = 0
    wrong: int = 0
    misses: int = 0
    confident_errors: int = 0

    @property
    def precision(self) -> float:
        extracted = self.hits + self.wrong
        return self.hits / extracted if extracted else 1.0

    @property
    def recall(self) -> float:
        expected = self.hits + self.wrong + self.misses
        return self.hits / expected if expected else 1.0

    def add(self, other: Tally) -> None:
        self.hits += other.hits
        self.wrong += other.wrong
        self.misses += other.misses
        self.confident_errors += other.confident_errors


@dataclass
class Report:
    """The outcome of one evaluation run."""

    documents: int = 0
    by_kind_and_field: dict[tuple[str, str], Tally] = field(
        default_factory=lambda: defaultdict(Tally)
    )
    # Confident errors and credit notes opened as invoices, one line each, for a person.
    findings: list[str] = field(default_factory=list)

    def tally(self, kind: str | None = None, name: str | None = None) -> Tally:
        """Sum the counts, optionally of one kind and/or one field."""
        total = Tally()
        for (each_kind, each_name), counts in self.by_kind_and_field.items():
            if kind in (None, each_kind) and name in (None, each_name):
                total.add(counts)
        return total

    def kinds(self) -> list[str]:
        return sorted({kind for kind, _name in self.by_kind_and_field})

    def fields(self, kind: str | None = None) -> list[str]:
        return sorted({n for k, n in self.by_kind_and_field if kind in (None, k)})

    def as_json(self) -> dict[str, Any]:
        def numbers(counts: Tally) -> dict[str, Any]:
            return {
                "hits": counts.hits,
                "wrong": counts.wrong,
                "misses": counts.misses,
                "confident_errors": counts.confident_errors,
                "precision": round(counts.precision, 4),
                "recall": round(counts.recall, 4),
            }

        return {
            "schema": "incasso.extraction-report/1",
            "documents": self.documents,
            "total": numbers(self.tally()),
            "kinds": {
                kind: {
                    "total": numbers(self.tally(kind)),
                    "fields": {name: numbers(self.tally(kind, name)) for name in self.fields(kind)},
                }
                for kind in self.kinds()
            },
            "findings": self.findings,
        }


def evaluate(
    folder: Path,
    *,
    threshold: float = 0.8,
    extractor: Extractor | None = None,
    labels: dict[str, dict[str, Any]] | None = None,
) -> Report:
    """Extract every labelled document in ``folder`` and score it against its labels.

    ``labels`` replaces the folder's ``expected.json``, for labels derived some
    other way (see :mod:`incasso.intake.xml_labels`).
    """
    labelled = load_labels(folder) if labels is None else labels
    extract = extractor or extract_file
    report = Report()

    for name, label in sorted(labelled.items()):
        path = folder / name
        result = extract(path)
        report.documents += 1
        _score_document(report, name, label, result, threshold)
    return report


def load_labels(folder: Path) -> dict[str, dict[str, Any]]:
    """Read ``expected.json`` of ``folder``; raise ValueError naming what is wrong."""
    path = folder / LABELS_FILE
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ValueError(f"{path} is missing: a labelled set needs an {LABELS_FILE}") from err
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err

    if content.get("schema") != LABELS_SCHEMA:
        raise ValueError(f"{path} has schema {content.get('schema')!r}; expected {LABELS_SCHEMA}")
    documents = content.get("documents")
    if not isinstance(documents, dict) or not documents:
        raise ValueError(f"{path} lists no documents")
    missing = [name for name in documents if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"{path} names files that are not in {folder}: {', '.join(missing)}")
    known = {member.value for member in FieldName}
    for name, label in documents.items():
        for invoice in label.get("invoices", []):
            unknown = sorted(set(invoice) - known)
            if unknown:
                raise ValueError(
                    f"{path}: {name} labels unknown fields {', '.join(unknown)}; "
                    f"use the field names of extraction: {', '.join(sorted(known))}"
                )
    return documents


def extract_file(path: Path) -> ExtractionResult:
    """Extract one labelled file; a ``.txt`` file is a mail body with a typed claim."""
    if path.suffix.lower() == ".txt":
        return extract_body(path.read_text(encoding="utf-8"))
    return extract_document(path.read_bytes(), filename=path.name)


def extract_text_layer(path: Path) -> ExtractionResult:
    """Extract one file, reading a PDF from its text layer or by OCR even if it embeds XML."""
    return extract_document(path.read_bytes(), filename=path.name, embedded_xml=False)


def _score_document(
    report: Report, name: str, label: dict[str, Any], result: ExtractionResult, threshold: float
) -> None:
    kind = str(label.get("kind", "unknown"))
    invoices = [i for i in result.invoices if i.kind == DocumentKind.INVOICE]
    credit_notes = len(result.invoices) - len(invoices)
    expected_credit_notes = int(label.get("credit_notes", 0))
    if credit_notes != expected_credit_notes:
        report.findings.append(
            f"{name}: {credit_notes} credit notes found, {expected_credit_notes} expected"
        )

    pairs = _pair(label.get("invoices", []), invoices)
    for expected, found in pairs:
        for field_name, value in expected.items():
            counts = report.by_kind_and_field[(kind, field_name)]
            _score_field(counts, report, name, field_name, str(value), found, threshold)
    paired = {id(found) for _expected, found in pairs}
    for extra in invoices:
        if id(extra) not in paired:
            number = extra.value(FieldName.INVOICE_NUMBER)
            report.findings.append(f"{name}: unexpected invoice {number!r}")


def _pair(
    expected: list[dict[str, Any]], found: list[ExtractedInvoice]
) -> list[tuple[dict[str, Any], ExtractedInvoice | None]]:
    by_number = {invoice.value(FieldName.INVOICE_NUMBER): invoice for invoice in found}
    taken: set[int] = set()
    pairs: list[tuple[dict[str, Any], ExtractedInvoice | None]] = []
    for position, labelled in enumerate(expected):
        match = by_number.get(labelled.get("invoice_number"))
        if match is None and position < len(found) and id(found[position]) not in taken:
            match = found[position]
        if match is not None:
            taken.add(id(match))
        pairs.append((labelled, match))
    return pairs


def _score_field(
    counts: Tally,
    report: Report,
    document: str,
    field_name: str,
    expected: str,
    found: ExtractedInvoice | None,
    threshold: float,
) -> None:
    extracted = None if found is None else found.fields.get(FieldName(field_name))
    if extracted is None:
        counts.misses += 1
        return
    if _same(field_name, extracted.value, expected):
        counts.hits += 1
        return

    counts.wrong += 1
    if extracted.confidence >= threshold:
        counts.confident_errors += 1
        report.findings.append(
            f"{document}: {field_name} is {extracted.value!r} with confidence "
            f"{extracted.confidence:.2f}, expected {expected!r} ({extracted.source})"
        )


def _same(field_name: str, found: str, expected: str) -> bool:
    if field_name in ("debtor_name", "debtor_address", "description", "seller_name"):
        return " ".join(found.lower().split()) == " ".join(expected.lower().split())
    return found == expected


def render_report(report: Report, _: Callable[[str], str] = str, language: str = "en") -> list[str]:
    """Format ``report`` as text lines: one table of fields per kind, then the findings.

    ``_`` translates the headings and ``language`` sets the number format; field
    names, kinds and findings stay as the labels and the extractor write them.
    """

    def share(value: float) -> str:
        return format_share(value, language)

    lines = [_("Documents: {count}").format(count=report.documents)]
    field_heading, precision, recall = _("field"), _("precision"), _("recall")
    hits, wrong, missed = _("hits"), _("wrong"), _("missed")
    header = f"{field_heading:<20}{precision:>10} {recall:>8} {hits:>7} {wrong:>7} {missed:>7}"
    for kind in report.kinds():
        total = report.tally(kind)
        lines.append("")
        lines.append(
            _("{kind}: precision {precision}, recall {recall}, confident errors {errors}").format(
                kind=kind,
                precision=share(total.precision),
                recall=share(total.recall),
                errors=total.confident_errors,
            )
        )
        lines.append(header)
        for name in report.fields(kind):
            counts = report.tally(kind, name)
            lines.append(
                f"{name:<20}{share(counts.precision):>10} {share(counts.recall):>8} "
                f"{counts.hits:>7} {counts.wrong:>7} {counts.misses:>7}"
            )
    if report.findings:
        lines.append("")
        lines.extend(report.findings)
    return lines
