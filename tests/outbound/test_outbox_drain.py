"""Draining the outbox: each medium through its own transport, with proof, retries and give-up."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import timedelta

from incasso.app.context import Application
from incasso.cases.lifecycle import EventKind
from incasso.outbound.outbox import MAX_ATTEMPTS, drain
from incasso.outbound.transport import TransportError
from incasso.store.models import MessageStatus, ReviewKind
from tests.builders import active_case
from tests.conftest import Clock
from tests.outbound.outbox_items import (
    DEBTOR_PHONE,
    DEBTOR_POSTAL_ADDRESS,
    LETTER_PDF,
    events_of,
    message_row,
    queue_email,
    queue_letter,
    queue_sms,
    review_items_of,
)


@dataclass
class ScriptedGateway:
    """Stands in for a paid SMS gateway: fails as scripted, then accepts and counts."""

    failures: list[TransportError] = field(default_factory=list)
    accepted: list[tuple[str, str, str]] = field(default_factory=list)

    def send(self, to: str, text: str, *, idempotency_key: str) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.accepted.append((to, text, idempotency_key))
        return f"gw-{len(self.accepted)}"


def test_sms_goes_to_file_with_proof(app: Application) -> None:
    reference = active_case(app)
    row_id = queue_sms(app, reference, text="Betaal 250,00 EUR vóór 1 december.")
    assert row_id is not None

    assert drain(app.outbox) == 1

    row = message_row(app, row_id)
    assert row.status == MessageStatus.SENT
    assert row.attempts == 1
    (line,) = (app.settings.sms_dir / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    written = json.loads(line)
    assert written["to"] == DEBTOR_PHONE
    assert written["text"] == "Betaal 250,00 EUR vóór 1 december."
    assert written["key"] == row.dedupe_key
    assert row.proof == f"SMS accepted as {written['id']}"


def test_letter_goes_to_folder_with_proof(app: Application) -> None:
    reference = active_case(app)
    row_id = queue_letter(app, reference)
    assert row_id is not None

    assert drain(app.outbox) == 1

    row = message_row(app, row_id)
    assert row.status == MessageStatus.SENT
    letter = app.settings.letters_dir / f"{reference}-registered_letter.pdf"
    assert letter.read_bytes() == LETTER_PDF
    assert row.proof == f"letter accepted as {reference}-registered_letter.pdf"
    assert row.to_addresses == DEBTOR_POSTAL_ADDRESS


def test_email_goes_to_outbox_folder(app: Application) -> None:
    reference = active_case(app)
    row_id = queue_email(app, reference)
    assert row_id is not None

    assert drain(app.outbox) == 1

    row = message_row(app, row_id)
    expected = app.settings.outbox_dir / f"{reference}.first_reminder.test@incasso.test.eml"
    assert expected.is_file()
    assert row.status == MessageStatus.SENT
    assert row.proof == f"written to {expected}"


def test_sent_event_names_step_and_medium(app: Application) -> None:
    reference = active_case(app)
    row_id = queue_sms(app, reference)
    assert row_id is not None

    drain(app.outbox)

    assert events_of(app, row_id)[-1] == (
        EventKind.REMINDER_SENT,
        {"step": "sms", "medium": "sms"},
    )


def test_all_media_drain_once(app: Application) -> None:
    reference = active_case(app)
    queue_email(app, reference, step="third_reminder")
    queue_sms(app, reference)
    queue_letter(app, reference)

    assert drain(app.outbox) == 3
    assert drain(app.outbox) == 0

    assert len((app.settings.sms_dir / "outbox.jsonl").read_text().splitlines()) == 1
    assert len(list(app.settings.letters_dir.glob("*.pdf"))) == 1
    assert len(list(app.settings.outbox_dir.glob("*.eml"))) == 1


def test_gateway_gets_row_key(app: Application) -> None:
    reference = active_case(app)
    row_id = queue_sms(app, reference, text="Betaal.")
    assert row_id is not None
    gateway = ScriptedGateway()

    drain(replace(app.outbox, sms=gateway))

    row = message_row(app, row_id)
    assert gateway.accepted == [(DEBTOR_PHONE, "Betaal.", row.dedupe_key)]
    assert row.proof == "SMS accepted as gw-1"


def test_temporary_sms_failure_backs_off(app: Application, clock: Clock) -> None:
    reference = active_case(app)
    row_id = queue_sms(app, reference)
    assert row_id is not None
    gateway = ScriptedGateway(failures=[TransportError("gateway timed out", temporary=True)])
    outbox = replace(app.outbox, sms=gateway)

    assert drain(outbox) == 0

    row = message_row(app, row_id)
    assert row.status == MessageStatus.PENDING
    assert row.attempts == 1
    assert row.error == "gateway timed out"
    assert row.retry_after == clock.now + timedelta(minutes=1)
    assert drain(outbox) == 0

    clock.advance(timedelta(minutes=1))
    assert drain(outbox) == 1
    assert message_row(app, row_id).status == MessageStatus.SENT
    assert len(gateway.accepted) == 1


def test_permanent_sms_failure_is_reviewed(app: Application) -> None:
    reference = active_case(app)
    row_id = queue_sms(app, reference)
    assert row_id is not None
    rejection = TransportError("gateway rejected +32470123456: number not in use", temporary=False)
    gateway = ScriptedGateway(failures=[rejection])

    assert drain(replace(app.outbox, sms=gateway)) == 0

    row = message_row(app, row_id)
    assert row.status == MessageStatus.SEND_FAILED
    (item,) = review_items_of(app, row_id)
    assert item.kind == ReviewKind.SEND_FAILED
    assert item.reasons == ["send_failed"]
    assert item.detail == "gateway rejected +32470123456: number not in use"
    assert events_of(app, row_id)[-1] == (
        EventKind.REMINDER_FAILED,
        {"step": "sms", "medium": "sms", "error": item.detail},
    )


def test_temporary_failures_give_up_at_limit(app: Application, clock: Clock) -> None:
    reference = active_case(app)
    row_id = queue_sms(app, reference)
    assert row_id is not None
    failures = [TransportError("gateway timed out", temporary=True)] * MAX_ATTEMPTS
    outbox = replace(app.outbox, sms=ScriptedGateway(failures=list(failures)))

    for _attempt in range(MAX_ATTEMPTS):
        drain(outbox)
        clock.advance(timedelta(hours=1))

    row = message_row(app, row_id)
    assert row.status == MessageStatus.SEND_FAILED
    assert row.attempts == MAX_ATTEMPTS
    assert len(review_items_of(app, row_id)) == 1


def test_letter_clash_is_reviewed(app: Application) -> None:
    reference = active_case(app)
    row_id = queue_letter(app, reference)
    assert row_id is not None
    app.settings.letters_dir.mkdir(parents=True)
    clash = app.settings.letters_dir / f"{reference}-registered_letter.pdf"
    clash.write_bytes(b"%PDF-1.4 another letter")

    assert drain(app.outbox) == 0

    assert message_row(app, row_id).status == MessageStatus.SEND_FAILED
    (item,) = review_items_of(app, row_id)
    assert item.detail is not None
    assert "already exists with other content" in item.detail
    assert clash.read_bytes() == b"%PDF-1.4 another letter"
