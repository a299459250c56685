"""A fax from a gateway reaches its creditor by the calling number, and always waits for review."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from incasso.app.cli import build_cli
from incasso.app.context import Application
from incasso.app.settings import Settings
from incasso.cases.creditors import CreditorError, NewCreditor, register_creditor
from incasso.intake.receive import Envelope, receive
from incasso.store.db import transaction
from incasso.store.models import Channel, CreditorFaxNumber, ReviewItem
from tests.intake.test_fax import fax_pdf, fax_tiff, gateway_mail

RELAYED = Envelope(peer="127.0.0.1:40000")


def register(app: Application, *fax_numbers: str) -> None:
    with transaction(app.factory) as session:
        register_creditor(
            session,
            NewCreditor("ATELIER", "Atelier Peeters BV", "0812345603", "nl",
                        "Kerkstraat 1, 9000 Gent", "+32 9 123 45 67", None, (), fax_numbers),
        )  # fmt: skip


def reviews(app: Application) -> list[ReviewItem]:
    with transaction(app.factory) as session:
        return list(session.scalars(select(ReviewItem)))


def test_fax_number_is_stored_in_e164(app: Application) -> None:
    register(app, "09/234.56.78")

    with transaction(app.factory) as session:
        assert session.scalars(select(CreditorFaxNumber.number)).one() == "+3292345678"


def test_invalid_fax_number_is_refused(app: Application) -> None:
    with pytest.raises(CreditorError, match="12345"):
        register(app, "12345")


def test_tiff_fax_reaches_creditor_and_waits(app: Application) -> None:
    register(app, "09 234 56 78")
    tiff = fax_tiff(["Factuur 2026-118", "Totaal 1.234,56"], (204, 98))
    raw = gateway_mail(
        "Fax van 09/234.56.78 (2 pagina's)", "Zie bijlage.", ("fax.tif", "image/tiff", tiff)
    )

    receive(app.factory, app.rawstore, raw, channel=Channel.SMTP, envelope=RELAYED)
    app.jobs.run_intake()

    (item,) = reviews(app)
    assert item.kind == "no_invoice"  # the creditor is known; OCR read no invoice fields
    assert item.reasons == ["creditor_by_fax_number", "attachment:not_an_invoice"]
    assert "fax from +3292345678" in (item.detail or "")


def test_pdf_fax_cover_page_is_not_extracted(app: Application) -> None:
    register(app, "+32 9 234 56 78")
    pdf = fax_pdf(["FAX", "Van: 09 234 56 78", "Aantal pagina's: 2"], scanned_pages=1)
    raw = gateway_mail("Fax from +32 9 234 56 78", "", ("fax.pdf", "application/pdf", pdf))

    receive(app.factory, app.rawstore, raw, channel=Channel.SMTP, envelope=RELAYED)
    app.jobs.run_intake()

    (item,) = reviews(app)
    # Only the scanned page went to extraction: one result, not two.
    assert item.reasons == ["creditor_by_fax_number", "attachment:not_an_invoice"]


def test_fax_from_unknown_number_is_unmatched(app: Application) -> None:
    register(app, "09 234 56 78")
    tiff = fax_tiff(["Factuur"], (204, 196))
    raw = gateway_mail("Fax from +32 2 555 12 12", "", ("fax.tif", "image/tiff", tiff))

    receive(app.factory, app.rawstore, raw, channel=Channel.SMTP, envelope=RELAYED)
    app.jobs.run_intake()

    (item,) = reviews(app)
    assert item.kind == "unmatched_mail"
    assert item.reasons[0] == "unknown_sender"


def test_creditor_add_with_fax_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cli = build_cli(Settings())
    arguments = [
        "creditor", "add", "--code", "ATELIER", "--name", "Atelier Peeters BV",
        "--enterprise-number", "0812.345.603", "--address", "Kerkstraat 1, 9000 Gent",
        "--phone", "+32 9 123 45 67", "--fax", "09 234 56 78",
    ]  # fmt: skip

    added = CliRunner().invoke(cli, arguments)
    listed = CliRunner().invoke(cli, ["creditor", "list", "--json"])

    assert added.exit_code == 0, added.output
    assert '"fax_numbers": [\n        "+3292345678"\n      ]' in listed.output
