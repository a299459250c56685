"""Extraction in a worker process: results come back, and a stalling or greedy file is cut off."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from incasso.app.context import Application
from incasso.intake.extract.model import FieldName, Problem
from incasso.intake.isolation import IsolatedExtractor, Limits
from incasso.intake.receive import receive
from incasso.store.db import transaction
from incasso.store.models import Channel, ReviewItem
from tests.factories.invoice_pdf import example_spec, make_invoice_pdf

GIB = 1024 * 1024 * 1024


@pytest.fixture
def extractor() -> Iterator[IsolatedExtractor]:
    isolated = IsolatedExtractor(Limits(timeout_seconds=30.0, memory_bytes=GIB))
    yield isolated
    isolated.close()


def test_worker_returns_the_fields(extractor: IsolatedExtractor) -> None:
    spec = example_spec("nl")

    first = extractor(make_invoice_pdf(spec), filename="f.pdf")
    second = extractor(make_invoice_pdf(spec), filename="f.pdf")

    assert first.problem is None
    assert first.invoices[0].value(FieldName.INVOICE_NUMBER) == spec.number
    assert second.invoices[0].value(FieldName.AMOUNT_DUE) == f"{spec.total:.2f}"


def test_close_lets_an_idle_worker_end(caplog: pytest.LogCaptureFixture) -> None:
    extractor = IsolatedExtractor(Limits(timeout_seconds=30.0, memory_bytes=GIB))
    extractor(make_invoice_pdf(example_spec("fr")), filename="f.pdf")
    process = extractor._process
    assert process is not None

    with caplog.at_level("INFO", logger="incasso.intake.isolation"):
        extractor.close()

    assert process.exitcode == 0  # ended its loop; a killed worker has -9
    assert not [record for record in caplog.records if record.levelname == "WARNING"]


def test_hanging_document_is_stopped_and_worker_replaced() -> None:
    extractor = IsolatedExtractor(Limits(timeout_seconds=2.0), target="tests.hostile:hang")
    try:
        start = time.monotonic()
        stopped = extractor(b"hostile", filename="loop.pdf")
        elapsed = time.monotonic() - start

        after = extractor(b"quick", filename="next.pdf")
    finally:
        extractor.close()

    assert stopped.problem == Problem.TOO_COSTLY
    assert "longer than 2 s" in (stopped.detail or "")
    assert "'loop.pdf'" in (stopped.detail or "")
    assert elapsed < 15  # the worker's start-up plus the limit, not the hour it wanted
    assert after.detail == "quick"


def test_greedy_document_hits_the_memory_limit() -> None:
    extractor = IsolatedExtractor(
        Limits(timeout_seconds=30.0, memory_bytes=GIB), target="tests.hostile:allocate"
    )
    try:
        result = extractor(b"anything", filename="huge.pdf")
    finally:
        extractor.close()

    assert result.problem == Problem.TOO_COSTLY
    assert "1024 MiB" in (result.detail or "")


def test_dying_worker_is_reported_and_replaced() -> None:
    extractor = IsolatedExtractor(Limits(timeout_seconds=30.0), target="tests.hostile:die")
    try:
        first = extractor(b"x", filename="crash.pdf")
        second = extractor(b"x", filename="crash-again.pdf")
    finally:
        extractor.close()

    assert first.problem == Problem.TOO_COSTLY
    assert "ended unexpectedly" in (first.detail or "")
    assert second.problem == Problem.TOO_COSTLY  # a new worker took the second one


def test_intake_goes_on_after_a_stalled_attachment(app: Application) -> None:
    stalling = IsolatedExtractor(Limits(timeout_seconds=2.0), target="tests.hostile:hang")
    isolated_app = dataclasses.replace(app, extractor=stalling)
    message = EmailMessage()
    message["From"] = "someone@unknown.example"
    message["Subject"] = "Factuur"
    message.set_content("Zie bijlage.")
    message.add_attachment(b"%PDF-1.4 hostile", maintype="application", subtype="pdf",
                           filename="loop.pdf")  # fmt: skip
    receive(app.factory, app.rawstore, message.as_bytes(), channel=Channel.DROP)

    try:
        isolated_app.jobs.run_intake()
    finally:
        stalling.close()

    with transaction(app.factory) as session:
        (item,) = session.scalars(select(ReviewItem))
        assert "attachment:too_costly" in item.reasons
        assert "longer than 2 s" in (item.detail or "")
