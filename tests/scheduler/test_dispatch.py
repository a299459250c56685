"""Dispatching due first reminders: once, on time, lawfully, also after downtime."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from incasso.app.context import Application, build_application
from incasso.cases.law import Channel, payment_term
from incasso.store.db import transaction
from incasso.store.models import Case, MailMessage, MessageStatus, ReviewItem
from tests.builders import active_case
from tests.conftest import Clock, make_settings

BRUSSELS = ZoneInfo("Europe/Brussels")


def outbox_rows(app: Application) -> int:
    with transaction(app.factory) as session:
        return session.scalar(select(func.count()).select_from(MailMessage)) or 0


def case_row(app: Application, reference: str) -> Case:
    with transaction(app.factory) as session:
        return session.scalars(select(Case).where(Case.reference == reference)).one()


def test_due_case_gets_one_reminder(app: Application) -> None:
    reference = active_case(app)

    assert app.jobs.run_dispatch() == 1
    assert app.jobs.run_dispatch() == 0

    assert outbox_rows(app) == 1
    case = case_row(app, reference)
    assert case.next_step == "second_reminder"


def test_second_step_waits_for_the_legal_term(app: Application, clock: Clock) -> None:
    reference = active_case(app)

    app.jobs.run_dispatch()

    term = payment_term(clock.now.astimezone(BRUSSELS).date(), Channel.EMAIL)
    expected = datetime.combine(term.earliest_next_step, datetime.min.time(), BRUSSELS)
    due = case_row(app, reference).next_step_due_at
    assert due is not None
    assert due.astimezone(BRUSSELS).date() == expected.date()
    assert due - clock.now >= timedelta(days=14)


def test_delay_holds_the_first_reminder(tmp_path: Path, database_url: str, clock: Clock) -> None:
    settings = make_settings(tmp_path, database_url, scheduler={"first_reminder_delay_minutes": 60})
    app = build_application(settings, clock=clock)
    active_case(app, delay=timedelta(minutes=60))

    assert app.jobs.run_dispatch() == 0
    clock.advance(timedelta(minutes=61))
    assert app.jobs.run_dispatch() == 1
    app.close()


def test_catch_up_after_downtime_sends_each_once(app: Application, clock: Clock) -> None:
    references = [active_case(app, debtor_name=f"Debiteur {n}") for n in range(5)]
    clock.advance(timedelta(days=3))  # the process was down for three days

    assert app.jobs.run_dispatch() == 5
    assert app.jobs.run_dispatch() == 0

    assert outbox_rows(app) == len(references)


def test_two_dispatchers_at_once_queue_once(app: Application) -> None:
    for number in range(12):
        active_case(app, debtor_name=f"Debiteur {number}")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            app.jobs.run_dispatch()
        except BaseException as err:  # collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert outbox_rows(app) == 12


def test_reminder_without_lawful_mentions_is_blocked(
    tmp_path: Path, database_url: str, clock: Clock
) -> None:
    settings = make_settings(tmp_path, database_url, agency={"iban": ""})
    app = build_application(settings, clock=clock)
    reference = active_case(app)

    assert app.jobs.run_dispatch() == 0

    assert outbox_rows(app) == 0
    case = case_row(app, reference)
    assert case.next_step_due_at is None  # not retried every run
    with transaction(app.factory) as session:
        (item,) = session.scalars(select(ReviewItem))
        assert item.kind == "reminder_blocked"
        assert "IBAN" in (item.detail or "")
    app.close()


def test_french_debtor_gets_french_with_dutch_legal_version(app: Application) -> None:
    active_case(app, language="fr", debtor_name="Marie Dubois")

    app.jobs.run_dispatch()

    with transaction(app.factory) as session:
        row = session.scalars(select(MailMessage)).one()
        assert row.status == MessageStatus.PENDING
        raw = app.rawstore.get(row.raw_document.sha256)
    message = message_from_bytes(raw, policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    assert message["Content-Language"] == "fr"
    # The French courtesy version comes first, the Dutch legal version after it.
    assert text.index("Sous cette lettre") < text.index("Wettelijk vereiste versie")
    assert "Version exigée par la loi" not in text


@pytest.mark.parametrize("language", ["nl", "en"])
def test_no_legal_version_when_languages_match(app: Application, language: str) -> None:
    active_case(app, language=language)

    app.jobs.run_dispatch()

    with transaction(app.factory) as session:
        row = session.scalars(select(MailMessage)).one()
        raw = app.rawstore.get(row.raw_document.sha256)
    text = message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()
    legal_heading_present = "Wettelijk vereiste versie" in text
    assert legal_heading_present == (language != "nl")
