"""Receiving stores the raw bytes before anything else, once per distinct message."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incasso.app.context import Application
from incasso.intake.receive import Envelope, ReceiveBatcher, receive
from incasso.store.db import transaction
from incasso.store.models import Channel, MailMessage, MessageStatus
from incasso.store.rawstore import RawStore, RawStoreError

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


class FailingStore:
    """A raw store whose disk is full."""

    def put(self, data: bytes, *, session: Session | None = None) -> str:
        raise RawStoreError("disk full (simulated by the test)")

    def get(self, sha256: str, *, session: Session | None = None) -> bytes:
        raise AssertionError("nothing was stored, so nothing may be read")


def test_storage_failure_raises_and_records_nothing(app: Application) -> None:
    with pytest.raises(RawStoreError):
        receive(app.factory, FailingStore(), RAW, channel=Channel.SMTP)

    assert count_messages(app) == 0


def test_batcher_stores_concurrent_messages_once_each(app: Application) -> None:
    batcher = ReceiveBatcher(app.factory, app.rawstore, channel=Channel.SMTP)
    batcher.start()
    raws = [RAW.replace(b"Subject: x", f"Subject: {n}".encode()) for n in range(20)]

    futures = [batcher.submit(raw, Envelope(peer="x:1")) for raw in raws + raws[:5]]
    receipts = [future.result(timeout=30) for future in futures]
    batcher.stop()

    assert [receipt.duplicate for receipt in receipts] == [False] * 20 + [True] * 5
    assert count_messages(app) == 20
    assert receipts[20].message_row_id == receipts[0].message_row_id


class PickyStore:
    """A raw store that cannot store one particular message."""

    def __init__(self, inner: RawStore, refused: bytes) -> None:
        self.inner = inner
        self.refused = refused

    def put(self, data: bytes, *, session: Session | None = None) -> str:
        if data == self.refused:
            raise RawStoreError("this one cannot be stored (simulated by the test)")
        return self.inner.put(data, session=session)

    def get(self, sha256: str, *, session: Session | None = None) -> bytes:
        return self.inner.get(sha256, session=session)


def test_batcher_failure_of_one_message_spares_the_others(app: Application) -> None:
    raws = [RAW.replace(b"Subject: x", f"Subject: {n}".encode()) for n in range(6)]
    batcher = ReceiveBatcher(app.factory, PickyStore(app.rawstore, raws[2]), channel=Channel.SMTP)
    futures = [batcher.submit(raw, Envelope()) for raw in raws]  # queued before the writer starts
    batcher.start()

    outcomes = [future.exception(timeout=30) for future in futures]
    batcher.stop()

    assert [outcome is None for outcome in outcomes] == [True, True, False, True, True, True]
    assert isinstance(outcomes[2], RawStoreError)
    assert count_messages(app) == 5
