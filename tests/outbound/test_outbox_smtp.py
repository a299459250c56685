"""Sending e-mail through a real SMTP server on loopback: the reply to DATA, 4xx and 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from incasso.app.context import Application, build_application
from incasso.cases.lifecycle import EventKind
from incasso.outbound.outbox import drain
from incasso.store.models import MessageStatus, ReviewKind
from tests.builders import active_case
from tests.conftest import Clock, SmtpSink, free_port, make_settings
from tests.outbound.outbox_items import events_of, message_row, queue_email, review_items_of


@dataclass
class AnsweringSink(SmtpSink):
    """An SMTP server on loopback that replies to RCPT and DATA with the codes the test sets."""

    data_reply: str = "250 2.0.0 Kept"
    rcpt_reply: str = "250 2.1.5 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.rcpt_reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply.startswith("250"):
            self.messages.append((envelope, envelope.original_content or b""))
        return self.data_reply


@pytest.fixture
def relay() -> Iterator[AnsweringSink]:
    sink = AnsweringSink("127.0.0.1", free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()


def smtp_application(tmp_path: Path, database_url: str, clock: Clock, port: int) -> Application:
    outbound = {"transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port}
    settings = make_settings(tmp_path, database_url, outbound=outbound)
    return build_application(settings, clock=clock)


@pytest.fixture
def smtp_app(
    tmp_path: Path, database_url: str, clock: Clock, relay: AnsweringSink
) -> Iterator[Application]:
    application = smtp_application(tmp_path, database_url, clock, relay.port)
    yield application
    application.close()


def test_data_reply_kept_as_proof(smtp_app: Application, relay: AnsweringSink) -> None:
    reference = active_case(smtp_app)
    row_id = queue_email(smtp_app, reference)
    assert row_id is not None

    assert drain(smtp_app.outbox) == 1

    row = message_row(smtp_app, row_id)
    assert row.status == MessageStatus.SENT
    assert row.proof == f"SMTP 127.0.0.1:{relay.port} replied to DATA: 250 2.0.0 Kept"
    (envelope, content) = relay.messages[0]
    assert envelope.mail_from == "dossiers@incasso.test"
    assert envelope.rcpt_tos == ["an.janssens@home.example"]
    assert f"Message-ID: <{reference}.first_reminder.test@incasso.test>".encode() in content


def test_451_backs_off_then_sends(
    smtp_app: Application, relay: AnsweringSink, clock: Clock
) -> None:
    reference = active_case(smtp_app)
    row_id = queue_email(smtp_app, reference)
    assert row_id is not None
    relay.data_reply = "451 4.3.0 Mail system busy, try later"

    assert drain(smtp_app.outbox) == 0

    row = message_row(smtp_app, row_id)
    assert row.status == MessageStatus.PENDING
    assert row.error is not None
    assert "451 4.3.0 Mail system busy, try later" in row.error
    assert row.retry_after == clock.now + timedelta(minutes=1)
    assert review_items_of(smtp_app, row_id) == []

    relay.data_reply = "250 2.0.0 Kept"
    clock.advance(timedelta(minutes=1))
    assert drain(smtp_app.outbox) == 1
    assert message_row(smtp_app, row_id).status == MessageStatus.SENT
    assert len(relay.messages) == 1


def test_550_at_data_fails_with_review(smtp_app: Application, relay: AnsweringSink) -> None:
    reference = active_case(smtp_app)
    row_id = queue_email(smtp_app, reference)
    assert row_id is not None
    relay.data_reply = "550 5.7.1 Message rejected as spam"

    assert drain(smtp_app.outbox) == 0

    row = message_row(smtp_app, row_id)
    assert row.status == MessageStatus.SEND_FAILED
    assert row.attempts == 1
    (item,) = review_items_of(smtp_app, row_id)
    assert item.kind == ReviewKind.SEND_FAILED
    assert item.detail is not None
    assert "550 5.7.1 Message rejected as spam" in item.detail
    assert f"relay 127.0.0.1:{relay.port}" in item.detail
    kind, detail = events_of(smtp_app, row_id)[-1]
    assert kind == EventKind.REMINDER_FAILED
    assert detail["error"] == item.detail


def test_550_for_recipient_names_address(smtp_app: Application, relay: AnsweringSink) -> None:
    reference = active_case(smtp_app)
    row_id = queue_email(smtp_app, reference)
    assert row_id is not None
    relay.rcpt_reply = "550 5.1.1 Mailbox unknown"

    assert drain(smtp_app.outbox) == 0

    assert message_row(smtp_app, row_id).status == MessageStatus.SEND_FAILED
    (item,) = review_items_of(smtp_app, row_id)
    assert item.detail is not None
    assert "an.janssens@home.example: 550 5.1.1 Mailbox unknown" in item.detail
    assert relay.messages == []


def test_451_for_recipient_backs_off(smtp_app: Application, relay: AnsweringSink) -> None:
    reference = active_case(smtp_app)
    row_id = queue_email(smtp_app, reference)
    assert row_id is not None
    relay.rcpt_reply = "451 4.7.1 Greylisted, come back later"

    assert drain(smtp_app.outbox) == 0

    row = message_row(smtp_app, row_id)
    assert row.status == MessageStatus.PENDING
    assert row.error is not None
    assert "451 4.7.1 Greylisted" in row.error


def test_refused_connection_backs_off(tmp_path: Path, database_url: str, clock: Clock) -> None:
    app = smtp_application(tmp_path, database_url, clock, free_port())
    try:
        reference = active_case(app)
        row_id = queue_email(app, reference)
        assert row_id is not None

        assert drain(app.outbox) == 0

        row = message_row(app, row_id)
        assert row.status == MessageStatus.PENDING
        assert row.error is not None
        assert "unreachable" in row.error
        assert "check the outbound SMTP host and port" in row.error
    finally:
        app.close()
