"""The local SMS file and letter folder: each message once, whole, and findable after a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from incasso.outbound.letters import FolderLetterSink, letter_reference
from incasso.outbound.sms import FileSmsSink
from incasso.outbound.transport import FolderTransport, TransportError
from incasso.store.models import Case, MailMessage
from tests.outbound.outbox_items import LETTER_PDF

KEY = "out:7:sms:sms"


def sms_lines(folder: Path) -> list[dict[str, str]]:
    lines = (folder / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line]


def test_sms_line_has_key_id_number_text(tmp_path: Path) -> None:
    sink = FileSmsSink(tmp_path / "sms")

    message_id = sink.send("+32470123456", "Betaal vóór 1 december.", idempotency_key=KEY)

    (line,) = sms_lines(tmp_path / "sms")
    assert line["key"] == KEY
    assert line["id"] == message_id
    assert line["to"] == "+32470123456"
    assert line["text"] == "Betaal vóór 1 december."
    assert message_id.startswith("file-")


def test_sms_same_key_written_once(tmp_path: Path) -> None:
    sink = FileSmsSink(tmp_path)

    first = sink.send("+32470123456", "Eerste tekst.", idempotency_key=KEY)
    second = sink.send("+32470123456", "Eerste tekst.", idempotency_key=KEY)
    other = sink.send(
        "+32470123456", "Tekst van een ander dossier.", idempotency_key="out:8:sms:sms"
    )

    assert second == first
    assert other != first
    assert [line["key"] for line in sms_lines(tmp_path)] == [KEY, "out:8:sms:sms"]


def test_sms_key_seen_by_second_process(tmp_path: Path) -> None:
    # Two sinks on one folder stand for two processes: each reads what the other wrote.
    first_process = FileSmsSink(tmp_path)
    second_process = FileSmsSink(tmp_path)

    first = first_process.send("+32470123456", "Tekst.", idempotency_key=KEY)
    again = second_process.send("+32470123456", "Tekst.", idempotency_key=KEY)
    later = second_process.send("+32470123456", "Tekst.", idempotency_key="out:9:sms:sms")

    assert again == first
    assert first_process.send("+32470123456", "Tekst.", idempotency_key="out:9:sms:sms") == later
    assert len(sms_lines(tmp_path)) == 2


def test_sms_after_torn_line_starts_new_line(tmp_path: Path) -> None:
    sink = FileSmsSink(tmp_path)
    sink.send("+32470123456", "Tekst.", idempotency_key=KEY)
    with (tmp_path / "outbox.jsonl").open("ab") as stream:
        stream.write(b'{"key": "out:8:sms:sms", "id": "file-')

    fresh = FileSmsSink(tmp_path)
    fresh.send("+32470123456", "Tekst.", idempotency_key="out:8:sms:sms")

    lines = (tmp_path / "outbox.jsonl").read_bytes().splitlines()
    assert len(lines) == 3
    assert json.loads(lines[0])["key"] == KEY
    assert lines[1] == b'{"key": "out:8:sms:sms", "id": "file-'
    assert json.loads(lines[2])["key"] == "out:8:sms:sms"
    assert FileSmsSink(tmp_path).was_delivered(MailMessage(dedupe_key="out:8:sms:sms"))


def test_sms_was_delivered_by_key(tmp_path: Path) -> None:
    sink = FileSmsSink(tmp_path)
    sink.send("+32470123456", "Tekst.", idempotency_key=KEY)

    assert FileSmsSink(tmp_path).was_delivered(MailMessage(dedupe_key=KEY))
    assert not FileSmsSink(tmp_path).was_delivered(MailMessage(dedupe_key="out:8:sms:sms"))


def test_sms_unwritable_folder_is_temporary(tmp_path: Path) -> None:
    blocker = tmp_path / "sms"
    blocker.write_text("a file where the folder should be", encoding="utf-8")

    with pytest.raises(TransportError, match="check that the SMS folder") as raised:
        FileSmsSink(blocker).send("+32470123456", "Tekst.", idempotency_key=KEY)

    assert raised.value.temporary


def test_letter_written_whole_under_reference(tmp_path: Path) -> None:
    sink = FolderLetterSink(tmp_path / "letters")

    name = sink.submit(
        LETTER_PDF,
        recipient="An Janssens, Kerkstraat 12, 9050 Gentbrugge",
        reference="2026-00017-registered_letter",
        idempotency_key="out:7:registered_letter:letter",
    )

    assert name == "2026-00017-registered_letter.pdf"
    assert (tmp_path / "letters" / name).read_bytes() == LETTER_PDF
    assert [path.name for path in (tmp_path / "letters").iterdir()] == [name]


def test_letter_same_bytes_again_is_kept(tmp_path: Path) -> None:
    sink = FolderLetterSink(tmp_path)
    arguments = {
        "recipient": "An Janssens, Kerkstraat 12, 9050 Gentbrugge",
        "reference": "2026-00017-registered_letter",
        "idempotency_key": "out:7:registered_letter:letter",
    }

    first = sink.submit(LETTER_PDF, **arguments)
    second = sink.submit(LETTER_PDF, **arguments)

    assert second == first
    assert len(list(tmp_path.iterdir())) == 1


def test_letter_other_bytes_not_overwritten(tmp_path: Path) -> None:
    sink = FolderLetterSink(tmp_path)
    (tmp_path / "2026-00017-registered_letter.pdf").write_bytes(b"%PDF-1.4 printed already")

    with pytest.raises(TransportError, match="already exists with other content") as raised:
        sink.submit(
            LETTER_PDF,
            recipient="An Janssens, Kerkstraat 12, 9050 Gentbrugge",
            reference="2026-00017-registered_letter",
            idempotency_key="out:7:registered_letter:letter",
        )

    assert not raised.value.temporary
    assert (tmp_path / "2026-00017-registered_letter.pdf").read_bytes() == (
        b"%PDF-1.4 printed already"
    )


def test_letter_was_delivered_by_reference(tmp_path: Path) -> None:
    sink = FolderLetterSink(tmp_path)
    row = MailMessage(step="registered_letter", case=Case(reference="2026-00017"))
    absent = MailMessage(step="registered_letter", case=Case(reference="2026-00018"))
    sink.submit(
        LETTER_PDF,
        recipient="An Janssens, Kerkstraat 12, 9050 Gentbrugge",
        reference=letter_reference(row),
        idempotency_key="out:7:registered_letter:letter",
    )

    assert sink.was_delivered(row)
    assert not sink.was_delivered(absent)


def test_email_folder_was_delivered_by_message_id(tmp_path: Path) -> None:
    transport = FolderTransport(tmp_path)
    transport.send(
        b"Subject: test\r\n\r\nbody\r\n",
        mail_from="dossiers@incasso.test",
        recipients=["an.janssens@home.example"],
        message_id="<2026-00017.first_reminder.ab12@incasso.test>",
    )

    assert transport.was_delivered(
        MailMessage(message_id="<2026-00017.first_reminder.ab12@incasso.test>")
    )
    assert not transport.was_delivered(
        MailMessage(message_id="<2026-00017.second_reminder.cd34@incasso.test>")
    )
