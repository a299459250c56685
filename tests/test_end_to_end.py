"""The whole path through real SMTP: a creditor's mail in, a reminder out, the debtor's answer in.

Our SMTP receiver and an SMTP sink (both aiosmtpd on loopback) stand in for
the mail servers around incasso; the scheduler runs its real jobs on short
intervals. Nothing is called directly that ``incasso serve`` would not call.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from babel.numbers import format_currency

from incasso.app.context import Application, build_application
from incasso.app.settings import SchedulerSettings
from incasso.cases.creditors import NewCreditor, register_creditor
from incasso.cases.law import format_ogm
from incasso.cases.summary import case_form, list_cases
from incasso.intake.receive import ReceiveBatcher
from incasso.intake.smtp import IntakeHandler, make_controller
from incasso.scheduler.runner import build_scheduler
from incasso.store.db import transaction
from incasso.store.models import Channel
from tests.conftest import Clock, SmtpSink, free_port, make_settings
from tests.factories.invoice_pdf import example_spec, make_invoice_pdf

WAIT_SECONDS = 30
LOCALES = {"nl": "nl_BE", "fr": "fr_BE"}


@dataclass
class Running:
    app: Application
    receiver_port: int
    sink: SmtpSink

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP("127.0.0.1", self.receiver_port, timeout=10) as client:
            client.send_message(message)


@pytest.fixture
def running(
    tmp_path: Path, database_url: str, clock: Clock, smtp_sink: SmtpSink
) -> Iterator[Running]:
    settings = make_settings(
        tmp_path,
        database_url,
        outbound={"transport": "smtp", "smtp_host": smtp_sink.host, "smtp_port": smtp_sink.port},
    )
    app = build_application(settings, clock=clock)
    port = free_port()
    batcher = ReceiveBatcher(app.factory, app.rawstore, channel=Channel.SMTP)
    controller = make_controller(
        IntakeHandler(batcher.submit, settings.accepted_domains),
        host="127.0.0.1",
        port=port,
        max_message_bytes=settings.smtp_receiver.max_message_bytes,
    )
    intervals = SchedulerSettings(
        intake_interval_seconds=0.2, dispatch_interval_seconds=0.2, outbox_interval_seconds=0.2
    )
    scheduler = build_scheduler(app.jobs.periodic(intervals))
    batcher.start()
    controller.start()
    scheduler.start()
    yield Running(app, port, smtp_sink)
    scheduler.shutdown(wait=True)
    controller.stop()
    batcher.stop()
    app.close()


def wait_for(condition: Callable[[], object], what: str) -> object:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {WAIT_SECONDS} s waiting for {what}")


def register_example_creditor(app: Application, language: str) -> str:
    party = example_spec(language).creditor
    assert party.vat is not None and party.email is not None
    with transaction(app.factory) as session:
        register_creditor(
            session,
            NewCreditor(
                code="ACME",
                name=party.name,
                enterprise_number=party.vat,
                language=language,
                address=f"{party.street}, {party.postcode} {party.city}",
                phone="+32 9 123 45 67",
                email=party.email,
                senders=("@" + party.email.partition("@")[2],),
            ),
        )
    return party.email


def submission(sender: str, pdf: bytes) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "intake@incasso.test"
    message["Subject"] = "Onbetaalde factuur"
    message["Message-ID"] = "<submission-1@creditor.example>"
    message.set_content("Zie bijlage: een factuur die nog openstaat.")
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename="factuur.pdf")
    return message


def only_case_form(app: Application) -> dict[str, object]:
    with transaction(app.factory) as session:
        cases = list_cases(session)
        return case_form(session, cases[0]) if len(cases) == 1 else {}


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_submission_reminder_and_reply(running: Running, language: str) -> None:
    app = running.app
    spec = example_spec(language)
    sender = register_example_creditor(app, language)

    # A creditor mails an invoice; a case opens with the invoice's fields.
    running.send(submission(sender, make_invoice_pdf(spec)))
    form = wait_for(lambda: only_case_form(app), "the case to open")
    assert isinstance(form, dict)
    (invoice,) = form["invoices"]
    assert invoice["number"] == spec.number
    assert invoice["due_date"] == spec.due_date.isoformat()
    assert invoice["amount_due"] == f"{spec.total:.2f}"
    assert invoice["fields"]["amount_due"]["confidence"] >= 0.8
    assert form["debtor"]["email"] == spec.customer.email
    assert form["status"] == "active"

    # The scheduler sends the first reminder through SMTP, in the debtor's language.
    wait_for(lambda: running.sink.messages, "the first reminder at the SMTP sink")
    envelope, raw = running.sink.messages[0]
    reminder = message_from_bytes(raw, policy=policy.default)
    reference = form["reference"]
    assert envelope.rcpt_tos == [spec.customer.email]
    assert reference in reminder["Subject"]
    assert reminder["Reply-To"] == f"dossier+{reference}@incasso.test"
    assert reminder["Content-Language"] == language
    assert reminder["Precedence"] is None
    assert reminder["Auto-Submitted"] is None
    text = reminder.get_body(("plain",)).get_content()
    assert format_currency(spec.total, "EUR", locale=LOCALES[language]) in text
    assert format_ogm(only_ogm(app)) in text
    assert app.settings.agency.iban in text.replace(" ", "")

    # The debtor answers from a mail client; the answer lands in the case's timeline.
    answer = EmailMessage()
    answer["From"] = spec.customer.email
    answer["To"] = reminder["Reply-To"]
    answer["Subject"] = "Re: " + reminder["Subject"]
    answer["Message-ID"] = "<answer-1@debtor.example>"
    answer["In-Reply-To"] = reminder["Message-ID"]
    answer.set_content("Ik heb gisteren betaald.")
    running.send(answer)

    def answered() -> bool:
        timeline = only_case_form(app).get("timeline", [])
        assert isinstance(timeline, list)
        return any(
            entry["kind"] == "reply_received" and entry["message_id"] == "<answer-1@debtor.example>"
            for entry in timeline
        )

    wait_for(answered, "the answer in the timeline")
    kinds = [entry["kind"] for entry in only_case_form(app)["timeline"]]  # type: ignore[union-attr]
    assert kinds.index("reminder_sent") < kinds.index("reply_received")
    assert len(running.sink.messages) == 1  # nobody answers the debtor's answer automatically


def only_ogm(app: Application) -> str:
    with transaction(app.factory) as session:
        return list_cases(session)[0].ogm
