"""The SMTP receiver answers 250 only after storing, 451 when it cannot, and refuses relaying."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from incasso.app.context import Application
from incasso.intake.receive import Envelope, Receipt, receive
from incasso.intake.smtp import IntakeHandler, make_controller
from incasso.store.db import transaction
from incasso.store.models import Channel, MailMessage
from tests.conftest import free_port

RAW = (
    b"From: ap@acme.test\r\nTo: intake@incasso.test\r\nSubject: Factuur\r\n"
    b"Message-ID: <smtp-test-1@acme.test>\r\n\r\nZie bijlage.\r\n"
)
SIZE_LIMIT = 64 * 1024


class Receiver:
    """Our handler in a running controller, with a switch that makes storing fail."""

    def __init__(self, app: Application) -> None:
        self.app = app
        self.fail = False
        self.stored = threading.Event()
        self.port = free_port()
        handler = IntakeHandler(self.store, ["incasso.test"], on_stored=self.stored.set)
        self.controller = make_controller(
            handler, host="127.0.0.1", port=self.port, max_message_bytes=SIZE_LIMIT
        )

    def store(self, raw: bytes, envelope: Envelope) -> Receipt:
        if self.fail:
            raise OSError("disk full (simulated by the test)")
        return receive(
            self.app.factory, self.app.rawstore, raw, channel=Channel.SMTP, envelope=envelope
        )

    def client(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, timeout=10)


@pytest.fixture
def receiver(app: Application) -> Iterator[Receiver]:
    running = Receiver(app)
    running.controller.start()
    yield running
    running.controller.stop()


def stored_messages(app: Application) -> list[MailMessage]:
    with transaction(app.factory) as session:
        return list(
            session.scalars(select(MailMessage).options(selectinload(MailMessage.raw_document)))
        )


def test_message_is_stored_before_250(receiver: Receiver, app: Application) -> None:
    with receiver.client() as client:
        refused = client.sendmail("ap@acme.test", ["intake@incasso.test"], RAW)

    assert refused == {}
    messages = stored_messages(app)
    assert len(messages) == 1
    assert messages[0].envelope_from == "ap@acme.test"
    assert messages[0].peer is not None and messages[0].peer.startswith("127.0.0.1:")
    assert app.rawstore.get(messages[0].raw_document.sha256) == RAW
    assert receiver.stored.is_set()


def test_storage_failure_answers_451(receiver: Receiver, app: Application) -> None:
    receiver.fail = True

    with receiver.client() as client, pytest.raises(smtplib.SMTPDataError) as caught:
        client.sendmail("ap@acme.test", ["intake@incasso.test"], RAW)

    assert caught.value.smtp_code == 451
    assert stored_messages(app) == []


def test_foreign_recipient_gets_550(receiver: Receiver, app: Application) -> None:
    with receiver.client() as client, pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
        client.sendmail("ap@acme.test", ["someone@elsewhere.test"], RAW)

    assert caught.value.recipients["someone@elsewhere.test"][0] == 550
    assert stored_messages(app) == []


def test_oversized_message_gets_552(receiver: Receiver, app: Application) -> None:
    huge = RAW + b"x" * (SIZE_LIMIT + 1024) + b"\r\n"

    with receiver.client() as client, pytest.raises(smtplib.SMTPException) as caught:
        client.sendmail("ap@acme.test", ["intake@incasso.test"], huge)

    assert getattr(caught.value, "smtp_code", None) == 552
    assert stored_messages(app) == []


def test_eight_bit_body_is_stored_unchanged(receiver: Receiver, app: Application) -> None:
    raw = RAW.replace(b"Zie bijlage.", "Geachte, zie de bijlage: één factuur à €".encode("cp1252"))

    with receiver.client() as client:
        client.sendmail("ap@acme.test", ["intake@incasso.test"], raw)

    (message,) = stored_messages(app)
    assert app.rawstore.get(message.raw_document.sha256) == raw
