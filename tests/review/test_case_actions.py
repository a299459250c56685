"""The case page's actions through the Starlette test client: each one changes the case and
writes its event, and a rejected one changes nothing and shows why."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from incasso.app.context import Application
from incasso.cases.ladder import LadderStep
from incasso.cases.lifecycle import EventKind, open_case, record_event
from incasso.cases.tasks import open_task
from incasso.i18n import translations
from incasso.review.labels import matched_by_label
from incasso.store.db import transaction
from incasso.store.models import (
    Case,
    Debtor,
    Document,
    Event,
    MailMessage,
    ReviewItem,
    Task,
)
from tests.builders import active_case
from tests.review.conftest import StaffClient


def case_row(app: Application, reference: str) -> Case:
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        session.expunge(case)
        return case


def event_kinds(app: Application, reference: str) -> list[str]:
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        events = session.scalars(select(Event).where(Event.case_id == case.id).order_by(Event.id))
        return [event.kind for event in events]


def last_event(app: Application, reference: str) -> Event:
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        event = session.scalars(
            select(Event).where(Event.case_id == case.id).order_by(Event.id.desc()).limit(1)
        ).one()
        session.expunge(event)
        return event


def add_task(app: Application, reference: str, step: LadderStep) -> int:
    now = app.clock()
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        task = open_task(session, case, step, due_at=now, now=now)
        assert task is not None
        return task.id


def notices(client: StaffClient, reference: str) -> str:
    """The text of the case page's notices after an action."""
    page = client.get(f"/cases/{reference}")
    assert page.status_code == 200
    found = [
        html.unescape(part.split(">", 1)[1].split("</p>", 1)[0])
        for part in page.text.split('<p class="notice notice-')[1:]
    ]
    return "\n".join(found)


def test_case_page_shows_the_case(app: Application, client: StaffClient) -> None:
    reference = active_case(app, debtor_name="Lotte Verbeke", amount=Decimal("184.50"))

    page = client.get(f"/cases/{reference}")

    assert page.status_code == 200
    assert "Lotte Verbeke" in page.text
    assert f"F-{reference}" in page.text
    assert "€\u00a0184,50" in page.text
    assert 'data-status="active"' in page.text
    assert 'id="hand-over-form"' in page.text  # els is an admin


def test_ladder_after_a_bounce_shows_letters(app: Application, client: StaffClient) -> None:
    reference = active_case(app, debtor_name="Lotte Verbeke", amount=Decimal("184.50"))
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        assert case.debtor is not None
        case.debtor.address = "Kerkstraat 1, 9000 Gent"
        case.debtor.email_failed_at = app.clock()

    page = client.get(f"/cases/{reference}").text

    gettext = translations("nl").gettext
    next_step = page.split('id="next-step"')[1].split("</li>")[0]
    assert gettext("letter by post") in next_step
    assert gettext("e-mail") not in next_step


def test_case_page_unknown_reference_404(client: StaffClient) -> None:
    assert client.get("/cases/2026-99999").status_code == 404
    assert client.post_form("/cases/2026-99999/notes", {"text": "x"}).status_code == 404


