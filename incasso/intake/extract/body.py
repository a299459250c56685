"""Extract claims that a creditor typed in the body of a mail instead of attaching an invoice.

:func:`extract_body` reads lines such as "Factuur 2026-5521 van 03/07/2026, bedrag
612,40 euro, vervallen op 02/08/2026", "Facture n° F-88 du 3 juillet 2026, montant
1.245,80 €, échéance 2 août 2026" or "Invoice INV-7 dated 3 July 2026, amount EUR
98.50, due 2 August 2026". The steps:

- :mod:`incasso.intake.extract.body_quotes` cuts the text into the creditor's own
  message and each forwarded or quoted message, and marks header lines and signatures,
  which are never read as claim text.
- :mod:`incasso.intake.extract.body_labels` finds the invoice numbers, each of which
  starts a claim, and the labels of the claim's fields.
- :mod:`incasso.intake.extract.body_claim` cuts each message into claims and reads
  each claim's amount, currency, dates and payment reference.
- :mod:`incasso.intake.extract.body_debtor` finds each claim's debtor.
- The same number twice gives one invoice, and a second, different amount or due date
  lowers the first to a guess.

Confidence is :data:`CONFIDENCE_LABELED` (0.85) for a labeled value and
:data:`CONFIDENCE_GUESS` (0.6) for a guess. Checks that apply to every extractor, such
as a due date before the issue date, are left to
:func:`incasso.intake.extract.validate.validate`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace

from incasso.intake.extract.body_claim import (
    CONFIDENCE_GUESS,
    CONFIDENCE_LABELED,
    read_claim,
    segments,
)
from incasso.intake.extract.body_debtor import (
    debtor_for,
    find_blocks,
    guessed_debtor,
    header_exclusions,
)
from incasso.intake.extract.body_labels import find_labels, find_mentions
from incasso.intake.extract.body_quotes import Line, Passage, split_lines
from incasso.intake.extract.model import ExtractedInvoice, ExtractionResult, FieldName, Problem
from incasso.intake.extract.normalize import Exclusions, find_vats

__all__ = ["CONFIDENCE_GUESS", "CONFIDENCE_LABELED", "METHOD", "extract_body"]

logger = logging.getLogger(__name__)

METHOD = "email-body"


def extract_body(text: str, *, exclude: Iterable[str] = ()) -> ExtractionResult:
    """Extract the claims typed in a mail body, with the debtor named there.

    ``exclude`` lists the creditor's own e-mail addresses, domains, VAT numbers and
    phone numbers, which are never taken as the debtor's. Returns
    ``Problem.NOT_AN_INVOICE`` when the text holds no invoice number with an amount.
    """
    entries = Exclusions.from_entries(exclude)
    lines = split_lines(text)
    excluded = header_exclusions(lines, entries)
    blocks = find_blocks(lines, excluded)

    invoices: dict[str, ExtractedInvoice] = {}
    notes: list[str] = []
    for part in sorted({line.part for line in lines}):
        readable = [line for line in lines if line.part == part and line.role in ("text", "blank")]
        passage = Passage.of(readable)
        mentions = find_mentions(passage.text)
        labels = find_labels(passage.text, [(m.start, m.end) for m in mentions])
        boundaries = sorted([label.start for label in labels] + [m.start for m in mentions])
        busy: dict[int, int] = {}
        for mention in mentions:
            line = passage.line_at(mention.start)
            busy.setdefault(line.paragraph, line.number)

        for segment in segments(passage, mentions):
            claim = read_claim(segment, labels, boundaries)
            if claim is None:
                number = segment.line(segment.mention.start)
                notes.append(
                    f"line {number}: invoice {segment.mention.number} is mentioned without an "
                    "amount, so no claim was made for it"
                )
                continue
            fields, language = claim
            block = debtor_for(segment, blocks, busy)
            debtor = block.fields if block is not None else {}
            fields.update({**guessed_debtor(segment, excluded), **debtor})
            invoice = ExtractedInvoice(fields, segment.mention.kind, language)
            _merge(invoices, invoice, notes)

    vat_numbers: list[str] = []
    for line in lines:
        vat_numbers.extend(vat for vat in find_vats(line.text) if vat not in vat_numbers)
    if not invoices:
        return ExtractionResult(
            method=METHOD,
            problem=Problem.NOT_AN_INVOICE,
            detail=_no_claim_detail(lines, notes),
            vat_numbers=vat_numbers,
            notes=notes,
        )
    logger.debug("read %d claim(s) from a mail body of %d lines", len(invoices), len(lines))
    return ExtractionResult(METHOD, list(invoices.values()), vat_numbers=vat_numbers, notes=notes)


def _merge(
    invoices: dict[str, ExtractedInvoice], invoice: ExtractedInvoice, notes: list[str]
) -> None:
    """Add ``invoice``, or fill the gaps of an earlier claim with the same number.

    A value that differs from the earlier one lowers the earlier field to a guess.
    """
    number = invoice.value(FieldName.INVOICE_NUMBER) or ""
    earlier = invoices.get(number)
    if earlier is None:
        invoices[number] = invoice
        return
    for name, field in invoice.fields.items():
        existing = earlier.fields.get(name)
        if existing is None:
            earlier.fields[name] = field
        elif existing.value != field.value and name in (FieldName.AMOUNT_DUE, FieldName.DUE_DATE):
            doubt = f"the mail also gives {field.value} ({field.source})"
            earlier.fields[name] = replace(
                existing, confidence=CONFIDENCE_GUESS, doubts=(*existing.doubts, doubt)
            )
            notes.append(
                f"invoice {number}: {name} is given as {existing.value} and as {field.value}"
            )


def _no_claim_detail(lines: list[Line], notes: list[str]) -> str:
    readable = sum(1 for line in lines if line.role == "text")
    detail = (
        f"no typed claim in the mail body ({readable} readable lines): no invoice number "
        "followed by an amount, such as 'Factuur 2026-5521, bedrag 612,40 euro'"
    )
    return "; ".join([detail, *notes])
