"""Processing received mail: cases from submissions, drafts and review items for the rest."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from incasso.app.context import Application
from incasso.cases.creditors import NewCreditor, register_creditor
from incasso.cases.summary import case_form, list_cases
from incasso.cases.transitions import resume_case
from incasso.i18n import LOCAL_ZONE
from incasso.intake.drop import intake_paths
from incasso.intake.receive import Envelope, receive
from incasso.store.db import transaction
from incasso.store.models import (
    Blob,
    Case,
    Channel,
    Debtor,
    MailMessage,
    MessageKind,
    MessageStatus,
    ReviewItem,
)
from tests.factories.invoice_pdf import example_spec, make_invoice_pdf, make_invoices_pdf

CREDITOR_DOMAIN = "vandamme.example"


def creditor_party() -> Any:
    return example_spec("nl").creditor


@pytest.fixture
def creditor(app: Application) -> str:
    party = creditor_party()
    with transaction(app.factory) as session:
        register_creditor(
            session,
            NewCreditor(
                code="VANDAMME",
                name=party.name,
                enterprise_number=party.vat,
                language="nl",
                address=f"{party.street}, {party.postcode} {party.city}",
                phone="+32 9 123 45 67",
                email=party.email,
                senders=(party.email.partition("@")[2],),
            ),
        )
    return str(party.email)


def mail(sender: str, *attachments: tuple[str, bytes], **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = headers.pop("to", "intake@incasso.test")
    message["Subject"] = headers.pop("subject", "Onbetaalde factuur")
    body = headers.pop("body", "Zie bijlage.")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    for filename, data in attachments:
        subtype = "pdf" if filename.endswith(".pdf") else "xml"
        message.add_attachment(data, maintype="application", subtype=subtype, filename=filename)
    return message.as_bytes()


# Mail handed over by our own relay on loopback, whose sender needs no check of ours.
RELAYED = Envelope(peer="127.0.0.1:40000", helo="mx.incasso.test")


def take_in(app: Application, raw: bytes, envelope: Envelope = RELAYED) -> int:
    receipt = receive(app.factory, app.rawstore, raw, channel=Channel.SMTP, envelope=envelope)
    app.jobs.run_intake()
    return receipt.message_row_id


def forms(app: Application) -> list[dict[str, Any]]:
    with transaction(app.factory) as session:
        return [case_form(session, case) for case in list_cases(session)]


def open_reviews(app: Application) -> list[ReviewItem]:
    with transaction(app.factory) as session:
        return list(session.scalars(select(ReviewItem).order_by(ReviewItem.id)))


def message_row(app: Application, row_id: int) -> MailMessage:
    with transaction(app.factory) as session:
        return session.get_one(
            MailMessage, row_id, options=[selectinload(MailMessage.raw_document)]
        )


def test_complete_submission_opens_active_case(app: Application, creditor: str) -> None:
    spec = example_spec("nl")

    row_id = take_in(app, mail(creditor, ("f.pdf", make_invoice_pdf(spec))))

    (form,) = forms(app)
    assert form["status"] == "active"
    assert form["next_step"] == "first_reminder"
    assert form["creditor"]["code"] == "VANDAMME"
    assert form["debtor"] == {
        "name": spec.customer.name,
        "email": spec.customer.email,
        "phone": None,
        "enterprise_number": None,
        "kind": "consumer",
        "language": "nl",
        "address": form["debtor"]["address"],
        "email_failed_at": None,
    }
    assert form["invoices"][0]["fields"]["invoice_number"]["source"].startswith("f.pdf: pdf")
    assert message_row(app, row_id).kind == MessageKind.SUBMISSION
    assert open_reviews(app) == []


def test_business_debtor_is_an_enterprise(app: Application, creditor: str) -> None:
    customer = example_spec("en").customer
    spec = example_spec("nl", customer=customer)

    take_in(app, mail(creditor, ("f.pdf", make_invoice_pdf(spec))))

    (form,) = forms(app)
    assert form["debtor"]["kind"] == "enterprise"
    assert form["debtor"]["enterprise_number"] == customer.vat


def test_same_mail_twice_gives_one_case(app: Application, creditor: str) -> None:
    raw = mail(creditor, ("f.pdf", make_invoice_pdf(example_spec("nl"))))

    take_in(app, raw)
    take_in(app, raw)

    assert len(forms(app)) == 1


def test_same_invoice_in_new_mail_adds_event(app: Application, creditor: str) -> None:
    pdf = make_invoice_pdf(example_spec("nl"))

    take_in(app, mail(creditor, ("f.pdf", pdf), subject="Factuur"))
    take_in(app, mail(creditor, ("f.pdf", pdf), subject="Herinnering: factuur"))

    (form,) = forms(app)
    kinds = [entry["kind"] for entry in form["timeline"]]
    assert kinds.count("submission_received") == 1
    assert kinds.count("duplicate_submission") == 1


def test_language_chosen_by_staff_outranks_the_invoice(app: Application, creditor: str) -> None:
    take_in(app, mail(creditor, ("f.pdf", make_invoice_pdf(example_spec("nl")))))
    with transaction(app.factory) as session:
        debtor = session.scalars(select(Debtor)).one()
        debtor.language = "fr"
        debtor.language_chosen = True

    later = example_spec("nl", number="2026-0999")
    take_in(app, mail(creditor, ("g.pdf", make_invoice_pdf(later)), subject="Nog een factuur"))

    languages = {form["invoices"][0]["number"]: form["language"] for form in forms(app)}
    assert languages["2026-0999"] == "fr"


def test_invoices_of_two_debtors_open_two_cases(app: Application, creditor: str) -> None:
    first = example_spec("nl")
    second = example_spec("nl", number="2026-0413", customer=example_spec("en").customer)

    take_in(app, mail(creditor, ("two.pdf", make_invoices_pdf([first, second]))))

    debtors = sorted(form["debtor"]["name"] for form in forms(app))
    assert debtors == sorted([first.customer.name, second.customer.name])


def test_unknown_sender_opens_draft_with_fields(app: Application) -> None:
    spec = example_spec("nl")

    take_in(app, mail("someone@unknown.example", ("f.pdf", make_invoice_pdf(spec))))

    (form,) = forms(app)
    assert form["status"] == "draft"
    assert form["creditor"] is None
    assert form["invoices"][0]["number"] == spec.number
    assert form["review"][0]["reasons"] == ["unknown_sender"]


def test_missing_customer_email_makes_draft(app: Application, creditor: str) -> None:
    spec = example_spec("nl")
    spec = replace(spec, customer=replace(spec.customer, email=None))

    take_in(app, mail(creditor, ("f.pdf", make_invoice_pdf(spec))))

    (form,) = forms(app)
    assert form["status"] == "draft"
    assert "missing:debtor_email" in form["review"][0]["reasons"]
    assert form["next_step"] is None


def test_invoice_not_yet_due_makes_draft(app: Application, creditor: str) -> None:
    today = app.clock().date()
    spec = example_spec("nl", issue_date=today, due_date=today + timedelta(days=30))

    take_in(app, mail(creditor, ("f.pdf", make_invoice_pdf(spec))))

    (form,) = forms(app)
    assert form["status"] == "draft"
    assert form["review"][0]["reasons"] == ["not_yet_due"]


def test_credit_note_opens_no_case(app: Application, creditor: str) -> None:
    spec = example_spec("nl", credit_note=True)

    take_in(app, mail(creditor, ("credit.pdf", make_invoice_pdf(spec))))

    assert forms(app) == []
    (item,) = open_reviews(app)
    assert item.kind == "no_invoice"
    assert item.reasons == [f"credit_note:{spec.number}"]


def test_paid_invoice_opens_no_case(app: Application, creditor: str) -> None:
    spec = example_spec("nl")
    spec = example_spec("nl", already_paid=spec.total)

    take_in(app, mail(creditor, ("paid.pdf", make_invoice_pdf(spec))))

    assert forms(app) == []
    assert open_reviews(app)[0].reasons == [f"nothing_due:{spec.number}"]


def test_mail_without_attachment_goes_to_review(app: Application, creditor: str) -> None:
    row_id = take_in(app, mail(creditor))

    assert forms(app) == []
    (item,) = open_reviews(app)
    assert item.kind == "no_invoice"
    assert item.reasons == ["no_attachment"]
    assert item.mail_message_id == row_id


def test_unreadable_attachment_is_kept_for_review(app: Application, creditor: str) -> None:
    broken = b"%PDF-1.4\n" + b"\x00garbage" * 50

    row_id = take_in(app, mail(creditor, ("broken.pdf", broken)))

    (item,) = open_reviews(app)
    assert item.reasons == ["attachment:unreadable"]
    assert message_row(app, row_id).status == MessageStatus.PROCESSED


def test_reply_to_plus_address_lands_in_case(app: Application, creditor: str) -> None:
    take_in(app, mail(creditor, ("f.pdf", make_invoice_pdf(example_spec("nl")))))
    reference = forms(app)[0]["reference"]

    take_in(
        app,
        mail(
            "lotte@home.example",
            to=f"dossier+{reference}@incasso.test",
            subject="Vraag",
            Message_ID="<q1@home.example>",
        ),
    )

    timeline = forms(app)[0]["timeline"]
    replies = [entry for entry in timeline if entry["kind"] == "reply_received"]
    assert [entry["message_id"] for entry in replies] == ["<q1@home.example>"]
    assert replies[0]["detail"]["matched_by"] == "reply address"
    (item,) = forms(app)[0]["review"]
    assert item["kind"] == "reply"
    assert item["reasons"] == ["reply_to_read"]


def _reply(app: Application, reference: str, body: str) -> dict[str, Any]:
    take_in(
        app,
        mail(
            "lotte@home.example",
            to=f"dossier+{reference}@incasso.test",
            subject="Re: Herinnering",
            body=body,
        ),
    )
    (form,) = forms(app)
    return form


QUOTED_REMINDER = (
    "\n\nOp ma 16 nov. 2026 om 09:00 schreef Incasso <dossiers@incasso.test>:\n"
    "> Betwist u de vordering, laat het ons dan weten.\n"
    "> Vraagt u een afbetalingsplan aan, dan wachten wij.\n"
)


def test_reply_with_a_dispute_pauses_the_ladder(app: Application, creditor: str) -> None:
    take_in(app, mail(creditor, ("f.pdf", make_invoice_pdf(example_spec("nl")))))
    reference = forms(app)[0]["reference"]

    form = _reply(app, reference, "Ik betwist deze factuur: de ketel was defect." + QUOTED_REMINDER)

    assert form["status"] == "paused"
    assert form["ladder"]["hold_reason"] == "disputed"
    (reply,) = [entry for entry in form["timeline"] if entry["kind"] == "reply_received"]
    assert reply["detail"]["intent"] == "dispute"
    assert any("betwist deze factuur" in text for text in reply["detail"]["evidence"])
    (item,) = form["review"]
    assert item["reasons"] == ["reply_to_read", "intent:dispute"]


def test_dated_promise_pauses_until_next_day(app: Application, creditor: str) -> None:
    take_in(app, mail(creditor, ("f.pdf", make_invoice_pdf(example_spec("nl")))))
    reference = forms(app)[0]["reference"]

    form = _reply(app, reference, "Ik zal het bedrag tegen 20 december overschrijven.")

    assert form["status"] == "paused"
    assert form["ladder"]["hold_reason"] == "promise_to_pay"
    assert form["ladder"]["hold_until"].startswith("2026-12-20T23:00")  # midnight in Brussels


def test_paid_claim_pauses_a_week_for_the_check(app: Application, creditor: str) -> None:
    take_in(app, mail(creditor, ("f.pdf", make_invoice_pdf(example_spec("nl")))))
    reference = forms(app)[0]["reference"]

    form = _reply(app, reference, "Deze factuur is al betaald op 20 november.")

    assert form["status"] == "paused"
    assert form["ladder"]["hold_reason"] == "payment_claimed"
    received = app.clock().astimezone(LOCAL_ZONE).date()
    until = datetime.fromisoformat(form["ladder"]["hold_until"]).astimezone(LOCAL_ZONE)
    assert until.date() == received + timedelta(days=8)
    assert "intent:paid" in form["review"][0]["reasons"]


def test_quoted_reminder_is_not_read_as_the_answer(app: Application, creditor: str) -> None:
    take_in(app, mail(creditor, ("f.pdf", make_invoice_pdf(example_spec("nl")))))
    reference = forms(app)[0]["reference"]

    form = _reply(app, reference, "Dank u, goed ontvangen." + QUOTED_REMINDER)

    assert form["status"] == "active"
    (reply,) = [entry for entry in form["timeline"] if entry["kind"] == "reply_received"]
    assert reply["detail"]["intent"] == "other"
    assert form["review"][0]["reasons"] == ["reply_to_read"]


def _one_case(app: Application, creditor: str) -> dict[str, Any]:
    take_in(app, mail(creditor, ("f.pdf", make_invoice_pdf(example_spec("nl")))))
    (form,) = forms(app)
    return form


def _reply_reasons(form: dict[str, Any]) -> list[str]:
    (item,) = [item for item in form["review"] if item["kind"] == "reply"]
    return list(item["reasons"])


def test_reference_in_subject_threads_a_new_mail(app: Application, creditor: str) -> None:
    case = _one_case(app, creditor)
    debtor = case["debtor"]["email"]

    take_in(app, mail(debtor, subject=f"Vraag over dossier {case['reference']}", body="Wat?"))

    (form,) = forms(app)
    (reply,) = [entry for entry in form["timeline"] if entry["kind"] == "reply_received"]
    assert reply["detail"]["matched_by"] == "subject reference"
    assert "sender_not_debtor" not in _reply_reasons(form)


def test_reference_from_another_sender_is_flagged(app: Application, creditor: str) -> None:
    case = _one_case(app, creditor)

    take_in(
        app,
        mail(
            "boekhouder@kantoor-peeters.example",
            subject="Uw brief",
            body=f"Namens mijn cliënt, over uw dossier {case['reference']}: dit is betaald.",
        ),
    )

    (form,) = forms(app)
    (reply,) = [entry for entry in form["timeline"] if entry["kind"] == "reply_received"]
    assert reply["detail"]["matched_by"] == "body reference"
    assert "sender_not_debtor" in _reply_reasons(form)


def test_structured_communication_threads_a_new_mail(app: Application, creditor: str) -> None:
    case = _one_case(app, creditor)
    digits = "".join(ch for ch in case["structured_communication"] if ch.isdigit())

    take_in(
        app,
        mail(
            case["debtor"]["email"],
            subject="Betaling",
            body=f"Betaald met mededeling {digits[:3]}/{digits[3:7]}/{digits[7:]}",
        ),
    )

    (reply,) = [e for e in forms(app)[0]["timeline"] if e["kind"] == "reply_received"]
    assert reply["detail"]["matched_by"] == "structured communication"


def test_sender_of_one_open_case_threads(app: Application, creditor: str) -> None:
    case = _one_case(app, creditor)

    take_in(app, mail(case["debtor"]["email"].upper(), subject="Hallo", body="Ik bel u morgen."))

    (reply,) = [e for e in forms(app)[0]["timeline"] if e["kind"] == "reply_received"]
    assert reply["detail"]["matched_by"] == "sender address"


def test_debtor_with_two_cases_gets_candidates(app: Application, creditor: str) -> None:
    case = _one_case(app, creditor)
    later = example_spec("nl", number="2026-0997")
    take_in(app, mail(creditor, ("g.pdf", make_invoice_pdf(later)), subject="Nog een"))
    references = sorted(form["reference"] for form in forms(app))

    take_in(app, mail(case["debtor"]["email"], subject="Hallo", body="Ik bel u morgen."))

    (item,) = [item for item in open_reviews(app) if item.kind == "unmatched_mail"]
    assert item.reasons == ["no_case_found", "candidates:" + " ".join(reversed(references))]


def test_stranger_without_reference_stays_unmatched(app: Application, creditor: str) -> None:
    _one_case(app, creditor)

    take_in(app, mail("iemand@elders.example", subject="Hallo", body="Wie bent u?"))

    (form,) = forms(app)
    assert [e for e in form["timeline"] if e["kind"] == "reply_received"] == []
    assert [item.reasons for item in open_reviews(app)] == [["no_case_found"]]


def test_creditor_naming_a_case_submits(app: Application, creditor: str) -> None:
    case = _one_case(app, creditor)
    later = example_spec("nl", number="2026-0998")

    take_in(
        app,
        mail(
            creditor,
            ("g.pdf", make_invoice_pdf(later)),
            subject=f"Nog een factuur, naast dossier {case['reference']}",
        ),
    )

    assert len(forms(app)) == 2


def test_reply_by_references_lands_in_case(app: Application, creditor: str) -> None:
    take_in(
        app,
        mail(
            creditor,
            ("f.pdf", make_invoice_pdf(example_spec("nl"))),
            Message_ID="<sub-1@vandamme.example>",
        ),
    )

    take_in(
        app,
        mail(
            "lotte@home.example",
            subject="Re: iets anders",
            References="<unknown@x.example> <sub-1@vandamme.example>",
        ),
    )

    replies = [e for e in forms(app)[0]["timeline"] if e["kind"] == "reply_received"]
    assert len(replies) == 1
    assert replies[0]["detail"]["matched_by"] == "references"


def _sent_thread_index(app: Application) -> str:
    """Return our Thread-Index with one more block, as Outlook sends it back in a reply."""
    with transaction(app.factory) as session:
        root = session.scalar(select(MailMessage.thread_root).where(MailMessage.direction == "out"))
    assert root is not None
    return base64.b64encode(base64.b64decode(root) + b"\x00\x00\x01\x02\x03").decode()


def test_outlook_answer_without_references_threads_by_thread_index(
    app: Application, creditor: str
) -> None:
    _one_case(app, creditor)
    app.jobs.run_dispatch()

    # A colleague replies from Outlook: no In-Reply-To, no References, another address.
    take_in(
        app,
        mail(
            "boekhouding@lotte-bv.example",
            subject="RE : Betalingsherinnering",
            body="Wij betalen volgende week.",
            Thread_Index=_sent_thread_index(app),
            Thread_Topic="Betalingsherinnering",
        ),
    )

    (form,) = forms(app)
    (reply,) = [e for e in form["timeline"] if e["kind"] == "reply_received"]
    assert reply["detail"]["matched_by"] == "thread-index"


def test_unknown_thread_index_matches_nothing(app: Application, creditor: str) -> None:
    _one_case(app, creditor)
    app.jobs.run_dispatch()
    foreign = base64.b64encode(bytes(range(22)) + b"\x00\x00\x01\x02\x03").decode()

    row_id = take_in(
        app,
        mail("iemand@elders.example", subject="RE: Herinnering", Thread_Index=foreign),
    )

    assert message_row(app, row_id).kind == MessageKind.UNMATCHED


def test_answer_to_a_received_message_threads(app: Application, creditor: str) -> None:
    case = _one_case(app, creditor)
    take_in(
        app,
        mail(
            case["debtor"]["email"],
            subject=f"Vraag over dossier {case['reference']}",
            Message_ID="<eerste@home.example>",
        ),
    )

    # Her second mail replies only to her own first one, from another address.
    take_in(
        app,
        mail(
            "lotte.privé@elders.example",
            subject="Re: Vraag",
            In_Reply_To="<eerste@home.example>",
        ),
    )

    (form,) = forms(app)
    replies = [e for e in form["timeline"] if e["kind"] == "reply_received"]
    assert [r["detail"]["matched_by"] for r in replies] == ["subject reference", "in-reply-to"]


def test_bounce_is_not_taken_for_a_reply(app: Application, creditor: str) -> None:
    take_in(
        app,
        mail(
            creditor,
            ("f.pdf", make_invoice_pdf(example_spec("nl"))),
            Message_ID="<sub-2@vandamme.example>",
        ),
    )

    row_id = take_in(
        app,
        mail(
            "MAILER-DAEMON@mx.example",
            subject="Re: Undelivered Mail",
            In_Reply_To="<sub-2@vandamme.example>",
        ),
    )

    kinds = [e["kind"] for e in forms(app)[0]["timeline"]]
    assert "bounce_received" in kinds
    assert "reply_received" not in kinds
    assert message_row(app, row_id).kind == MessageKind.BOUNCE


def _without_postal_address(app: Application) -> None:
    with transaction(app.factory) as session:
        session.execute(update(Debtor).values(address=None))


def _final_bounce(app: Application, reference: str) -> int:
    """Take in a bounce that names the case only by its envelope, as many real ones do."""
    bounce_to = app.addresses.bounce_address(reference, "k3x9q2")
    envelope = Envelope(mail_from="", rcpt_tos=(bounce_to,), peer="127.0.0.1:40000")
    bounce = mail("MAILER-DAEMON@mx.example", to=bounce_to, body="550 5.1.1 User unknown")
    return take_in(app, bounce, envelope)


def _outbound(app: Application) -> list[tuple[str | None, str | None]]:
    with transaction(app.factory) as session:
        rows = session.execute(
            select(MailMessage.step, MailMessage.medium)
            .where(MailMessage.direction == "out")
            .order_by(MailMessage.id)
        )
        return [tuple(row) for row in rows]


def test_final_bounce_sends_the_notice_again_by_letter(app: Application, creditor: str) -> None:
    case = _one_case(app, creditor)
    app.jobs.run_dispatch()
    app.jobs.run_outbox()

    _final_bounce(app, case["reference"])

    (form,) = forms(app)
    assert form["status"] == "active"
    assert form["debtor"]["email_failed_at"] is not None
    (changed,) = [e for e in form["timeline"] if e["kind"] == "channel_changed"]
    assert changed["detail"]["resend"] == "first_reminder"
    assert [i for i in open_reviews(app) if i.reasons == ["bounce_to_read"]] == []

    app.jobs.run_dispatch()

    assert _outbound(app) == [("first_reminder", "email"), ("first_reminder", "letter")]
    (form,) = forms(app)
    assert form["next_step"] == "second_reminder"


def test_early_bounce_posts_first_reminder(app: Application, creditor: str) -> None:
    case = _one_case(app, creditor)

    _final_bounce(app, case["reference"])
    app.jobs.run_dispatch()

    (form,) = forms(app)
    (changed,) = [e for e in form["timeline"] if e["kind"] == "channel_changed"]
    assert changed["detail"]["resend"] is None
    assert _outbound(app) == [("first_reminder", "letter")]


def test_bounce_without_postal_address_pauses_the_case(app: Application, creditor: str) -> None:
    case = _one_case(app, creditor)
    _without_postal_address(app)

    row_id = _final_bounce(app, case["reference"])

    (form,) = forms(app)
    assert form["status"] == "paused"
    assert form["ladder"]["hold_reason"] == "bounced"
    bounced = [e for e in form["timeline"] if e["kind"] == "bounce_received"]
    assert bounced[0]["detail"]["matched_by"] == "bounce address"
    (item,) = [i for i in open_reviews(app) if i.reasons == ["bounce_to_read"]]
    assert item.mail_message_id == row_id
    assert form["debtor"]["email_failed_at"] is not None


def test_bounce_under_the_brake_marks_nothing(app: Application, creditor: str) -> None:
    case = _one_case(app, creditor)
    with transaction(app.factory) as session:
        session.add(ReviewItem(kind="mass_bounce", reasons=["mass_bounce:10:10"]))
    bounce_to = app.addresses.bounce_address(case["reference"], "k3x9q2")
    envelope = Envelope(mail_from="", rcpt_tos=(bounce_to,), peer="127.0.0.1:40000")

    take_in(app, mail("MAILER-DAEMON@mx.example", to=bounce_to, body="550 5.1.1"), envelope)

    (form,) = forms(app)
    assert form["status"] == "active"
    assert form["debtor"]["email_failed_at"] is None
    assert [e["kind"] for e in form["timeline"]][-1] == "bounce_received"


def test_delayed_delivery_only_notes_the_bounce(app: Application, creditor: str) -> None:
    case = _one_case(app, creditor)
    bounce_to = app.addresses.bounce_address(case["reference"], "k3x9q2")
    envelope = Envelope(mail_from="", rcpt_tos=(bounce_to,), peer="127.0.0.1:40000")
    delayed = mail(
        "MAILER-DAEMON@mx.example",
        to=bounce_to,
        subject="Delivery delayed: Herinnering",
        body=f"Delivery to {case['debtor']['email']} has been delayed. We will retry.",
    )

    take_in(app, delayed, envelope)

    (form,) = forms(app)
    assert form["status"] == "active"
    (bounced,) = [e for e in form["timeline"] if e["kind"] == "bounce_received"]
    assert bounced["detail"]["final"] is False
    assert bounced["detail"]["failed_recipient"] == case["debtor"]["email"]
    assert form["debtor"]["email_failed_at"] is None
    assert form["review"] == []


def test_bounced_address_blocks_mail_until_staff_replace_it(
    app: Application, creditor: str
) -> None:
    case = _one_case(app, creditor)
    _without_postal_address(app)
    _final_bounce(app, case["reference"])
    with transaction(app.factory) as session:
        paused = session.scalars(select(Case)).one()
        resume_case(session, paused, now=app.clock(), actor="Els", why="try again")

    app.jobs.run_dispatch()

    (form,) = forms(app)
    assert [e["kind"] for e in form["timeline"]][-1] == "reminder_blocked"
    assert "bounced (5.1.1)" in form["timeline"][-1]["detail"]["error"]


def test_auto_reply_is_logged_not_answered(app: Application, creditor: str) -> None:
    take_in(
        app,
        mail(
            creditor,
            ("f.pdf", make_invoice_pdf(example_spec("nl"))),
            Message_ID="<sub-3@vandamme.example>",
        ),
    )

    take_in(
        app,
        mail(
            "lotte@home.example",
            subject="Afwezig",
            Auto_Submitted="auto-replied",
            In_Reply_To="<sub-3@vandamme.example>",
        ),
    )

    kinds = [e["kind"] for e in forms(app)[0]["timeline"]]
    assert "auto_reply_received" in kinds
    assert "reply_received" not in kinds
    assert forms(app)[0]["review"] == []  # nobody has to read an out-of-office


def test_auto_responder_gets_nothing_back(app: Application, creditor: str) -> None:
    case = _one_case(app, creditor)
    app.jobs.run_dispatch()
    app.jobs.run_outbox()
    outbox = app.settings.resolved_data_dir / "outbox"
    sent_before = sorted(outbox.glob("*.eml"))
    assert len(sent_before) == 1  # the first reminder

    # The debtor's out-of-office replies to the reminder, with no automation header at all.
    for number in range(3):
        take_in(
            app,
            mail(
                case["debtor"]["email"],
                to=f"dossier+{case['reference']}@incasso.test",
                subject="Automatisch antwoord: Herinnering",
                body="Ik ben afwezig tot maandag.",
                Message_ID=f"<oof-{number}@home.example>",
            ),
        )
        app.jobs.run_dispatch()
        app.jobs.run_outbox()

    assert sorted(outbox.glob("*.eml")) == sent_before
    (form,) = forms(app)
    kinds = [entry["kind"] for entry in form["timeline"]]
    assert kinds.count("auto_reply_received") == 3
    assert "reply_received" not in kinds


def test_similar_subject_alone_never_matches(app: Application, creditor: str) -> None:
    take_in(app, mail(creditor, ("f.pdf", make_invoice_pdf(example_spec("nl")))))

    row_id = take_in(
        app, mail("other@person.example", subject="Re: Herinnering onbetaalde factuur")
    )

    assert not any(e["kind"] == "reply_received" for e in forms(app)[0]["timeline"])
    assert open_reviews(app)[-1].mail_message_id == row_id
    assert open_reviews(app)[-1].reasons == ["no_case_found"]


def test_creditor_found_by_intake_plus_address(app: Application, creditor: str) -> None:
    raw = mail(
        "assistant@gmail.example",
        ("f.pdf", make_invoice_pdf(example_spec("nl"))),
        to="intake+vandamme@incasso.test",
    )

    take_in(app, raw)

    (form,) = forms(app)
    assert form["creditor"]["code"] == "VANDAMME"
    assert form["status"] == "active"


def test_unparseable_mime_is_kept_and_reviewed(app: Application, creditor: str) -> None:
    raw = (
        b"From: " + creditor.encode() + b"\r\nSubject: kapot\r\n"
        b"Content-Type: application/pdf; name*\r\n\r\n%PDF-1.4 nothing\r\n"
    )

    row_id = take_in(app, raw)

    row = message_row(app, row_id)
    assert row.status == MessageStatus.PROCESSED
    assert app.rawstore.get(row.raw_document.sha256) == raw
    assert len(open_reviews(app)) == 1


def test_processing_error_marks_failed_and_keeps_raw(app: Application, creditor: str) -> None:
    raw = mail(creditor)
    receipt = receive(app.factory, app.rawstore, raw, channel=Channel.SMTP)
    row = message_row(app, receipt.message_row_id)
    with transaction(app.factory) as session:
        session.execute(
            update(Blob).where(Blob.sha256 == row.raw_document.sha256).values(data=b"damaged")
        )

    app.jobs.run_intake()

    failed = message_row(app, receipt.message_row_id)
    assert failed.status == MessageStatus.FAILED
    assert failed.error is not None and "damaged" in failed.error
    (item,) = open_reviews(app)
    assert item.kind == "processing_failed"


def test_upload_with_creditor_opens_case(app: Application, creditor: str, tmp_path: Path) -> None:
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(make_invoice_pdf(example_spec("nl")))

    report = intake_paths(app.factory, app.rawstore, app.addresses, [pdf], "VANDAMME")
    app.jobs.run_intake()

    assert report.new == 1
    (form,) = forms(app)
    assert form["creditor"]["code"] == "VANDAMME"
    assert form["invoices"][0]["amount_due"] == f"{example_spec('nl').total:.2f}"


def test_amounts_are_exact(app: Application, creditor: str) -> None:
    spec = example_spec("nl")

    take_in(app, mail(creditor, ("f.pdf", make_invoice_pdf(spec))))

    with transaction(app.factory) as session:
        (case,) = list_cases(session)
        assert case.invoices[0].amount_due == spec.total
        assert isinstance(case.invoices[0].amount_due, Decimal)
        assert case.invoices[0].due_date == date(2026, 10, 14)


def test_invoice_of_another_company_makes_draft(app: Application) -> None:
    other = example_spec("en").creditor
    with transaction(app.factory) as session:
        register_creditor(
            session,
            NewCreditor(
                code="OTHER",
                name=other.name,
                enterprise_number=other.vat,
                language="nl",
                address="Kerkstraat 1, 9000 Gent",
                phone="+32 9 123 45 67",
                email=None,
                senders=("other@forwarder.example",),
            ),
        )

    take_in(app, mail("other@forwarder.example", ("f.pdf", make_invoice_pdf(example_spec("nl")))))

    (form,) = forms(app)
    assert form["status"] == "draft"
    assert form["review"][0]["reasons"] == ["issuer_not_creditor"]


def test_exchange_message_id_threads_a_reply(app: Application, creditor: str) -> None:
    # Python's email package cannot even build this header, so it goes into the bytes.
    exchange_id = b"<[83c4d1e2f3a4b5c6d7e8f90a1b2c3d4e-JQ3PR0401MB=@microsoft.com]>"
    placeholder = "<placeholder@x.example>"
    pdf = make_invoice_pdf(example_spec("nl"))
    submission = mail(creditor, ("f.pdf", pdf), Message_ID=placeholder)
    take_in(app, submission.replace(placeholder.encode(), exchange_id))

    reply = mail("lotte@home.example", subject="RE: factuur", In_Reply_To=placeholder)
    take_in(app, reply.replace(placeholder.encode(), exchange_id))

    replies = [e for e in forms(app)[0]["timeline"] if e["kind"] == "reply_received"]
    assert len(replies) == 1
    assert replies[0]["detail"]["matched_by"] == "in-reply-to"


def test_broken_address_header_is_kept(app: Application, creditor: str) -> None:
    raw = b'From: "\r\nTo: "\r\nSubject: leeg\r\n\r\nniets\r\n'

    row_id = take_in(app, raw)

    assert message_row(app, row_id).status == MessageStatus.PROCESSED
    assert open_reviews(app)[-1].mail_message_id == row_id


def test_same_invoice_twice_in_one_mail_opens_one_case(app: Application, creditor: str) -> None:
    spec = example_spec("nl")
    pdf = make_invoice_pdf(spec)
    copy = make_invoice_pdf(replace(spec, creditor_footer=True))  # other bytes, same invoice

    take_in(app, mail(creditor, ("f.pdf", pdf), ("kopie.pdf", copy)))

    (form,) = forms(app)
    assert len(form["invoices"]) == 1
    assert form["status"] == "active"
    (item,) = open_reviews(app)
    assert item.reasons == [f"same_invoice_twice:{spec.number}"]


def test_claim_typed_in_the_body_opens_a_case(app: Application, creditor: str) -> None:
    message = EmailMessage()
    message["From"] = creditor
    message["To"] = "intake@incasso.test"
    message["Subject"] = "Openstaande factuur"
    message.set_content(
        "Goedemiddag,\n\nGraag uw hulp voor deze openstaande factuur:\n"
        "Factuur 2026-5521 van 03/07/2026, bedrag 612,40 euro, vervallen op 02/08/2026.\n"
        "Klant: Jan Peeters, jan.peeters@mail.test, 0475 12 34 56\n\n"
        "Met vriendelijke groeten,\nDe boekhouding\n"
    )

    take_in(app, message.as_bytes())

    (form,) = forms(app)
    (invoice,) = form["invoices"]
    assert invoice["number"] == "2026-5521"
    assert invoice["amount_due"] == "612.40"
    assert invoice["document"]["filename"] == "mail-body.txt"
    assert invoice["fields"]["amount_due"]["source"].startswith("mail-body.txt: ")
    assert form["debtor"]["email"] == "jan.peeters@mail.test"
    assert form["debtor"]["phone"] == "+32475123456"


def test_body_is_not_read_when_an_attachment_holds_the_invoice(
    app: Application, creditor: str
) -> None:
    spec = example_spec("nl")
    message = EmailMessage()
    message["From"] = creditor
    message["To"] = "intake@incasso.test"
    message["Subject"] = "Factuur"
    message.set_content("Factuur 9999-0001 van 03/07/2026, bedrag 10,00 euro.\n")
    message.add_attachment(make_invoice_pdf(spec), maintype="application", subtype="pdf",
                           filename="f.pdf")  # fmt: skip

    take_in(app, message.as_bytes())

    (form,) = forms(app)
    assert [invoice["number"] for invoice in form["invoices"]] == [spec.number]
