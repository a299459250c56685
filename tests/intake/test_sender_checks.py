"""Intake keeps a submission as a draft when its sender address cannot be trusted."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from incasso.app.context import Application
from incasso.cases.creditors import NewCreditor, register_creditor
from incasso.cases.summary import case_form, list_cases
from incasso.intake.process import SenderPolicy
from incasso.intake.receive import Envelope, receive
from incasso.intake.resolver import DnsResolver
from incasso.store.db import transaction
from incasso.store.models import Channel, MailMessage
from tests.dns_server import LoopbackDnsServer
from tests.factories.invoice_pdf import example_spec, make_invoice_pdf

OUTSIDE = "192.0.2.20:51000"  # TEST-NET-1, only ever a string: nothing is sent there
MX_ID = "mx.incasso.test"


@pytest.fixture
def dns_server() -> Iterator[LoopbackDnsServer]:
    """Two creditor domains: one allows only 127.0.0.1 to send, one publishes nothing."""
    server = LoopbackDnsServer()
    party = example_spec("nl").creditor
    assert party.email is not None
    server.add_txt(party.email.partition("@")[2], "v=spf1 ip4:127.0.0.1 -all")
    with server:
        yield server


@pytest.fixture
def checked_app(app: Application, dns_server: LoopbackDnsServer) -> Application:
    """The application with the DNS on loopback and one trusted receiving server."""
    senders = SenderPolicy(
        trusted_networks=("127.0.0.0/8",),
        trusted_authserv_ids=(MX_ID,),
        resolver=DnsResolver(["127.0.0.1"], port=dns_server.port, timeout=2.0),
    )
    party = example_spec("nl").creditor
    assert party.vat is not None and party.email is not None
    with transaction(app.factory) as session:
        register_creditor(
            session,
            NewCreditor("VANDAMME", party.name, party.vat, "nl", "Kerkstraat 1, 9000 Gent",
                        "+32 9 123 45 67", party.email, (party.email,)),
        )  # fmt: skip
    return dataclasses.replace(app, senders=senders)


def submission(headers: dict[str, str] | None = None) -> bytes:
    spec = example_spec("nl")
    message = EmailMessage()
    message["From"] = str(spec.creditor.email)
    message["To"] = "intake@incasso.test"
    message["Subject"] = "Onbetaalde factuur"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content("Zie bijlage.")
    message.add_attachment(make_invoice_pdf(spec), maintype="application", subtype="pdf",
                           filename="f.pdf")  # fmt: skip
    return message.as_bytes()


def take_in(
    app: Application, raw: bytes, channel: Channel, envelope: Envelope
) -> dict[str, object]:
    receive(app.factory, app.rawstore, raw, channel=channel, envelope=envelope)
    app.jobs.run_intake()
    with transaction(app.factory) as session:
        (case,) = list_cases(session)
        return case_form(session, case)


def recorded_check(app: Application) -> tuple[str | None, str | None]:
    with transaction(app.factory) as session:
        message = session.scalars(select(MailMessage)).one()
        return message.sender_check, message.sender_check_detail


def test_forged_sender_keeps_a_draft(checked_app: Application) -> None:
    sender = str(example_spec("nl").creditor.email)
    envelope = Envelope(mail_from=sender, peer=OUTSIDE, helo="mail.elsewhere.example")

    form = take_in(checked_app, submission(), Channel.SMTP, envelope)

    assert form["status"] == "draft"
    (item,) = form["review"]  # type: ignore[misc]
    assert item["reasons"] == ["sender_forged"]
    assert "spf=fail" in (item["detail"] or "")
    assert recorded_check(checked_app)[0] == "fail"


def test_sender_without_evidence_keeps_a_draft(checked_app: Application) -> None:
    envelope = Envelope(mail_from="bounce@elsewhere.example", peer=OUTSIDE, helo="x.example")

    form = take_in(checked_app, submission(), Channel.SMTP, envelope)

    assert form["status"] == "draft"
    assert form["review"][0]["reasons"] == ["sender_unverified"]  # type: ignore[index]
    assert recorded_check(checked_app)[0] == "none"


def test_sender_passing_spf_opens_the_case(checked_app: Application) -> None:
    sender = str(example_spec("nl").creditor.email)
    envelope = Envelope(mail_from=sender, peer="127.0.0.1:40000", helo="mail.acme.example")
    policy = dataclasses.replace(checked_app.senders, trusted_networks=())
    app = dataclasses.replace(checked_app, senders=policy)

    form = take_in(app, submission(), Channel.SMTP, envelope)

    assert form["status"] == "active"
    assert recorded_check(app)[0] == "pass"


def test_mailbox_trusts_our_servers_results(checked_app: Application) -> None:
    domain = str(example_spec("nl").creditor.email).partition("@")[2]
    header = f"{MX_ID}; dkim=pass header.d={domain}; dmarc=pass header.from={domain}"

    form = take_in(
        checked_app,
        submission({"Authentication-Results": header}),
        Channel.IMAP,
        Envelope(peer="imap:intake/INBOX"),
    )

    assert form["status"] == "active"
    assert recorded_check(checked_app)[0] == "pass"


def test_mailbox_ignores_results_of_others(checked_app: Application) -> None:
    domain = str(example_spec("nl").creditor.email).partition("@")[2]
    header = f"mx.forger.example; dkim=pass header.d={domain}; dmarc=pass header.from={domain}"

    form = take_in(
        checked_app,
        submission({"Authentication-Results": header}),
        Channel.IMAP,
        Envelope(peer="imap:intake/INBOX"),
    )

    assert form["status"] == "draft"
    assert form["review"][0]["reasons"] == ["sender_unverified"]  # type: ignore[index]
