"""``incasso demo``: the whole path once, on example mails shipped in ``incasso/demo_data``.

Three creditors submit an invoice each (a Dutch PDF, a French PDF and a
Peppol UBL file) through the same intake path a drop folder uses; the demo
shows the cases, sends their first reminders to the outbox folder, replies
to one reminder as its debtor would, and shows that case's timeline with the
reply in it. Every mail is built with fixed headers and boundaries, so a
second run receives the same bytes and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from importlib import resources

from rich.console import Console
from sqlalchemy import select

from incasso.app.context import Application
from incasso.app.output import print_case, print_case_list
from incasso.cases.creditors import NewCreditor, register_creditor
from incasso.cases.summary import case_form, case_list_form, list_cases
from incasso.intake.mime import parse_mail
from incasso.intake.receive import Envelope, receive
from incasso.store.db import transaction
from incasso.store.models import Case, Channel, Creditor, Direction, MailMessage

logger = logging.getLogger(__name__)

Gettext = Callable[[str], str]

SUBMITTED_AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class DemoSubmission:
    creditor: NewCreditor
    sender: str
    filename: str
    content_type: str
    subject: str
    body: str


SUBMISSIONS = (
    DemoSubmission(
        creditor=NewCreditor(
            code="GOUDENKORST",
            name="Bakkerij De Gouden Korst BV",
            enterprise_number="0643120886",
            language="nl",
            address="Marktplein 3, 9200 Dendermonde",
            phone="+32 52 11 22 33",
            email="info@goudenkorst.example",
            senders=("@goudenkorst.example",),
        ),
        sender="info@goudenkorst.example",
        filename="factuur-nl.pdf",
        content_type="application/pdf",
        subject="Onbetaalde factuur 2026-0412",
        body="Beste,\n\nIn bijlage een factuur die nog niet betaald is. Willen jullie dit "
        "opvolgen?\n\nMet vriendelijke groeten,\nBakkerij De Gouden Korst\n",
    ),
    DemoSubmission(
        creditor=NewCreditor(
            code="DUPONT",
            name="Garage Dupont SRL",
            enterprise_number="0587234931",
            language="fr",
            address="Chaussée de Mons 210, 7000 Mons",
            phone="+32 65 22 33 44",
            email="atelier@garage-dupont.example",
            senders=("atelier@garage-dupont.example",),
        ),
        sender="atelier@garage-dupont.example",
        filename="facture-fr.pdf",
        content_type="application/pdf",
        subject="Facture impayée",
        body="Bonjour,\n\nVeuillez trouver ci-joint une facture restée impayée.\n\n"
        "Cordialement,\nGarage Dupont\n",
    ),
    DemoSubmission(
        creditor=NewCreditor(
            code="VANAKEN",
            name="Drukkerij Van Aken NV",
            enterprise_number="0471853629",
            language="nl",
            address="Drukkersstraat 5, 3500 Hasselt",
            phone="+32 11 33 44 55",
            email="facturatie@drukkerij-vanaken.example",
            senders=("@drukkerij-vanaken.example",),
        ),
        sender="facturatie@drukkerij-vanaken.example",
        filename="peppol-ubl.xml",
        content_type="application/xml",
        subject="Factuur via Peppol, onbetaald",
        body="Goedemiddag,\n\nDeze e-factuur staat nog open. Dank voor de opvolging.\n",
    ),
)


def run_demo(app: Application, console: Console, _: Gettext) -> None:
    """Run the demo against the application's store and print each step."""
    language = app.settings.language
    console.print(_("Demo in {folder}").format(folder=app.settings.resolved_data_dir))
    _register_creditors(app)

    for number, submission in enumerate(SUBMISSIONS, start=1):
        raw = build_submission(submission, app.addresses.intake_address(), number)
        receive(
            app.factory,
            app.rawstore,
            raw,
            channel=Channel.DROP,
            envelope=Envelope(mail_from=submission.sender, peer="demo"),
        )
    app.jobs.run_intake()
    with transaction(app.factory) as session:
        print_case_list(console, case_list_form(list_cases(session))["cases"], _, language)

    app.jobs.run_dispatch()
    sent = app.jobs.run_outbox()
    console.print(
        _("Reminders sent in this run: {count}. The outbox folder is {folder}").format(
            count=sent, folder=app.settings.outbox_dir
        )
    )

    reference = _reply_to_first_reminder(app)
    if reference is None:
        console.print(_("No reminder was sent, so there is nothing to answer."))
        return
    app.jobs.run_intake()
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        print_case(console, case_form(session, case), _, language)


def _register_creditors(app: Application) -> None:
    with transaction(app.factory) as session:
        for submission in SUBMISSIONS:
            code = submission.creditor.code
            if session.scalar(select(Creditor.id).where(Creditor.code == code)) is None:
                register_creditor(session, submission.creditor)


def build_submission(submission: DemoSubmission, intake_address: str, number: int) -> bytes:
    """Build the creditor's mail with its attachment; the same inputs give the same bytes."""
    data = (resources.files("incasso") / "demo_data" / submission.filename).read_bytes()
    maintype, subtype = submission.content_type.split("/")

    message = EmailMessage()
    message["From"] = formataddr((submission.creditor.name, submission.sender))
    message["To"] = intake_address
    message["Subject"] = submission.subject
    message["Date"] = format_datetime(SUBMITTED_AT + timedelta(minutes=number))
    message["Message-ID"] = f"<demo-submission-{number}@{submission.sender.split('@')[1]}>"
    message.set_content(submission.body)
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=submission.filename)
    message.set_boundary(f"demo-boundary-{number}")
    return message.as_bytes()


def _reply_to_first_reminder(app: Application) -> str | None:
    """Reply to the oldest sent reminder as its debtor; return that case's reference."""
    with transaction(app.factory) as session:
        reminder = session.scalar(
            select(MailMessage)
            .where(MailMessage.direction == Direction.OUTBOUND, MailMessage.case_id.is_not(None))
            .order_by(MailMessage.id)
            .limit(1)
        )
        if reminder is None or reminder.case is None:
            return None
        reference = reminder.case.reference
        raw_reminder = app.rawstore.get(reminder.raw_document.sha256, session=session)

    raw = build_reply(raw_reminder)
    receive(app.factory, app.rawstore, raw, channel=Channel.DROP, envelope=Envelope(peer="demo"))
    return reference


def build_reply(raw_reminder: bytes) -> bytes:
    """Build a debtor's reply to ``raw_reminder``, threaded the way mail clients do it."""
    reminder = parse_mail(raw_reminder)
    reply_to = reminder.header("reply-to") or ""
    debtor = reminder.to[0] if reminder.to else "debtor@example.test"

    message = EmailMessage()
    message["From"] = debtor
    message["To"] = reply_to
    message["Subject"] = f"Re: {reminder.subject}"
    message["Date"] = format_datetime(SUBMITTED_AT + timedelta(days=2))
    token = (reminder.message_id or "<reminder>").strip("<>").partition("@")[0]
    message["Message-ID"] = f"<reply.{token}@{debtor.partition('@')[2]}>"
    message["In-Reply-To"] = reminder.message_id or ""
    message["References"] = reminder.message_id or ""
    message.set_content(
        "Goedendag,\n\nIk heb de factuur gisteren overgeschreven met de gestructureerde "
        "mededeling.\nKunt u dat nakijken?\n\nVriendelijke groeten\n"
    )
    return message.as_bytes()
