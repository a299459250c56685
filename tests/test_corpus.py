"""Every file of the real-world corpus goes through intake without being lost.

The corpus folder (``INCASSO_CORPUS``) holds real public mails, bounces,
invoices, scans and e-invoices, many of them malformed on purpose. Each file
is taken in the way ``incasso intake FOLDER`` takes a drop folder: mail as
mail, anything else as an upload. Afterwards each must have been processed
without an exception, its original bytes must be in the raw store, and it
must have an outcome: a case, a draft, or a review item with a reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from incasso.app.context import Application, build_application
from incasso.intake.drop import intake_paths
from incasso.intake.extract.model import ExtractionResult
from incasso.store.db import transaction
from incasso.store.models import Document, MailMessage, MessageStatus, ReviewItem
from tests.conftest import DATABASES, Clock, fresh_database, make_settings

pytestmark = pytest.mark.corpus

CORPUS = Path(os.environ.get("INCASSO_CORPUS", "/nonexistent"))
FILES = (
    sorted(
        path.relative_to(CORPUS).as_posix()
        for path in CORPUS.rglob("*")
        if path.is_file() and path.name != "MANIFEST.md"
    )
    if CORPUS.is_dir()
    else ["(INCASSO_CORPUS is not set)"]
)


@dataclass(frozen=True)
class Outcome:
    status: str
    error: str | None
    case_reference: str | None
    review_reasons: list[str]
    stored: bool


@pytest.fixture(scope="module", params=DATABASES)
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Outcome]]:
    folder = tmp_path_factory.mktemp("corpus")
    with fresh_database(request.param, folder) as url:
        settings = make_settings(folder, url, extraction_isolated=True)
        app = build_application(settings, clock=Clock())
        # Extraction does not depend on the database, so the second database reuses the
        # first one's results instead of reading every scan by OCR again.
        remembering = dataclasses.replace(app, extractor=_remembered(app.extractor))
        paths = [CORPUS / name for name in FILES]
        report = intake_paths(app.factory, app.rawstore, app.addresses, paths)
        assert report.skipped == []
        remembering.jobs.run_intake()
        yield collect_outcomes(app)
        app.close()


EXTRACTED: dict[tuple[str, str | None], ExtractionResult] = {}


def _remembered(extractor: Callable[..., ExtractionResult]) -> Callable[..., ExtractionResult]:
    def extract(data: bytes, **options: Any) -> ExtractionResult:
        key = (hashlib.sha256(data).hexdigest(), options.get("filename"))
        if key not in EXTRACTED:
            EXTRACTED[key] = extractor(data, **options)
        return EXTRACTED[key]

    return extract


def collect_outcomes(app: Application) -> dict[str, Outcome]:
    by_hash = {hashlib.sha256((CORPUS / name).read_bytes()).hexdigest(): name for name in FILES}
    found: dict[str, Outcome] = {}
    with transaction(app.factory) as session:
        messages = session.scalars(
            select(MailMessage).options(
                selectinload(MailMessage.raw_document), selectinload(MailMessage.case)
            )
        )
        for message in messages:
            sha256 = message.raw_document.sha256
            reasons = list(
                session.scalars(
                    select(ReviewItem.reasons).where(ReviewItem.mail_message_id == message.id)
                )
            )
            stored = session.scalar(select(Document.id).where(Document.sha256 == sha256))
            found[by_hash[sha256]] = Outcome(
                status=message.status,
                error=message.error,
                case_reference=message.case.reference if message.case else None,
                review_reasons=[reason for group in reasons for reason in group],
                stored=stored is not None and app.rawstore.get(sha256) is not None,
            )
    return found


@pytest.mark.parametrize("name", FILES)
def test_corpus_file_is_taken_in(outcomes: dict[str, Outcome], name: str) -> None:
    outcome = outcomes.get(name)

    assert outcome is not None, f"{name} was not received"
    assert outcome.stored
    assert outcome.status == MessageStatus.PROCESSED, outcome.error
    assert outcome.case_reference or outcome.review_reasons, f"{name} has no outcome"
    assert all(outcome.review_reasons)
