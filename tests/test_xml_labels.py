"""Labels derived from e-invoice XML, and evaluation against them, on own files and the corpus."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incasso.app.cli import build_cli
from incasso.app.settings import Settings
from incasso.intake.evaluation import evaluate, extract_text_layer
from incasso.intake.xml_labels import (
    NO_EMBEDDED_XML,
    NO_FIELDS,
    NO_TEXT_LAYER,
    NOT_EINVOICE,
    NOT_PARSED,
    PAGE_FIELDS,
    labels_from_xml,
)
from tests.factories import example_spec, make_invoice_pdf, make_ubl_invoice
from tests.factories.einvoice import make_cii_invoice, make_facturx_pdf, make_order_x

CORPUS = Path(os.environ.get("INCASSO_CORPUS", "/nonexistent"))
# What a reminder states: a wrong one must never pass without review.
REMINDER_FIELDS = ("amount_due", "due_date")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small folder as a creditor's archive holds it: e-invoices and other files."""
    folder = tmp_path_factory.mktemp("einvoices")
    english = example_spec("en")
    french = example_spec("fr")
    (folder / "invoice.xml").write_bytes(make_ubl_invoice(example_spec("nl")))
    (folder / "credit-note.xml").write_bytes(
        make_ubl_invoice(replace(english, number="CN-2026-0003", credit_note=True))
    )
    (folder / "facture.pdf").write_bytes(make_facturx_pdf(french, make_cii_invoice(french)))
    (folder / "plain.pdf").write_bytes(make_invoice_pdf(english))
    (folder / "order.xml").write_bytes(make_order_x())
    (folder / "broken.xml").write_bytes(b"<Invoice><ID>1</Invoice>")
    (folder / "notes.txt").write_text("Factuur 2026-5521, bedrag 612,40 euro", encoding="utf-8")
    return folder


def test_labels_from_xml_files_and_pdfs(folder: Path) -> None:
    derived = labels_from_xml(folder)

    assert sorted(derived.documents) == ["credit-note.xml", "facture.pdf", "invoice.xml"]
    assert derived.documents["invoice.xml"]["kind"] == "ubl"
    assert derived.documents["invoice.xml"]["invoices"][0]["invoice_number"] == "2026-0412"
    assert derived.documents["credit-note.xml"]["invoices"] == []
    assert derived.documents["credit-note.xml"]["credit_notes"] == 1
    facture = derived.documents["facture.pdf"]
    assert facture["kind"] == "facturx"
    assert facture["invoices"][0]["amount_due"] == f"{example_spec('fr').amount_due:.2f}"


def test_labels_from_xml_says_why_files_are_left_out(folder: Path) -> None:
    skipped = labels_from_xml(folder).skipped

    assert skipped == {
        "plain.pdf": NO_EMBEDDED_XML,
        "order.xml": NO_FIELDS,
        "broken.xml": NOT_PARSED,
        "notes.txt": NOT_EINVOICE,
    }


def test_labels_for_the_text_layer_keep_page_fields(folder: Path) -> None:
    derived = labels_from_xml(folder, text_layer=True)

    assert list(derived.documents) == ["facture.pdf"]
    assert derived.skipped["invoice.xml"] == NO_TEXT_LAYER
    label = derived.documents["facture.pdf"]
    assert label["kind"] == "pdf-text"
    assert set(label["invoices"][0]) <= PAGE_FIELDS
    assert "seller_name" in labels_from_xml(folder).documents["facture.pdf"]["invoices"][0]


def test_evaluate_with_derived_labels(folder: Path) -> None:
    report = evaluate(folder, labels=labels_from_xml(folder).documents)

    assert report.documents == 3
    assert report.tally().recall == 1.0, "\n".join(report.findings)
    assert report.tally().precision == 1.0


def test_evaluate_the_page_of_a_facturx_pdf(folder: Path) -> None:
    # The page of our Factur-X file prints the same invoice as its XML, so the
    # layout reader must find the key fields there without the XML.
    labels = labels_from_xml(folder, text_layer=True).documents
    report = evaluate(folder, labels=labels, extractor=extract_text_layer)

    for name in ("invoice_number", "issue_date", "due_date", "amount_due"):
        assert report.tally("pdf-text", name).hits == 1, "\n".join(report.findings)
    assert extract_text_layer(folder / "facture.pdf").method != "cii"


def test_command_with_labels_from_xml(folder: Path, tmp_path: Path) -> None:
    cli = build_cli(Settings(data_dir=tmp_path / "var"))

    arguments = ["eval-extraction", str(folder), "--labels-from-xml", "--json"]
    result = CliRunner().invoke(cli, arguments)

    assert result.exit_code == 0, result.output
    form = json.loads(result.output)
    assert form["documents"] == 3
    assert form["skipped"]["plain.pdf"] == NO_EMBEDDED_XML
    assert set(form["kinds"]) == {"ubl", "facturx"}


def test_command_text_layer_needs_labels_from_xml(folder: Path, tmp_path: Path) -> None:
    cli = build_cli(Settings(data_dir=tmp_path / "var"))

    result = CliRunner().invoke(cli, ["eval-extraction", str(folder), "--text-layer"])

    assert result.exit_code == 2
    assert "--labels-from-xml" in result.output


def test_command_folder_without_einvoices(tmp_path: Path) -> None:
    (tmp_path / "plain.pdf").write_bytes(make_invoice_pdf(example_spec("nl")))
    cli = build_cli(Settings(data_dir=tmp_path / "var"))

    result = CliRunner().invoke(cli, ["eval-extraction", str(tmp_path), "--labels-from-xml"])

    assert result.exit_code == 2
    assert "e-invoice" in result.output


# ---------------------------------------------------------------------------
# The real corpus: e-invoices whose XML is their label


@pytest.mark.corpus
@pytest.mark.parametrize("subfolder", ["einvoices-xml", "facturx"])
def test_corpus_einvoices_read_exactly(subfolder: str) -> None:
    folder = CORPUS / subfolder
    derived = labels_from_xml(folder)
    report = evaluate(folder, labels=derived.documents)

    assert report.documents >= 10
    assert report.tally().precision == 1.0, "\n".join(report.findings)
    assert report.tally().recall == 1.0, "\n".join(report.findings)


@pytest.mark.corpus
def test_corpus_facturx_pages_amount_and_due_date() -> None:
    folder = CORPUS / "facturx"
    labels = labels_from_xml(folder, text_layer=True).documents
    report = evaluate(folder, labels=labels, extractor=extract_text_layer)

    for name in REMINDER_FIELDS:
        counts = report.tally("pdf-text", name)
        assert counts.confident_errors == 0, "\n".join(report.findings)
        assert counts.hits >= 3, f"{name}: {counts}"
