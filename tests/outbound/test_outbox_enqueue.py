"""Queuing e-mails, SMS and letters in the outbox: once per case, step and medium."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from incasso.app.context import Application
from incasso.cases.lifecycle import EventKind
from incasso.outbound.outbox import enqueue_item, outbox_key
from incasso.outbound.sms import SMS_CONTENT_TYPE
from incasso.store.db import transaction
from incasso.store.models import MailMessage, MessageStatus
from tests.builders import active_case
from tests.outbound.outbox_items import (
    DEBTOR_PHONE,
    DEBTOR_POSTAL_ADDRESS,
    LETTER_PDF,
    case_by_reference,
    events_of,
    message_row,
    queue_email,
    queue_letter,
    queue_sms,
)


def outbound_count(app: Application) -> int:
    with transaction(app.factory) as session:
        return session.scalar(select(func.count()).select_from(MailMessage)) or 0


def stored_bytes(app: Application, row: MailMessage) -> bytes:
    with transaction(app.factory) as session:
        return app.rawstore.get(row.raw_document.sha256, session=session)


def test_sms_item_is_queued_pending(app: Application) -> None:
    reference = active_case(app)

    row_id = queue_sms(app, reference, text="Betaal 250,00 EUR op BE71 0961 2345 6769.")

    assert row_id is not None
    row = message_row(app, row_id)
    assert row.status == MessageStatus.PENDING
    assert row.medium == "sms"
    assert row.step == "sms"
    assert row.dedupe_key == f"out:{row.case_id}:sms:sms"
    assert row.to_addresses == DEBTOR_PHONE
    assert row.subject is None
    assert row.envelope_from is None
    assert row.raw_document.content_type == SMS_CONTENT_TYPE
    payload = json.loads(stored_bytes(app, row))
    assert payload == {"to": DEBTOR_PHONE, "text": "Betaal 250,00 EUR op BE71 0961 2345 6769."}


def test_letter_item_keeps_pdf_and_address(app: Application) -> None:
    reference = active_case(app)

    row_id = queue_letter(app, reference)

    assert row_id is not None
    row = message_row(app, row_id)
    assert row.medium == "letter"
    assert row.dedupe_key == f"out:{row.case_id}:registered_letter:letter"
    assert row.to_addresses == DEBTOR_POSTAL_ADDRESS
    assert row.raw_document.content_type == "application/pdf"
    assert stored_bytes(app, row) == LETTER_PDF


def test_item_records_queued_event(app: Application) -> None:
    reference = active_case(app)

    row_id = queue_letter(app, reference)

    assert row_id is not None
    assert events_of(app, row_id) == [
        (EventKind.REMINDER_QUEUED, {"step": "registered_letter", "medium": "letter"})
    ]


def test_same_step_and_medium_queued_once(app: Application) -> None:
    reference = active_case(app)

    first = queue_sms(app, reference)
    second = queue_sms(app, reference, text="Another text for the same step.")

    assert first is not None
    assert second is None
    assert outbound_count(app) == 1
    assert len(events_of(app, first)) == 1


def test_each_medium_of_a_step_is_queued(app: Application) -> None:
    reference = active_case(app)

    email = queue_email(app, reference, step="third_reminder")
    sms = queue_sms(app, reference, step="third_reminder")
    letter = queue_letter(app, reference, step="third_reminder")

    assert None not in (email, sms, letter)
    assert outbound_count(app) == 3


def test_email_enqueue_goes_through_item(app: Application) -> None:
    reference = active_case(app)

    row_id = queue_email(app, reference)

    assert row_id is not None
    row = message_row(app, row_id)
    assert row.medium == "email"
    assert row.dedupe_key == f"out:{row.case_id}:first_reminder:email"
    assert row.to_addresses == "An Janssens <an.janssens@home.example>"
    assert row.envelope_from == "dossiers@incasso.test"
    assert row.message_id == f"<{reference}.first_reminder.test@incasso.test>"
    assert row.raw_document.content_type == "message/rfc822"
    assert b"\r\n" in stored_bytes(app, row)
    assert events_of(app, row_id)[0][1] == {"step": "first_reminder", "medium": "email"}
    assert queue_email(app, reference) is None


INVALID_ITEMS = [
    pytest.param(
        "fax", b"{}", "application/octet-stream", DEBTOR_PHONE, "unknown medium 'fax'", id="medium"
    ),
    pytest.param(
        "sms", b"{}", "text/plain", DEBTOR_PHONE, "content type 'text/plain'", id="content-type"
    ),
    pytest.param(
        "sms",
        b'{"to": "0470 12 34 56", "text": "Betaal."}',
        SMS_CONTENT_TYPE,
        "0470 12 34 56",
        "not an E.164 number",
        id="sms-number",
    ),
    pytest.param(
        "sms",
        b'{"to": "+32470123456", "text": " "}',
        SMS_CONTENT_TYPE,
        DEBTOR_PHONE,
        'SMS "text"',
        id="sms-empty-text",
    ),
    pytest.param(
        "sms",
        b'{"to": "+32470123456", "text": "Betaal."}',
        SMS_CONTENT_TYPE,
        "+32470999999",
        "give the same E.164 number in both",
        id="sms-recipient",
    ),
    pytest.param(
        "sms", b"not json", SMS_CONTENT_TYPE, DEBTOR_PHONE, "not UTF-8 JSON", id="sms-json"
    ),
    pytest.param(
        "letter",
        b"<html>letter</html>",
        "application/pdf",
        DEBTOR_POSTAL_ADDRESS,
        "is not a PDF",
        id="letter-pdf",
    ),
    pytest.param("letter", LETTER_PDF, "application/pdf", "  ", "empty recipient", id="recipient"),
]


@pytest.mark.parametrize(("medium", "raw", "content_type", "recipient", "problem"), INVALID_ITEMS)
def test_invalid_item_is_rejected(
    app: Application, medium: str, raw: bytes, content_type: str, recipient: str, problem: str
) -> None:
    reference = active_case(app)

    with transaction(app.factory) as session, pytest.raises(ValueError, match=problem):
        enqueue_item(
            session,
            app.rawstore,
            case=case_by_reference(session, reference),
            step="sms",
            medium=medium,
            raw=raw,
            content_type=content_type,
            recipient=recipient,
            subject=None,
            message_id="<invalid@incasso.test>",
            envelope_from=None,
            now=app.clock(),
        )

    assert outbound_count(app) == 0


def test_outbox_key_names_case_step_medium(app: Application) -> None:
    reference = active_case(app)

    with transaction(app.factory) as session:
        case = case_by_reference(session, reference)
        assert outbox_key(case, "sms", "sms") == f"out:{case.id}:sms:sms"
