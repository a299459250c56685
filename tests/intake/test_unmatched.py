"""Unmatched mail: the cases proposed for it, attaching it to a case, setting it aside."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from incasso.app.context import Application
from incasso.cases.summary import case_form, find_case
from incasso.intake.unmatched import (
    NAMED_IN_BODY,
    PROPOSED_AT_INTAKE,
    SENDER_ADDRESS,
    SENDER_DOMAIN,
    UnmatchedError,
    attach_message,
    candidates,
    dismiss_message,
    stored_mail,
)
from incasso.store.db import transaction
from incasso.store.models import MailMessage, MessageKind, ReviewItem, ReviewStatus
from tests.builders import active_case
from tests.intake.test_process import mail, take_in

DEBTOR = "an.janssens@home.example"
DISPUTE = "Ik betwist deze factuur: de ketel werkte nooit."


def two_cases_of_one_debtor(app: Application) -> tuple[str, str]:
    first = active_case(app, email=DEBTOR)
    second = active_case(app, email=DEBTOR, amount=Decimal("80.00"))
    return first, second


def proposed(app: Application, row_id: int) -> list[tuple[str, list[str]]]:
    with transaction(app.factory) as session:
        message = session.get_one(MailMessage, row_id)
        parsed = stored_mail(session, app.rawstore, message)
        return [(c.case.reference, c.signals) for c in candidates(session, message, parsed)]


def attach(app: Application, row_id: int, reference: str, actor: str = "els") -> None:
    with transaction(app.factory) as session:
        attach_message(session, app.rawstore, row_id, reference, actor=actor, now=app.clock())


def dismiss(app: Application, row_id: int, note: str = "") -> None:
    with transaction(app.factory) as session:
        dismiss_message(session, row_id, actor="els", now=app.clock(), note=note)


def form(app: Application, reference: str) -> dict[str, Any]:
    with transaction(app.factory) as session:
        case = find_case(session, reference)
        assert case is not None
        return case_form(session, case)


def items_of(app: Application, row_id: int) -> list[ReviewItem]:
    with transaction(app.factory) as session:
        query = select(ReviewItem).where(ReviewItem.mail_message_id == row_id)
        return list(session.scalars(query.order_by(ReviewItem.id)))


def message_of(app: Application, row_id: int) -> MailMessage:
    with transaction(app.factory) as session:
        return session.get_one(MailMessage, row_id)


def replies(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry for entry in case["timeline"] if entry["kind"] == "reply_received"]


def test_debtor_of_two_cases_gets_both_proposed(app: Application) -> None:
    first, second = two_cases_of_one_debtor(app)

    row_id = take_in(app, mail(DEBTOR, subject="Uw brief", body=DISPUTE))

    assert message_of(app, row_id).kind == MessageKind.UNMATCHED
    both = [SENDER_ADDRESS, PROPOSED_AT_INTAKE]
    assert proposed(app, row_id) == [(second, both), (first, both)]


def test_attached_dispute_pauses_the_ladder(app: Application) -> None:
    first, second = two_cases_of_one_debtor(app)
    row_id = take_in(app, mail(DEBTOR, subject="Uw brief", body=DISPUTE))

    attach(app, row_id, first)

    case = form(app, first)
    assert case["status"] == "paused"
    assert case["ladder"]["hold_reason"] == "disputed"
    (reply,) = replies(case)
    assert reply["detail"]["matched_by"] == "staff"
    assert reply["detail"]["intent"] == "dispute"
    assert reply["actor"] == "els"
    (reply_item,) = [item for item in case["review"] if item["kind"] == "reply"]
    assert reply_item["reasons"] == ["reply_to_read", "intent:dispute"]
    assert message_of(app, row_id).kind == MessageKind.REPLY
    (unmatched,) = [item for item in items_of(app, row_id) if item.kind == "unmatched_mail"]
    assert unmatched.status == ReviewStatus.RESOLVED
    assert form(app, second)["status"] == "active"


def test_attaching_twice_to_the_same_case_adds_nothing(app: Application) -> None:
    first, _ = two_cases_of_one_debtor(app)
    row_id = take_in(app, mail(DEBTOR, subject="Uw brief", body=DISPUTE))

    attach(app, row_id, first)
    attach(app, row_id, first)

    assert len(replies(form(app, first))) == 1
    assert [item.kind for item in items_of(app, row_id)] == ["unmatched_mail", "reply"]


def test_attaching_to_a_second_case_is_refused(app: Application) -> None:
    first, second = two_cases_of_one_debtor(app)
    row_id = take_in(app, mail(DEBTOR, subject="Uw brief", body=DISPUTE))
    attach(app, row_id, first)

    with pytest.raises(UnmatchedError, match=f"attached to case {first} already"):
        attach(app, row_id, second)

    assert replies(form(app, second)) == []
    assert message_of(app, row_id).case_id is not None


def test_unknown_reference_is_refused_and_nothing_changes(app: Application) -> None:
    two_cases_of_one_debtor(app)
    row_id = take_in(app, mail(DEBTOR, subject="Uw brief", body=DISPUTE))

    with pytest.raises(UnmatchedError, match="Case 2026-09999 was not found"):
        attach(app, row_id, "2026-09999")

    assert message_of(app, row_id).kind == MessageKind.UNMATCHED
    assert [item.status for item in items_of(app, row_id)] == [ReviewStatus.OPEN]


def test_reference_named_in_the_text_ranks_first(app: Application) -> None:
    active_case(app, email=DEBTOR)
    # The stranger names a case that does not exist yet when the mail arrives.
    row_id = take_in(
        app, mail("boekhouder@kantoor.example", subject="Vraag", body="Over dossier 2026-00002.")
    )
    named = active_case(app, debtor_name="Piet Peeters", email="piet@home.example")

    assert proposed(app, row_id) == [(named, [NAMED_IN_BODY])]


def test_business_colleague_gets_domain_cases(app: Application) -> None:
    business = {
        "debtor_name": "Brightfield Logistics",
        "email": "ap@brightfield.example",
        "kind": "enterprise",
        "enterprise_number": "0391442851",
    }
    first = active_case(app, **business)
    second = active_case(app, **business)
    active_case(app, debtor_name="Ann Smet", email="ann.smet@brightfield.example")

    row_id = take_in(app, mail("finance@brightfield.example", subject="Hello", body="Paid?"))

    by_domain = [PROPOSED_AT_INTAKE, SENDER_DOMAIN]
    assert proposed(app, row_id) == [(second, by_domain), (first, by_domain)]


def test_stranger_at_a_mail_provider_gets_no_proposal(app: Application) -> None:
    active_case(app, email="an.janssens@gmail.com")

    row_id = take_in(app, mail("iemand@gmail.com", subject="Hallo", body="Wie bent u?"))

    assert proposed(app, row_id) == []


def test_unmatched_automatic_reply_is_attached_as_one(app: Application) -> None:
    first, _ = two_cases_of_one_debtor(app)
    row_id = take_in(
        app,
        mail(DEBTOR, subject="Afwezig", body="Ik ben terug op 1 december.", Auto_Submitted="auto"),
    )
    assert message_of(app, row_id).kind == MessageKind.AUTO_REPLY

    attach(app, row_id, first)

    case = form(app, first)
    kinds = [entry["kind"] for entry in case["timeline"]]
    assert "auto_reply_received" in kinds
    assert "reply_received" not in kinds
    assert case["status"] == "active"
    assert [item.kind for item in items_of(app, row_id)] == ["unmatched_mail"]


def test_not_ours_keeps_the_message(app: Application) -> None:
    active_case(app, email=DEBTOR)
    row_id = take_in(app, mail("iemand@elders.example", subject="Offerte", body="Prijslijst?"))

    dismiss(app, row_id, note="Reclame voor een ander bedrijf")
    dismiss(app, row_id, note="nog eens")

    (item,) = items_of(app, row_id)
    assert item.status == ReviewStatus.RESOLVED
    assert item.detail == "not ours (els): Reclame voor een ander bedrijf"
    message = message_of(app, row_id)
    assert message.kind == MessageKind.UNMATCHED
    with transaction(app.factory) as session:
        parsed = stored_mail(session, app.rawstore, session.get_one(MailMessage, row_id))
    assert parsed.subject == "Offerte"


def test_attached_message_cannot_be_set_aside(app: Application) -> None:
    first, _ = two_cases_of_one_debtor(app)
    row_id = take_in(app, mail(DEBTOR, subject="Uw brief", body=DISPUTE))
    attach(app, row_id, first)

    with pytest.raises(UnmatchedError, match=f"attached to case {first}"):
        dismiss(app, row_id)


def test_unknown_message_is_refused(app: Application) -> None:
    reference = active_case(app, email=DEBTOR)

    with pytest.raises(UnmatchedError, match="Message 4242 was not found"):
        attach(app, 4242, reference)
