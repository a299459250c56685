"""The queue's data: sections, counts, order, filters, and assigning items, on both databases.

The builders at the top are shared with the browser tests of the queue page.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from incasso.app.context import Application
from incasso.cases.ladder import LadderStep
from incasso.cases.lifecycle import open_case
from incasso.cases.tasks import open_task
from incasso.review.queue_data import (
    ANYONE,
    NOBODY,
    AssignmentError,
    QueueFilter,
    QueueSection,
    Section,
    assign_review_item,
    end_of_local_day,
    load_queue,
    review_counts,
    waiting_time,
)
from incasso.store.db import read_transaction, transaction
from incasso.store.models import (
    Case,
    Channel,
    Creditor,
    Debtor,
    Direction,
    Document,
    Invoice,
    MailMessage,
    MessageKind,
    MessageStatus,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
    StaffUser,
)
from tests.review.conftest import StaffClient

NOTICE = re.compile(r'<p class="notice notice-info"[^>]*>([^<]*)</p>')
ERROR_NOTICE = re.compile(r'<p class="notice notice-error"[^>]*>([^<]*)</p>')
# The test clock's start: Monday 16 November 2026, 09:00 in Brussels.
NOW = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
_numbers = count(1)


def add_creditor(session: Session, name: str) -> Creditor:
    number = next(_numbers)
    creditor = Creditor(
        code=f"CR{number}",
        name=name,
        enterprise_number=f"{number:010d}",
        language="nl",
        address="Kerkstraat 1, 9000 Gent",
        phone="+3292000000",
    )
    session.add(creditor)
    session.flush()
    return creditor


def add_case(
    session: Session,
    debtor_name: str,
    *,
    creditor: Creditor | None = None,
    email: str | None = None,
    invoice_number: str = "F-1",
    amount: str = "120.00",
) -> Case:
    debtor = Debtor(name=debtor_name, email=email, kind="consumer", language="nl")
    case = open_case(
        session, creditor=creditor, debtor=debtor, language="nl", currency="EUR", now=NOW
    )
    session.add(
        Invoice(
            case=case,
            creditor_id=creditor.id if creditor else None,
            kind="invoice",
            number=invoice_number,
            amount_due=Decimal(amount),
            currency="EUR",
        )
    )
    session.flush()
    return case


def add_message(session: Session, subject: str, sender: str) -> MailMessage:
    digest = hashlib.sha256(f"{subject}{next(_numbers)}".encode()).hexdigest()
    document = Document(sha256=digest, size=100, content_type="message/rfc822")
    message = MailMessage(
        dedupe_key=f"in:{digest}",
        direction=Direction.INBOUND,
        channel=Channel.DROP,
        status=MessageStatus.PROCESSED,
        kind=MessageKind.UNMATCHED,
        raw_document=document,
        subject=subject,
        from_address=sender,
    )
    session.add(message)
    session.flush()
    return message


def add_item(
    session: Session,
    kind: ReviewKind,
    *,
    case: Case | None = None,
    message: MailMessage | None = None,
    reasons: Sequence[str] = (),
    waited: timedelta = timedelta(hours=1),
    assignee: StaffUser | None = None,
) -> ReviewItem:
    item = ReviewItem(
        kind=kind,
        reasons=list(reasons),
        case=case,
        mail_message=message,
        created_at=NOW - waited,
        assignee=assignee,
    )
    session.add(item)
    session.flush()
    return item


def staff_user(session: Session, username: str) -> StaffUser:
    return session.scalars(select(StaffUser).where(StaffUser.username == username)).one()


def by_name(sections: list[QueueSection]) -> dict[Section, QueueSection]:
    return {section.name: section for section in sections}


def queue(app: Application, filters: QueueFilter | None = None) -> dict[Section, QueueSection]:
    with read_transaction(app.factory) as session:
        return by_name(load_queue(session, now=NOW, filters=filters or QueueFilter()))


def kinds_of(section: QueueSection) -> list[str]:
    return [row.kind for row in section.rows]


def test_each_section_gets_its_items(app: Application) -> None:
    with transaction(app.factory) as session:
        case = add_case(session, "Jan Peeters")
        add_item(session, ReviewKind.DRAFT, case=case)
        mail = add_message(session, "Vraag over factuur", "iemand@voorbeeld.test")
        add_item(session, ReviewKind.UNMATCHED_MAIL, message=mail)
        add_item(session, ReviewKind.REPLY, case=case, reasons=["intent:dispute", "reply_to_read"])
        add_item(session, ReviewKind.REPLY, case=case, reasons=["bounce_to_read"])
        add_item(session, ReviewKind.REMINDER_BLOCKED, case=case, reasons=["reminder_blocked"])
        for kind in (ReviewKind.SEND_FAILED, ReviewKind.NO_INVOICE, ReviewKind.MASS_BOUNCE):
            add_item(session, kind, case=case if kind == ReviewKind.SEND_FAILED else None)
        open_task(session, case, LadderStep.PHONE_CALL, due_at=NOW, now=NOW)

    sections = queue(app)

    assert list(sections) == list(Section)
    assert kinds_of(sections[Section.DRAFTS]) == ["draft"]
    assert kinds_of(sections[Section.UNMATCHED]) == ["unmatched_mail"]
    assert sections[Section.UNMATCHED].rows[0].link == f"/unmatched/{mail.id}"
    assert sections[Section.UNMATCHED].rows[0].subject == "Vraag over factuur"
    assert kinds_of(sections[Section.ANSWERS]) == ["reply"]
    assert sections[Section.ANSWERS].rows[0].intent == "dispute"
    assert sorted(kinds_of(sections[Section.BOUNCES])) == ["reminder_blocked", "reply"]
    assert kinds_of(sections[Section.TASKS]) == ["phone_call"]
    assert sorted(kinds_of(sections[Section.FAILED])) == [
        "mass_bounce",
        "no_invoice",
        "send_failed",
    ]
    assert {name: section.count for name, section in sections.items()} == {
        Section.DRAFTS: 1,
        Section.UNMATCHED: 1,
        Section.ANSWERS: 1,
        Section.BOUNCES: 2,
        Section.TASKS: 1,
        Section.FAILED: 3,
    }


def test_rows_carry_parties_and_links(app: Application) -> None:
    with transaction(app.factory) as session:
        acme = add_creditor(session, "Acme Verhuur")
        case = add_case(session, "Lotte Janssens", creditor=acme)
        add_item(session, ReviewKind.DRAFT, case=case)
        add_item(session, ReviewKind.SEND_FAILED, case=case)
        orphan = add_message(session, "Mailbox vol", "postmaster@voorbeeld.test")
        add_item(session, ReviewKind.PROCESSING_FAILED, message=orphan)

    sections = queue(app)

    draft = sections[Section.DRAFTS].rows[0]
    assert (draft.case_reference, draft.debtor, draft.creditor) == (
        case.reference,
        "Lotte Janssens",
        "Acme Verhuur",
    )
    assert draft.link == f"/drafts/{case.reference}"
    links = {row.kind: row.link for row in sections[Section.FAILED].rows}
    assert links == {
        "send_failed": f"/cases/{case.reference}",
        "processing_failed": f"/messages/{orphan.id}",
    }


def test_resolved_items_are_not_in_the_queue(app: Application) -> None:
    with transaction(app.factory) as session:
        case = add_case(session, "Jan Peeters")
        add_item(session, ReviewKind.DRAFT, case=case).status = ReviewStatus.RESOLVED

    assert queue(app)[Section.DRAFTS].count == 0


def test_oldest_first_and_limited_with_the_full_count(app: Application) -> None:
    with transaction(app.factory) as session:
        for days in (2, 9, 5):
            case = add_case(session, f"Debiteur {days}")
            add_item(session, ReviewKind.DRAFT, case=case, waited=timedelta(days=days))

    with read_transaction(app.factory) as session:
        sections = by_name(load_queue(session, now=NOW, filters=QueueFilter(), limit=2))

    drafts = sections[Section.DRAFTS]
    assert drafts.count == 3
    assert [row.debtor for row in drafts.rows] == ["Debiteur 9", "Debiteur 5"]
    assert drafts.more == 1


def test_answers_needing_a_decision_come_before_other_replies(app: Application) -> None:
    with transaction(app.factory) as session:
        case = add_case(session, "Jan Peeters")
        add_item(
            session,
            ReviewKind.REPLY,
            case=case,
            reasons=["intent:question"],
            waited=timedelta(days=6),
        )
        add_item(
            session, ReviewKind.REPLY, case=case, reasons=["intent:paid"], waited=timedelta(days=1)
        )
        add_item(
            session,
            ReviewKind.REPLY,
            case=case,
            reasons=["intent:payment_plan"],
            waited=timedelta(days=3),
        )
        add_item(
            session,
            ReviewKind.REPLY,
            case=case,
            reasons=["reply_to_read"],
            waited=timedelta(days=8),
        )

    answers = queue(app)[Section.ANSWERS]

    assert [row.intent for row in answers.rows] == ["payment_plan", "paid", None, "question"]


def test_tasks_due_by_brussels_midnight(app: Application) -> None:
    end = end_of_local_day(NOW)
    assert end == datetime(2026, 11, 16, 23, 0, tzinfo=UTC)  # midnight in Brussels (UTC+1)
    with transaction(app.factory) as session:
        overdue = add_case(session, "Te laat")
        tonight = add_case(session, "Vanavond")
        tomorrow = add_case(session, "Morgen")
        open_task(session, overdue, LadderStep.DECISION, due_at=NOW - timedelta(days=2), now=NOW)
        open_task(
            session, tonight, LadderStep.PHONE_CALL, due_at=end - timedelta(minutes=1), now=NOW
        )
        open_task(session, tomorrow, LadderStep.PHONE_CALL, due_at=end, now=NOW)
        done = open_task(session, tomorrow, LadderStep.SOLVENCY_CHECK, due_at=NOW, now=NOW)
        assert done is not None
        done.status = "done"

    tasks = queue(app)[Section.TASKS]

    assert [row.debtor for row in tasks.rows] == ["Te laat", "Vanavond"]
    assert tasks.count == 2
    assert tasks.rows[0].link == f"/cases/{overdue.reference}"


def test_filter_by_creditor(app: Application) -> None:
    with transaction(app.factory) as session:
        acme = add_creditor(session, "Acme Verhuur")
        other = add_creditor(session, "Bakkerij Peeters")
        ours = add_case(session, "Klant van Acme", creditor=acme)
        theirs = add_case(session, "Klant van de bakker", creditor=other)
        for case in (ours, theirs):
            add_item(session, ReviewKind.DRAFT, case=case)
            open_task(session, case, LadderStep.PHONE_CALL, due_at=NOW, now=NOW)
        add_item(
            session,
            ReviewKind.UNMATCHED_MAIL,
            message=add_message(session, "Vraag", "iemand@voorbeeld.test"),
        )

    sections = queue(app, QueueFilter(creditor_id=acme.id))

    assert [row.debtor for row in sections[Section.DRAFTS].rows] == ["Klant van Acme"]
    assert [row.debtor for row in sections[Section.TASKS].rows] == ["Klant van Acme"]
    assert sections[Section.DRAFTS].count == 1
    assert sections[Section.UNMATCHED].count == 0  # mail without a case belongs to no creditor


def test_filter_by_assignee(app: Application, staff_accounts: None) -> None:
    with transaction(app.factory) as session:
        els, marc = staff_user(session, "els"), staff_user(session, "marc")
        case = add_case(session, "Jan Peeters")
        add_item(session, ReviewKind.DRAFT, case=case, assignee=els)
        add_item(session, ReviewKind.SEND_FAILED, case=case, assignee=marc)
        add_item(session, ReviewKind.REPLY, case=case, reasons=["intent:dispute"])
        open_task(session, case, LadderStep.PHONE_CALL, due_at=NOW, now=NOW)

    def kinds(assignee: int | str) -> list[str]:
        sections = queue(app, QueueFilter(assignee=assignee))
        return sorted(kind for section in sections.values() for kind in kinds_of(section))

    assert kinds(els.id) == ["draft"]
    assert kinds(marc.id) == ["send_failed"]
    assert kinds(NOBODY) == ["phone_call", "reply"]
    assert kinds(ANYONE) == ["draft", "phone_call", "reply", "send_failed"]
    tasks = queue(app, QueueFilter(assignee=els.id))[Section.TASKS]
    assert tasks.filtered_out and tasks.count == 0
    rows = queue(app)[Section.DRAFTS].rows
    assert (rows[0].assignee_id, rows[0].assignee) == (els.id, "Els Claes")


def test_counts_per_section(app: Application) -> None:
    with transaction(app.factory) as session:
        case = add_case(session, "Jan Peeters")
        for _number in range(3):
            add_item(session, ReviewKind.REPLY, case=case, reasons=["bounce_to_read"])
        add_item(session, ReviewKind.TOO_LARGE)

    with read_transaction(app.factory) as session:
        counts = review_counts(session, QueueFilter())

    assert counts == {Section.BOUNCES: 3, Section.FAILED: 1}


def count_queries(app: Application) -> int:
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(app.engine, "before_cursor_execute", record)
    try:
        queue(app)
    finally:
        event.remove(app.engine, "before_cursor_execute", record)
    return len(statements)


def test_query_count_independent_of_rows(app: Application, staff_accounts: None) -> None:
    with transaction(app.factory) as session:
        case = add_case(session, "Jan Peeters", creditor=add_creditor(session, "Acme Verhuur"))
        add_item(session, ReviewKind.DRAFT, case=case, assignee=staff_user(session, "els"))
        open_task(session, case, LadderStep.PHONE_CALL, due_at=NOW, now=NOW)
    few = count_queries(app)

    with transaction(app.factory) as session:
        els = staff_user(session, "els")
        for number in range(30):
            other = add_case(
                session, f"Debiteur {number}", creditor=add_creditor(session, f"C{number}")
            )
            for kind in (ReviewKind.DRAFT, ReviewKind.REPLY, ReviewKind.SEND_FAILED):
                add_item(session, kind, case=other, assignee=els, reasons=["intent:paid"])
            open_task(session, other, LadderStep.PHONE_CALL, due_at=NOW, now=NOW)
    many = count_queries(app)

    assert many == few
    assert few <= 6


def test_waiting_time_in_minutes_hours_and_days() -> None:
    assert waiting_time(NOW, NOW - timedelta(minutes=7)) == (7, "min")
    assert waiting_time(NOW, NOW - timedelta(hours=5, minutes=59)) == (5, "h")
    assert waiting_time(NOW, NOW - timedelta(days=3, hours=23)) == (3, "d")
    assert waiting_time(NOW, NOW + timedelta(hours=2)) is None


def test_assign_and_release(app: Application, staff_accounts: None) -> None:
    with transaction(app.factory) as session:
        marc = staff_user(session, "marc")
        item = add_item(session, ReviewKind.DRAFT, case=add_case(session, "Jan Peeters"))

    with transaction(app.factory) as session:
        assign_review_item(session, item.id, marc.id, actor="els", expected=None)
    with transaction(app.factory) as session:
        assert session.get_one(ReviewItem, item.id).assignee_id == marc.id
        assign_review_item(session, item.id, None, actor="marc", expected=marc.id)
    with read_transaction(app.factory) as session:
        assert session.get_one(ReviewItem, item.id).assignee_id is None


def test_assignment_rejects_stale_or_resolved(app: Application, staff_accounts: None) -> None:
    with transaction(app.factory) as session:
        els, marc = staff_user(session, "els"), staff_user(session, "marc")
        item = add_item(
            session, ReviewKind.DRAFT, case=add_case(session, "Jan Peeters"), assignee=marc
        )
        resolved = add_item(session, ReviewKind.DRAFT)
        resolved.status = ReviewStatus.RESOLVED

    with transaction(app.factory) as session, pytest.raises(AssignmentError) as stale:
        assign_review_item(session, item.id, els.id, actor="els", expected=None)
    assert "Marc Dupont took this item in the meantime" in str(stale.value)
    with transaction(app.factory) as session, pytest.raises(AssignmentError, match="resolved"):
        assign_review_item(session, resolved.id, els.id, actor="els")
    with transaction(app.factory) as session:
        assert assign_review_item(session, 999_999, els.id, actor="els") is None
        assert session.get_one(ReviewItem, item.id).assignee_id == marc.id


def test_take_and_release_through_the_web(app: Application, client: StaffClient) -> None:
    with transaction(app.factory) as session:
        els = staff_user(session, "els")
        item = add_item(session, ReviewKind.DRAFT, case=add_case(session, "Jan Peeters"))

    taken = client.post_form(
        f"/review-items/{item.id}/assign",
        {"assignee": str(els.id), "current": "nobody", "back": "/?assignee=me"},
    )

    assert taken.status_code == 303
    assert taken.headers["location"] == "/?assignee=me"
    with read_transaction(app.factory) as session:
        assert session.get_one(ReviewItem, item.id).assignee_id == els.id
    page = client.get("/?assignee=me").text
    assert f'data-item="{item.id}"' in page
    assert '<span class="assignee">Els Claes</span>' in page
    assert len(NOTICE.findall(page)) == 1  # "assigned to Els Claes", shown once

    released = client.post_form(
        f"/review-items/{item.id}/assign", {"assignee": "", "current": str(els.id)}
    )

    assert released.status_code == 303
    with read_transaction(app.factory) as session:
        assert session.get_one(ReviewItem, item.id).assignee_id is None
    assert f'data-item="{item.id}"' in client.get("/?assignee=nobody").text


def test_assignment_without_csrf_token_is_refused(app: Application, client: StaffClient) -> None:
    with transaction(app.factory) as session:
        els = staff_user(session, "els")
        item = add_item(session, ReviewKind.DRAFT, case=add_case(session, "Jan Peeters"))

    response = client.post(
        f"/review-items/{item.id}/assign", data={"assignee": str(els.id)}, follow_redirects=False
    )

    assert response.status_code == 403
    with read_transaction(app.factory) as session:
        assert session.get_one(ReviewItem, item.id).assignee_id is None


def test_assigning_an_unknown_item_is_not_found(client: StaffClient) -> None:
    response = client.post_form("/review-items/424242/assign", {"assignee": ""})

    assert response.status_code == 404


def test_stale_take_names_the_assignee(app: Application, client: StaffClient) -> None:
    with transaction(app.factory) as session:
        els, marc = staff_user(session, "els"), staff_user(session, "marc")
        item = add_item(
            session, ReviewKind.DRAFT, case=add_case(session, "Jan Peeters"), assignee=marc
        )

    response = client.post_form(
        f"/review-items/{item.id}/assign", {"assignee": str(els.id), "current": "nobody"}
    )

    assert response.status_code == 303
    with read_transaction(app.factory) as session:
        assert session.get_one(ReviewItem, item.id).assignee_id == marc.id
    (notice,) = ERROR_NOTICE.findall(client.get("/").text)
    assert "Marc Dupont" in notice


def test_queue_page_shows_every_section_with_its_count(
    app: Application, client: StaffClient
) -> None:
    with transaction(app.factory) as session:
        case = add_case(session, "Jan <b>Peeters</b>")
        add_item(session, ReviewKind.DRAFT, case=case)
        add_item(session, ReviewKind.DRAFT, case=case)
        add_item(session, ReviewKind.RATE_MISSING, reasons=["rate_missing:b2b:2027-01-01"])

    page = client.get("/")

    assert page.status_code == 200
    for section, expected in (("drafts", 2), ("unmatched", 0), ("tasks", 0), ("failed", 1)):
        assert f'id="{section}-heading"' in page.text
        assert f'data-count="{expected}"' in page.text.split(f'id="{section}-heading"')[1][:300]
    assert "Jan &lt;b&gt;Peeters&lt;/b&gt;" in page.text
    assert f'href="/drafts/{case.reference}"' in page.text


def test_queue_needs_a_signed_in_staff_member(anonymous: StaffClient) -> None:
    response = anonymous.get("/", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")


def test_queue_ignores_filters_it_cannot_read(client: StaffClient) -> None:
    response = client.get("/?creditor=%C2%B2&assignee=everyone")

    assert response.status_code == 200
    assert '<option value="anyone" selected>' in response.text
