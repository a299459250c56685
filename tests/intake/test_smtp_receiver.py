"""The SMTP receiver answers 250 only after storing, 451 when it cannot, and refuses relaying."""

from __future__ import annotations

import smtplib
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from incasso.app.context import Application
from incasso.intake.receive import Envelope, Receipt, receive
from incasso.intake.smtp import IntakeHandler, make_controller, server_tls_context, threaded
from incasso.store.db import transaction
from incasso.store.models import Channel, MailMessage
from tests.conftest import free_port

RAW = (
    b"From: ap@acme.test\r\nTo: intake@incasso.test\r\nSubject: Factuur\r\n"
    b"Message-ID: <smtp-test-1@acme.test>\r\n\r\nZie bijlage.\r\n"
)
SIZE_LIMIT = 64 * 1024
MAX_RECIPIENTS = 3


class Receiver:
    """Our handler in a running controller, with a switch that makes storing fail."""

    def __init__(self, app: Application, tls_context: ssl.SSLContext | None = None) -> None:
        self.app = app
        self.fail = False
        self.stored = threading.Event()
        self.port = free_port()
        handler = IntakeHandler(
            threaded(self.store),
            ["incasso.test"],
            on_stored=self.stored.set,
            max_recipients=MAX_RECIPIENTS,
        )
        self.controller = make_controller(
            handler,
            host="127.0.0.1",
            port=self.port,
            max_message_bytes=SIZE_LIMIT,
            greeting_name="mx.incasso.test",
            tls_context=tls_context,
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


def test_greeting_and_helo_are_recorded(receiver: Receiver, app: Application) -> None:
    with receiver.client() as client:
        code, banner = client.ehlo("mail.acme.test")
        client.sendmail("ap@acme.test", ["intake@incasso.test"], RAW)

    assert code == 250
    assert banner.startswith(b"mx.incasso.test")
    (message,) = stored_messages(app)
    assert message.helo == "mail.acme.test"


def test_recipients_beyond_limit_get_452(receiver: Receiver, app: Application) -> None:
    recipients = [f"intake+{n}@incasso.test" for n in range(MAX_RECIPIENTS + 2)]

    with receiver.client() as client:
        refused = client.sendmail("ap@acme.test", recipients, RAW)

    assert sorted(refused) == recipients[MAX_RECIPIENTS:]
    assert {code for code, _text in refused.values()} == {452}
    (message,) = stored_messages(app)
    assert message.envelope_to == ", ".join(recipients[:MAX_RECIPIENTS])


def test_repeated_useless_commands_are_cut_off(receiver: Receiver) -> None:
    with receiver.client() as client:
        client.ehlo("mail.acme.test")
        codes = [client.docmd("VRFY", "someone@incasso.test")[0] for _ in range(6)]

    assert codes[-1] == 421


def test_concurrent_clients_are_all_stored(receiver: Receiver, app: Application) -> None:
    def send(number: int) -> None:
        raw = RAW.replace(b"smtp-test-1", f"smtp-test-c{number}".encode())
        with receiver.client() as client:
            client.sendmail("ap@acme.test", ["intake@incasso.test"], raw)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(stored_messages(app)) == 8


def test_starttls_with_configured_certificate(app: Application, tmp_path: Path) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "mx.incasso.test")
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    certificate.private_key_pem.write_to_path(key)
    certificate.cert_chain_pems[0].write_to_path(chain)
    running = Receiver(app, tls_context=server_tls_context(chain, key))
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    running.controller.start()
    try:
        with running.client() as client:
            client.ehlo("mail.acme.test")
            assert client.has_extn("starttls")
            client.starttls(context=client_context)
            client.ehlo("mail.acme.test")
            client.sendmail("ap@acme.test", ["intake@incasso.test"], RAW)
    finally:
        running.controller.stop()

    assert len(stored_messages(app)) == 1


def test_unusable_certificate_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"

    with pytest.raises(ValueError, match=r"missing\.pem"):
        server_tls_context(missing, missing)


def test_smtputf8_addresses_are_accepted(receiver: Receiver, app: Application) -> None:
    raw = (
        "From: Jöran <jöran@bäckerei.test>\r\nTo: intake@incasso.test\r\n"
        "Subject: Rechnung\r\n\r\nÄ\r\n"
    )

    with receiver.client() as client:
        client.ehlo("mail.baeckerei.test")
        assert client.has_extn("smtputf8")
        client.sendmail(
            "jöran@bäckerei.test", ["intake@incasso.test"], raw.encode(), mail_options=["SMTPUTF8"]
        )

    (message,) = stored_messages(app)
    assert message.envelope_from == "jöran@bäckerei.test"
    assert app.rawstore.get(message.raw_document.sha256) == raw.encode()
