"""Queuing one ladder step of a case by e-mail, letter or SMS, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from incasso.app.context import Application
from incasso.cases.ladder import LadderStep, Medium
from incasso.outbound.notice import MissingMentionError
from incasso.outbound.reminders import queue_first_reminder
from incasso.outbound.steps import queue_step
from incasso.store.db import transaction
from incasso.store.models import Case, MailMessage
from tests.builders import active_case
from tests.outbound.notices import BUSINESS_CHARGES

SENT_ON = date(2026, 11, 16)


def queue(
    app: Application, reference: str, step: LadderStep, medium: Medium, **changes: object
) -> tuple[int | None, bytes | None]:
    """Queue ``step`` of case ``reference``; return the row id and the stored bytes."""
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        for name, value in changes.items():
            setattr(case, name, value)
        row = queue_step(
            session,
            app.rawstore,
            case,
            step,
            medium,
            app.dispatch.reminders,
            now=app.clock(),
            sent_on=SENT_ON,
            charges=BUSINESS_CHARGES if case.debtor and case.debtor.kind == "enterprise" else (),
        )
        if row is None:
            return None, None
        session.flush()
        return row.id, app.rawstore.get(row.raw_document.sha256, session=session)


def stored_row(app: Application, row_id: int) -> MailMessage:
    with transaction(app.factory) as session:
        row = session.get_one(MailMessage, row_id)
        session.expunge(row)
        return row


def parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_email_step_uses_per_message_return_path(app: Application) -> None:
    reference = active_case(app)

    row_id, raw = queue(app, reference, LadderStep.FIRST_REMINDER, Medium.EMAIL)

    assert row_id is not None and raw is not None
    row = stored_row(app, row_id)
    message = parse(raw)
    token = re.fullmatch(
        rf"<{reference}\.first_reminder\.([0-9a-f]{{12}})@incasso\.test>", row.message_id or ""
    )
    assert token is not None
    assert row.envelope_from == f"bounce+{reference}.{token.group(1)}@incasso.test"
    assert app.addresses.parse_bounce_address(row.envelope_from) == (reference, token.group(1))
    assert message["Reply-To"] == f"dossier+{reference}@incasso.test"
    assert message["Message-ID"] == row.message_id
    assert row.medium == "email"


def test_email_step_carries_qr_as_inline_image(app: Application) -> None:
    reference = active_case(app)

    _, raw = queue(app, reference, LadderStep.FIRST_REMINDER, Medium.EMAIL)

    assert raw is not None
    message = parse(raw)
    assert message.get_content_type() == "multipart/alternative"
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert text_part is not None and html_part is not None
    related = message.get_payload()[1]  # type: ignore[index]
    assert related.get_content_type() == "multipart/related"

    (image,) = [part for part in message.walk() if part.get_content_type() == "image/png"]
    content_id = image["Content-ID"].strip("<>")
    assert image.get_content_disposition() == "inline"
    assert f'src="cid:{content_id}"' in html_part.get_content()
    assert "cid:" not in text_part.get_content()

    png = image.get_content()
    (result,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    with transaction(app.factory) as session:
        ogm = session.scalars(select(Case.ogm).where(Case.reference == reference)).one()
    assert result.bytes.endswith(b"\nEUR250.00\n\n" + ogm.encode())


def test_step_is_queued_once(app: Application) -> None:
    reference = active_case(app)

    first, _ = queue(app, reference, LadderStep.SECOND_REMINDER, Medium.EMAIL)
    again, _ = queue(app, reference, LadderStep.SECOND_REMINDER, Medium.EMAIL)

    assert first is not None
    assert again is None


def test_first_reminder_path_still_works(app: Application) -> None:
    reference = active_case(app)

    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        row = queue_first_reminder(
            session,
            app.rawstore,
            case,
            app.dispatch.reminders,
            now=app.clock(),
            sent_on=SENT_ON,
        )
        assert row is not None
        assert row.step == "first_reminder"
        assert (row.envelope_from or "").startswith(f"bounce+{reference}.")


def test_business_third_reminder_prints_charges_and_payment(app: Application) -> None:
    reference = active_case(app, kind="enterprise", debtor_name="Klusbedrijf Noord BV")

    _, raw = queue(
        app, reference, LadderStep.THIRD_REMINDER, Medium.EMAIL, amount_paid=Decimal("50.00")
    )

    assert raw is not None
    text = parse(raw).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Ontvangen betalingen: €\u00a0-50,00" in text
    assert "Forfaitaire vergoeding voor factuur F-2026-0412: €\u00a040,00" in text
    assert "Totaal te betalen: €\u00a0256,70" in text
    assert "Dit is onze laatste herinnering." in text


def test_email_step_without_debtor_email_raises(app: Application) -> None:
    reference = active_case(app)
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        assert case.debtor is not None
        case.debtor.email = None

    with pytest.raises(MissingMentionError, match="has no debtor e-mail address"):
        queue(app, reference, LadderStep.SECOND_REMINDER, Medium.EMAIL)


def test_letter_step_queues_pdf(app: Application) -> None:
    reference = active_case(app, language="fr", address="Molenstraat 12 bus 3\n9000 Gent")

    row_id, raw = queue(app, reference, LadderStep.REGISTERED_LETTER, Medium.LETTER)

    assert row_id is not None and raw is not None
    assert raw.startswith(b"%PDF-")
    row = stored_row(app, row_id)
    assert row.medium == "letter"
    assert row.to_addresses == "An Janssens, Molenstraat 12 bus 3, 9000 Gent"
    assert row.subject == f"Dossier {reference} – Acme Verwarming BV"
    assert row.envelope_from is None
    assert (row.message_id or "").startswith(f"<{reference}.registered_letter.")


def test_letter_step_without_address_raises(app: Application) -> None:
    reference = active_case(app)

    with pytest.raises(MissingMentionError, match="has no debtor postal address"):
        queue(app, reference, LadderStep.REGISTERED_LETTER, Medium.LETTER)


def test_sms_step_queues_json(app: Application) -> None:
    reference = active_case(app, phone="+32470123456")

    row_id, raw = queue(app, reference, LadderStep.SMS, Medium.SMS)

    assert row_id is not None and raw is not None
    payload = json.loads(raw.decode("utf-8"))
    assert payload["to"] == "+32470123456"
    assert f"dossier {reference}:" in payload["text"]
    assert "€ 250,00" in payload["text"]
    assert "+++" in payload["text"]
    row = stored_row(app, row_id)
    assert row.medium == "sms"
    assert row.to_addresses == "+32470123456"
    assert row.subject is None


@pytest.mark.parametrize(
    ("phone", "message"),
    [(None, "has no debtor phone number"), ("0470 12 34 56", "is not in E.164 form")],
)
def test_sms_step_needs_e164_phone(app: Application, phone: str | None, message: str) -> None:
    reference = active_case(app, phone=phone)

    with pytest.raises(MissingMentionError, match=message):
        queue(app, reference, LadderStep.SMS, Medium.SMS)


def test_task_medium_raises(app: Application) -> None:
    reference = active_case(app)

    with pytest.raises(ValueError, match="work for staff"):
        queue(app, reference, LadderStep.PHONE_CALL, Medium.TASK)


def test_email_of_step_without_notice_raises(app: Application) -> None:
    reference = active_case(app)

    with pytest.raises(ValueError, match="has no written notice to send by email"):
        queue(app, reference, LadderStep.SMS, Medium.EMAIL)


def test_paid_case_raises(app: Application) -> None:
    reference = active_case(app)

    with pytest.raises(MissingMentionError, match="nothing left to pay"):
        queue(app, reference, LadderStep.SECOND_REMINDER, Medium.EMAIL, amount_paid=Decimal("250"))


def test_queue_time_is_recorded(app: Application) -> None:
    reference = active_case(app)

    row_id, _ = queue(app, reference, LadderStep.FIRST_REMINDER, Medium.EMAIL)

    assert row_id is not None
    created = stored_row(app, row_id).created_at
    assert isinstance(created, datetime)
    assert created == app.clock()
