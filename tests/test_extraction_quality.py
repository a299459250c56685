"""Extraction measured on the generated labelled set, held to its targets.

Targets: every field right on UBL and Factur-X; at least 97 % on text PDFs
for the invoice number, dates and amount due; at least 90 % on scans; and
never a wrong value with a confidence high enough to skip review.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incasso.app.cli import build_cli
from incasso.app.settings import Settings
from incasso.intake.evaluation import Report, evaluate
from tests.eval_set import write_eval_set

KEY_FIELDS = ("invoice_number", "issue_date", "due_date", "amount_due")
MINIMUM_DOCUMENTS = 40


@pytest.fixture(scope="module")
def eval_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("eval-set")
    write_eval_set(folder)
    return folder


@pytest.fixture(scope="module")
def report(eval_folder: Path) -> Report:
    return evaluate(eval_folder)


def test_set_is_large_enough(report: Report) -> None:
    assert report.documents >= MINIMUM_DOCUMENTS


def test_no_confident_errors(report: Report) -> None:
    assert report.tally().confident_errors == 0, "\n".join(report.findings)


@pytest.mark.parametrize("kind", ["ubl", "cii"])
def test_structured_invoices_are_exact(report: Report, kind: str) -> None:
    if kind not in report.kinds():
        pytest.fail(f"the evaluation set has no {kind} documents")
    total = report.tally(kind)

    assert total.precision == 1.0, "\n".join(report.findings)
    assert total.recall == 1.0, "\n".join(report.findings)


@pytest.mark.parametrize("name", KEY_FIELDS)
def test_text_pdfs_key_fields(report: Report, name: str) -> None:
    counts = report.tally("pdf-text", name)

    assert counts.precision >= 0.97
    assert counts.recall >= 0.97


def test_scans_key_fields(report: Report) -> None:
    if "scan" not in report.kinds():
        pytest.fail("the evaluation set has no scans")
    for name in KEY_FIELDS:
        counts = report.tally("scan", name)
        assert counts.recall >= 0.90, f"{name}: recall {counts.recall:.1%}"


def test_findings_name_no_unexpected_credit_notes(report: Report) -> None:
    assert not [line for line in report.findings if "credit notes found" in line]


def test_command_prints_the_report(eval_folder: Path, tmp_path: Path) -> None:
    cli = build_cli(Settings(data_dir=tmp_path / "var"))

    result = CliRunner().invoke(cli, ["eval-extraction", str(eval_folder), "--json"])

    assert result.exit_code == 0, result.output
    form = json.loads(result.output)
    assert form["schema"] == "incasso.extraction-report/1"
    assert form["documents"] >= MINIMUM_DOCUMENTS
    assert form["kinds"]["pdf-text"]["fields"]["amount_due"]["recall"] >= 0.97


def test_command_rejects_a_folder_without_labels(tmp_path: Path) -> None:
    result = CliRunner().invoke(build_cli(Settings()), ["eval-extraction", str(tmp_path)])

    assert result.exit_code == 2
    assert "expected.json" in result.output