def test_signed_out_staff_are_sent_to_sign_in(app: Application, anonymous: StaffClient) -> None:
    reference = active_case(app)

    response = anonymous.get(f"/cases/{reference}", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=")
    assert reference in response.headers["location"]


def test_post_without_csrf_token_rejected(app: Application, client: StaffClient) -> None:
    reference = active_case(app)

    response = client.post(
        f"/cases/{reference}/pause", data={"reason": "disputed"}, follow_redirects=False
    )

    assert response.status_code == 403
    assert case_row(app, reference).status == "active"


def test_pause_with_reason_and_note(app: Application, client: StaffClient) -> None:
    reference = active_case(app)

    response = client.post_form(
        f"/cases/{reference}/pause", {"reason": "disputed", "note": "Betwist de levering"}
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/cases/{reference}"
    case = case_row(app, reference)
    assert (case.status, case.hold_reason) == ("paused", "disputed")
    event = last_event(app, reference)
    assert event.kind == "case_paused"
    assert event.actor == "els"
    assert event.detail["note"] == "Betwist de levering"
    assert f"Dossier {reference} gepauzeerd." in notices(client, reference)


def test_promise_to_pay_until_a_day(app: Application, client: StaffClient) -> None:
    reference = active_case(app)

    client.post_form(
        f"/cases/{reference}/pause", {"reason": "promise_to_pay", "until": "2026-11-30"}
    )

    case = case_row(app, reference)
    assert case.hold_reason == "promise_to_pay"
    # The promise runs through 30 November in Brussels: the pause ends at midnight after it.
    assert case.hold_until == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    hold = client.get(f"/cases/{reference}").text.split('id="hold"')[1].split("</span>")[0]
    assert "tot en met 2026-11-30" in hold


def test_belgian_enterprise_number_is_shown_with_dots(
    app: Application, client: StaffClient
) -> None:
    reference = active_case(app)
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        assert case.debtor is not None
        case.debtor.kind = "enterprise"
        case.debtor.enterprise_number = "0643120886"

    assert "0643.120.886" in client.get(f"/cases/{reference}").text


def test_promise_to_pay_without_a_date_changes_nothing(
    app: Application, client: StaffClient
) -> None:
    reference = active_case(app)
    before = event_kinds(app, reference)

    client.post_form(f"/cases/{reference}/pause", {"reason": "promise_to_pay"})

    assert case_row(app, reference).status == "active"
    assert event_kinds(app, reference) == before
    # The reason is named in the staff language inside the error.
    assert "belooft te betalen" in notices(client, reference)


def test_resume_a_paused_case(app: Application, client: StaffClient) -> None:
    reference = active_case(app)
    client.post_form(f"/cases/{reference}/pause", {"reason": "staff"})

    client.post_form(f"/cases/{reference}/resume", {"note": "Klant belde terug"})

    case = case_row(app, reference)
    assert (case.status, case.hold_reason) == ("active", None)
    event = last_event(app, reference)
    assert (event.kind, event.actor, event.detail["why"]) == (
        "case_resumed",
        "els",
        "Klant belde terug",
    )


def test_resume_active_case_rejected(app: Application, client: StaffClient) -> None:
    reference = active_case(app)

    client.post_form(f"/cases/{reference}/resume")

    assert event_kinds(app, reference) == ["case_activated"]
    assert f"Dossier {reference} is actief, niet gepauzeerd" in notices(client, reference)


def test_change_the_next_step(app: Application, client: StaffClient) -> None:
    reference = active_case(app)

    client.post_form(f"/cases/{reference}/next-step", {"step": "sms", "when": "2026-11-20T10:30"})

    case = case_row(app, reference)
    assert case.next_step == "sms"
    # 10:30 in Brussels is 09:30 UTC in November.
    assert case.next_step_due_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    event = last_event(app, reference)
    assert (event.kind, event.detail["from"], event.detail["to"]) == (
        "step_changed",
        "first_reminder",
        "sms",
    )


def test_add_a_note(app: Application, client: StaffClient) -> None:
    reference = active_case(app)

    client.post_form(f"/cases/{reference}/notes", {"text": "  Schuldenaar vraagt kopie  "})

    event = last_event(app, reference)
    assert (event.kind, event.actor, event.detail) == (
        "note_added",
        "els",
        {"note": "Schuldenaar vraagt kopie"},
    )
    assert "Schuldenaar vraagt kopie" in client.get(f"/cases/{reference}").text


def test_empty_note_rejected(app: Application, client: StaffClient) -> None:
    reference = active_case(app)

    client.post_form(f"/cases/{reference}/notes", {"text": "   "})

    assert event_kinds(app, reference) == ["case_activated"]
    assert reference in notices(client, reference)


def test_record_a_payment(app: Application, client: StaffClient) -> None:
    reference = active_case(app, amount=Decimal("250.00"))

    client.post_form(f"/cases/{reference}/payments", {"amount": "100,50"})

    case = case_row(app, reference)
    assert case.amount_paid == Decimal("100.50")
    assert case.status == "active"
    event = last_event(app, reference)
    assert (event.kind, event.actor, event.detail["amount"]) == (
        "payment_recorded",
        "els",
        "100.50",
    )
    assert event.detail["outstanding"] == "149.50"


def test_unclear_amount_rejected_in_staff_language(app: Application, client: StaffClient) -> None:
    reference = active_case(app)

    response = client.post_form(f"/cases/{reference}/payments", {"amount": "1.245"})

    assert response.status_code == 303
    assert case_row(app, reference).amount_paid == Decimal("0.00")
    assert event_kinds(app, reference) == ["case_activated"]
    text = notices(client, reference)
    assert "Bedrag 1.245 is onduidelijk" in text


def test_mark_paid_closes_the_case_as_paid(app: Application, client: StaffClient) -> None:
    reference = active_case(app, amount=Decimal("250.00"))
    client.post_form(f"/cases/{reference}/payments", {"amount": "50"})

    client.post_form(f"/cases/{reference}/mark-paid")

    case = case_row(app, reference)
    assert (case.status, case.close_reason) == ("closed", "paid")
    assert case.amount_paid == Decimal("250.00")
    assert event_kinds(app, reference)[-2:] == ["payment_recorded", "case_closed"]
    assert last_event(app, reference).actor == "els"


def test_close_at_no_cost(app: Application, client: StaffClient) -> None:
    reference = active_case(app)

    client.post_form(f"/cases/{reference}/close", {"reason": "no_cost"})

    case = case_row(app, reference)
    assert (case.status, case.close_reason) == ("closed", "no_cost")
    event = last_event(app, reference)
    assert (event.kind, event.detail) == ("case_closed", {"reason": "no_cost"})


def test_close_as_paid_is_not_a_choice(app: Application, client: StaffClient) -> None:
    reference = active_case(app)

    client.post_form(f"/cases/{reference}/close", {"reason": "paid"})

    assert case_row(app, reference).status == "active"
    assert event_kinds(app, reference) == ["case_activated"]


def test_hand_over_is_for_admins_only(app: Application, anonymous: StaffClient) -> None:
    reference = active_case(app)
    assert anonymous.sign_in("marc").status_code == 303

    page = anonymous.get(f"/cases/{reference}")
    rejected = anonymous.post_form(f"/cases/{reference}/hand-over")

    assert 'id="hand-over-form"' not in page.text
    assert rejected.status_code == 403
    assert case_row(app, reference).status == "active"


def test_hand_over_by_admin(app: Application, client: StaffClient) -> None:
    reference = active_case(app)

    client.post_form(f"/cases/{reference}/hand-over")

    case = case_row(app, reference)
    assert (case.status, case.close_reason) == ("handed_over", "handed_over")
    event = last_event(app, reference)
    assert (event.kind, event.actor) == ("case_handed_over", "els")


def test_complete_a_phone_task(app: Application, client: StaffClient) -> None:
    reference = active_case(app)
    task_id = add_task(app, reference, LadderStep.PHONE_CALL)

    client.post_form(
        f"/cases/{reference}/tasks/{task_id}/complete",
        {"outcome": "reached", "note": "Betaalt deze week"},
    )

    with transaction(app.factory) as session:
        task = session.get_one(Task, task_id)
        assert (task.status, task.outcome, task.completed_by) == ("done", "reached", "els")
    event = last_event(app, reference)
    assert (event.kind, event.detail["outcome"]) == ("task_completed", "reached")


def test_phone_promise_pauses_until_next_day(app: Application, client: StaffClient) -> None:
    reference = active_case(app)
    task_id = add_task(app, reference, LadderStep.PHONE_CALL)
    promised = (app.clock() + timedelta(days=5)).date().isoformat()

    client.post_form(
        f"/cases/{reference}/tasks/{task_id}/complete",
        {"outcome": "promise_to_pay", "until": promised},
    )

    case = case_row(app, reference)
    assert (case.status, case.hold_reason) == ("paused", "promise_to_pay")


def test_invalid_task_outcome_changes_nothing(app: Application, client: StaffClient) -> None:
    reference = active_case(app)
    task_id = add_task(app, reference, LadderStep.PHONE_CALL)

    client.post_form(f"/cases/{reference}/tasks/{task_id}/complete", {"outcome": "solvent"})

    with transaction(app.factory) as session:
        assert session.get_one(Task, task_id).status == "open"
    assert "solvent" in notices(client, reference)


def test_task_of_other_case_not_found(app: Application, client: StaffClient) -> None:
    reference = active_case(app)
    other = active_case(app, debtor_name="Pieter Claes")
    task_id = add_task(app, other, LadderStep.PHONE_CALL)

    response = client.post_form(
        f"/cases/{reference}/tasks/{task_id}/complete", {"outcome": "reached"}
    )

    assert response.status_code == 404


def test_only_an_admin_decides_to_hand_over(app: Application, anonymous: StaffClient) -> None:
    reference = active_case(app)
    task_id = add_task(app, reference, LadderStep.DECISION)
    anonymous.sign_in("marc")

    page = anonymous.get(f"/cases/{reference}")
    rejected = anonymous.post_form(
        f"/cases/{reference}/tasks/{task_id}/complete", {"outcome": "hand_over"}
    )

    assert 'value="close_no_cost"' in page.text
    assert 'value="hand_over"' not in page.text
    assert rejected.status_code == 403
    assert case_row(app, reference).status == "active"


def test_case_page_of_a_draft(app: Application, client: StaffClient) -> None:
    now = app.clock()
    with transaction(app.factory) as session:
        debtor = Debtor(name="Wim Maes", email="wim@maes.example", kind="consumer", language="nl")
        case = open_case(
            session, creditor=None, debtor=debtor, language="nl", currency="EUR", now=now
        )
        reference = case.reference

    page = client.get(f"/cases/{reference}")

    assert page.status_code == 200
    assert 'data-status="draft"' in page.text
    assert 'id="next-step" data-step="first_reminder"' in page.text
    assert 'id="pause-form"' not in page.text


def test_case_page_shows_a_reply_and_its_review(app: Application, client: StaffClient) -> None:
    reference = active_case(app)
    now = app.clock()
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        document = Document(sha256="ab" * 32, size=120, content_type="message/rfc822")
        reply = MailMessage(
            dedupe_key="in:reply-1",
            direction="in",
            channel="smtp",
            status="processed",
            kind="reply",
            raw_document=document,
            case=case,
            subject="Re: herinnering",
            from_address="an.janssens@home.example",
            to_addresses="dossiers@incasso.test",
        )
        record_event(
            session,
            case,
            EventKind.REPLY_RECEIVED,
            at=now,
            message=reply,
            detail={"matched_by": "in-reply-to", "intent": "dispute"},
        )
        session.add(ReviewItem(kind="reply", reasons=["intent:dispute"], case=case))
        session.flush()
        message_id = reply.id

    page = client.get(f"/cases/{reference}").text

    assert f'<a href="/messages/{message_id}">Re: herinnering</a>' in page
    how = matched_by_label("in-reply-to", translations("nl").gettext)
    assert html.escape(how, quote=False) in page
    assert "betwisting van de vordering" in page
    assert 'id="case-reviews"' in page
