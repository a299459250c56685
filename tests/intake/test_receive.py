"""Receiving stores the raw bytes before anything else, once per distinct message."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from incasso.app.context import Application
from incasso.intake.receive import Envelope, receive
from incasso.store.db import transaction
from incasso.store.models import Channel, MailMessage, MessageStatus
from incasso.store.rawstore import RawStoreError

RAW = b"From: ap@acme.test\r\nTo: intake@incasso.test\r\nSubject: x\r\n\r\nbody\r\n"


def count_messages(app: Application) -> int:
    with transaction(app.factory) as session:
        return session.scalar(select(func.count()).select_from(MailMessage)) or 0


def test_receive_stores_bytes_and_row(app: Application) -> None:
    envelope = Envelope(mail_from="ap@acme.test", rcpt_tos=("intake@incasso.test",), peer="x:1")

    receipt = receive(app.factory, app.rawstore, RAW, channel=Channel.SMTP, envelope=envelope)

    assert receipt.duplicate is False
    with transaction(app.factory) as session:
        row = session.get_one(MailMessage, receipt.message_row_id)
        assert row.status == MessageStatus.RECEIVED
        assert row.envelope_from == "ap@acme.test"
        assert row.envelope_to == "intake@incasso.test"
        assert app.rawstore.get(row.raw_document.sha256) == RAW


def test_same_bytes_twice_are_one_message(app: Application) -> None:
    first = receive(app.factory, app.rawstore, RAW, channel=Channel.SMTP)
    second = receive(app.factory, app.rawstore, RAW, channel=Channel.DROP)

    assert second.duplicate is True
    assert second.message_row_id == first.message_row_id
    assert count_messages(app) == 1


def test_storage_failure_raises_and_records_nothing(app: Application) -> None:
    app.rawstore.root.parent.mkdir(parents=True, exist_ok=True)
    app.rawstore.root.write_bytes(b"a file blocks the raw folder")

    with pytest.raises(RawStoreError):
        receive(app.factory, app.rawstore, RAW, channel=Channel.SMTP)

    assert count_messages(app) == 0
