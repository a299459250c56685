"""A restart in the middle of the outbox: what left is marked sent, what did not is sent once."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from incasso.app.context import Application, build_application
from incasso.cases.lifecycle import EventKind
from incasso.outbound.outbox import (
    FOUND_AFTER_RESTART,
    OutboxContext,
    Recovery,
    drain,
    flag_interrupted_sends,
    recover_interrupted_sends,
)
from incasso.store.models import MessageStatus, ReviewKind
from tests.builders import active_case
from tests.conftest import Clock, SmtpSink, make_settings
from tests.outbound.outbox_items import (
    events_of,
    message_row,
    queue_email,
    queue_letter,
    queue_sms,
    review_items_of,
)


class SimulatedCrash(BaseException):
    """The process dies here: the outbox records nothing more."""


@dataclass
class DyingTransport:
    """Wraps a real transport; the process dies right after it delivers, or right before."""

    inner: Any
    delivers: bool

    def send(self, *args: Any, **kwargs: Any) -> str:
        if self.delivers:
            self.inner.send(*args, **kwargs)
        raise SimulatedCrash

    def submit(self, *args: Any, **kwargs: Any) -> str:
        if self.delivers:
            self.inner.submit(*args, **kwargs)
        raise SimulatedCrash


@dataclass(frozen=True)
class MediumCase:
    queue: Callable[[Application, str], int | None]
    # The OutboxContext field of the medium's transport.
    field: str
    delivered: Callable[[Application], int]


def eml_files(app: Application) -> int:
    return len(list(app.settings.outbox_dir.glob("*.eml")))


def sms_lines(app: Application) -> int:
    path = app.settings.sms_dir / "outbox.jsonl"
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


def letter_files(app: Application) -> int:
    return len(list(app.settings.letters_dir.glob("*.pdf")))


MEDIA = {
    "email": MediumCase(queue_email, "transport", eml_files),
    "sms": MediumCase(queue_sms, "sms", sms_lines),
    "letter": MediumCase(queue_letter, "letters", letter_files),
}


def crash_during_send(app: Application, medium: MediumCase, *, delivers: bool) -> None:
    outbox = app.outbox
    dying = DyingTransport(getattr(outbox, medium.field), delivers)
    if medium.field == "sms":
        outbox = replace(outbox, sms=dying)
    elif medium.field == "letters":
        outbox = replace(outbox, letters=dying)
    else:
        outbox = replace(outbox, transport=dying)

    with pytest.raises(SimulatedCrash):
        drain(outbox)


@pytest.fixture
def restart(app: Application, clock: Clock) -> Iterator[Callable[[], Application]]:
    """Start the application again on the same settings, as after the process died."""
    started: list[Application] = []

    def start() -> Application:
        clock.advance(timedelta(seconds=5))
        started.append(build_application(app.settings, clock=clock))
        return started[-1]

    yield start
    for application in started:
        application.close()


def recover(app: Application) -> Recovery:
    return recover_interrupted_sends(app.outbox, older_than=timedelta(0))


@pytest.mark.parametrize("name", sorted(MEDIA))
def test_delivered_before_crash_is_sent(
    app: Application, restart: Callable[[], Application], name: str
) -> None:
    medium = MEDIA[name]
    row_id = medium.queue(app, active_case(app))
    assert row_id is not None
    crash_during_send(app, medium, delivers=True)
    assert message_row(app, row_id).status == MessageStatus.SENDING

    again = restart()

    assert recover(again) == Recovery(sent=1)
    row = message_row(again, row_id)
    assert row.status == MessageStatus.SENT
    assert row.proof == FOUND_AFTER_RESTART
    assert row.sent_at == row.claimed_at
    assert drain(again.outbox) == 0
    assert medium.delivered(again) == 1
    assert review_items_of(again, row_id) == []
    kind, detail = events_of(again, row_id)[-1]
    assert kind == EventKind.REMINDER_SENT
    assert detail["proof"] == FOUND_AFTER_RESTART


@pytest.mark.parametrize("name", sorted(MEDIA))
def test_not_delivered_before_crash_is_resent(
    app: Application, restart: Callable[[], Application], name: str
) -> None:
    medium = MEDIA[name]
    row_id = medium.queue(app, active_case(app))
    assert row_id is not None
    crash_during_send(app, medium, delivers=False)

    again = restart()

    assert recover(again) == Recovery(requeued=1)
    assert message_row(again, row_id).status == MessageStatus.PENDING
    assert drain(again.outbox) == 1
    row = message_row(again, row_id)
    assert row.status == MessageStatus.SENT
    assert row.proof != FOUND_AFTER_RESTART
    assert medium.delivered(again) == 1
    assert review_items_of(again, row_id) == []


def test_crash_mid_outbox_settles_each_medium(
    app: Application, restart: Callable[[], Application]
) -> None:
    email = queue_email(app, active_case(app, debtor_name="An Janssens"))
    sms = queue_sms(app, active_case(app, debtor_name="Bart Peeters"))
    letter = queue_letter(app, active_case(app, debtor_name="Chloé Dubois"))
    # The e-mail goes out, the process dies after writing the SMS, the letter was not begun.
    crash_during_send(app, MEDIA["sms"], delivers=True)

    assert message_row(app, email or 0).status == MessageStatus.SENT
    assert message_row(app, sms or 0).status == MessageStatus.SENDING
    assert message_row(app, letter or 0).status == MessageStatus.PENDING

    again = restart()
    assert recover(again) == Recovery(sent=1)
    assert drain(again.outbox) == 1

    for row_id in (email, sms, letter):
        assert message_row(again, row_id or 0).status == MessageStatus.SENT
    assert (eml_files(again), sms_lines(again), letter_files(again)) == (1, 1, 1)


def test_smtp_crash_is_uncertain(
    tmp_path: Path, database_url: str, clock: Clock, smtp_sink: SmtpSink
) -> None:
    outbound = {"transport": "smtp", "smtp_host": smtp_sink.host, "smtp_port": smtp_sink.port}
    settings = make_settings(tmp_path, database_url, outbound=outbound)
    app = build_application(settings, clock=clock)
    again = None
    try:
        row_id = queue_email(app, active_case(app))
        assert row_id is not None
        crash_during_send(app, MEDIA["email"], delivers=True)
        clock.advance(timedelta(seconds=5))
        again = build_application(settings, clock=clock)

        assert recover(again) == Recovery(uncertain=1)

        assert message_row(again, row_id).status == MessageStatus.UNCERTAIN
        (item,) = review_items_of(again, row_id)
        assert item.kind == ReviewKind.SEND_UNCERTAIN
        assert item.reasons == ["send_uncertain"]
        assert item.detail is not None
        assert "cannot tell whether it left" in item.detail
        assert drain(again.outbox) == 0
        assert len(smtp_sink.messages) == 1
    finally:
        app.close()
        if again is not None:
            again.close()


def test_recent_claim_is_left_alone(app: Application) -> None:
    row_id = queue_sms(app, active_case(app))
    assert row_id is not None
    crash_during_send(app, MEDIA["sms"], delivers=True)

    recovery = recover_interrupted_sends(app.outbox, older_than=timedelta(minutes=5))

    assert recovery == Recovery()
    assert message_row(app, row_id).status == MessageStatus.SENDING


def test_transport_without_check_is_uncertain(
    app: Application, restart: Callable[[], Application]
) -> None:
    row_id = queue_letter(app, active_case(app))
    assert row_id is not None
    crash_during_send(app, MEDIA["letter"], delivers=True)
    again = restart()

    outbox: OutboxContext = replace(again.outbox, letters=DyingTransport(None, delivers=False))
    assert recover_interrupted_sends(outbox, older_than=timedelta(0)) == Recovery(uncertain=1)

    assert message_row(again, row_id).status == MessageStatus.UNCERTAIN


def test_flag_interrupted_sends_settles_all(
    app: Application, restart: Callable[[], Application]
) -> None:
    delivered = queue_sms(app, active_case(app, debtor_name="An Janssens"))
    crash_during_send(app, MEDIA["sms"], delivers=True)
    again = restart()

    assert flag_interrupted_sends(again.outbox, older_than=timedelta(0)) == 0

    assert message_row(again, delivered or 0).status == MessageStatus.SENT
    written = json.loads((again.settings.sms_dir / "outbox.jsonl").read_text(encoding="utf-8"))
    assert written["key"] == message_row(again, delivered or 0).dedupe_key
