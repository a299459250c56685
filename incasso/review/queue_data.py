"""The work queue of the staff web app: what waits for a person, in sections, oldest first.

The queue has six sections:

- ``drafts``: cases that wait for a person before their ladder starts;
- ``unmatched``: mail that found no case by itself;
- ``answers``: debtors' replies. Replies read as a dispute, a payment plan, a
  payment, debt mediation, a wrong debtor, a move or death, or a promise to
  pay come first, because staff must decide on them; other replies follow;
- ``bounces``: replies that are bounces to read, and reminders that could not
  be rendered;
- ``tasks``: open staff tasks (phone call, solvency check, decision) due by
  the end of today in Brussels;
- ``failed``: failed or interrupted sends and intake problems, and any review
  kind no other section claims, so nothing open is ever hidden.

One GROUP BY query counts the review items of every section. A window query
picks the first rows of each section and one more query loads them with
their case, debtor, creditor, assignee and message; tasks take a count and a
list query. No query runs per row. The functions take a ``Session`` and
return plain data, so the page, the tests and the benchmark call the same code.

Tasks have no assignee: they show when the assignee filter is "anyone" or
"nobody" and are left out when it names a staff member.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, cast, func, not_, or_, select
from sqlalchemy.orm import Session

from incasso.cases.ladder import TaskStatus
from incasso.i18n import LOCAL_ZONE, N_, LocalizedError
from incasso.store.models import (
    Case,
    Creditor,
    Debtor,
    MailMessage,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
    StaffUser,
    Task,
)

logger = logging.getLogger(__name__)

# Rows shown per section; the heading gives the full count.
ROW_LIMIT = 50

# Values of the assignee filter besides a staff member's id.
ANYONE = "anyone"
NOBODY = "nobody"

# Reply intents that need a decision by staff; their replies come first.
DECISION_INTENTS = (
    "dispute",
    "payment_plan",
    "paid",
    "debt_mediation",
    "wrong_debtor",
    "moved_or_deceased",
    "promise_to_pay",
)
BOUNCE_REASON = "bounce_to_read"
INTENT_PREFIX = "intent:"


class Section(StrEnum):
    DRAFTS = "drafts"
    UNMATCHED = "unmatched"
    ANSWERS = "answers"
    BOUNCES = "bounces"
    TASKS = "tasks"
    FAILED = "failed"


# The sections in display order; SQL names a review item's section by its index here.
SECTIONS = tuple(Section)


class AssignmentError(LocalizedError):
    """An assignment that cannot be made; the message names the problem and what to do."""


@dataclass(frozen=True)
class QueueFilter:
    """The queue's filter: one creditor's items (or all), and who handles them.

    ``assignee`` is ANYONE, NOBODY or a staff member's id.
    """

    creditor_id: int | None = None
    assignee: int | str = ANYONE

    @property
    def shows_tasks(self) -> bool:
        """Tasks have no assignee, so a filter on a staff member leaves them out."""
        return self.assignee in (ANYONE, NOBODY)


@dataclass(frozen=True)
class QueueRow:
    """One line of a section: a review item or a task, with its case's parties."""

    section: Section
    kind: str
    since: datetime
    case_reference: str | None
    debtor: str | None
    creditor: str | None
    review_item_id: int | None = None
    task_id: int | None = None
    reasons: tuple[str, ...] = ()
    assignee_id: int | None = None
    assignee: str | None = None
    mail_message_id: int | None = None
    subject: str | None = None
    sender: str | None = None

    @property
    def intent(self) -> str | None:
        """The intent read in a reply (``dispute``, ``paid``...), if any."""
        for reason in self.reasons:
            if reason.startswith(INTENT_PREFIX):
                return reason.removeprefix(INTENT_PREFIX)
        return None

    @property
    def link(self) -> str | None:
        """The page where this row is handled."""
        if self.section == Section.DRAFTS and self.case_reference:
            return f"/drafts/{self.case_reference}"
        if self.section == Section.UNMATCHED and self.mail_message_id is not None:
            return f"/unmatched/{self.mail_message_id}"
        if self.case_reference:
            return f"/cases/{self.case_reference}"
        if self.mail_message_id is not None:
            return f"/messages/{self.mail_message_id}"
        return None


@dataclass(frozen=True)
class QueueSection:
    name: Section
    count: int
    rows: list[QueueRow]
    # True when the filter leaves the whole section out (tasks under a staff filter).
    filtered_out: bool = False

    @property
    def more(self) -> int:
        """How many items the section has beyond the rows shown."""
        return max(self.count - len(self.rows), 0)


def end_of_local_day(now: datetime) -> datetime:
    """Return the first moment of tomorrow in Brussels; tasks due before it are due today."""
    today = now.astimezone(LOCAL_ZONE).date()
    return datetime.combine(today + timedelta(days=1), time(0), tzinfo=LOCAL_ZONE)


def waiting_time(now: datetime, since: datetime) -> tuple[int, str] | None:
    """How long something waits, as (number, unit) with unit ``min``, ``h`` or ``d``.

    None when ``since`` lies in the future (a task due later today).
    """
    waited = now - since
    if waited < timedelta(0):
        return None
    minutes = int(waited.total_seconds() // 60)
    if minutes < 60:
        return minutes, "min"
    if minutes < 24 * 60:
        return minutes // 60, "h"
    return minutes // (24 * 60), "d"


def load_queue(
    session: Session, *, now: datetime, filters: QueueFilter, limit: int = ROW_LIMIT
) -> list[QueueSection]:
    """Load every section of the queue in display order, each with its count and first rows."""
    counts = review_counts(session, filters)
    rows = review_rows(session, filters, limit=limit) if counts else {}
    sections = []
    for name in Section:
        if name == Section.TASKS:
            sections.append(_task_section(session, now=now, filters=filters, limit=limit))
        else:
            sections.append(QueueSection(name, counts.get(name, 0), rows.get(name, [])))
    return sections


def review_counts(session: Session, filters: QueueFilter) -> dict[Section, int]:
    """Count the open review items per section, in one GROUP BY query."""
    items = _filtered(select(_section().label("section")).select_from(ReviewItem), filters)
    counted = items.subquery()
    query = select(counted.c.section, func.count()).group_by(counted.c.section)
    return {SECTIONS[code]: count for code, count in session.execute(query)}


def review_rows(
    session: Session, filters: QueueFilter, *, limit: int = ROW_LIMIT
) -> dict[Section, list[QueueRow]]:
    """The ``limit`` oldest open review items of each section, in two queries.

    The first numbers the items within their section with a window function
    (answers that need a decision first, then oldest first) and keeps the
    first ``limit`` of each; the second loads those items with their case,
    parties, assignee and message. Two steps, because a planner that cannot
    foresee how few items the window keeps would join every open item.
    """
    section = _section()
    answers_first = case(
        (and_(_section_conditions()[Section.ANSWERS], _needs_decision()), 0), else_=1
    )
    position = func.row_number().over(
        partition_by=section, order_by=(answers_first, ReviewItem.created_at, ReviewItem.id)
    )
    ranked = _filtered(
        select(ReviewItem.id, section.label("section"), position.label("position")), filters
    ).subquery()
    chosen = session.execute(
        select(ranked.c.section, ranked.c.position, ranked.c.id)
        .where(ranked.c.position <= limit)
        .order_by(ranked.c.section, ranked.c.position)
    ).all()
    if not chosen:
        return {}

    found = _review_details(session, [row[2] for row in chosen])
    rows: dict[Section, list[QueueRow]] = {}
    for code, _position, item_id in chosen:
        name = SECTIONS[code]
        rows.setdefault(name, []).append(_review_row(name, found[item_id]))
    return rows


def task_count(session: Session, *, now: datetime, filters: QueueFilter) -> int:
    """Count the open tasks due by the end of today."""
    query = select(func.count()).select_from(Task)
    if filters.creditor_id is not None:
        # Only a creditor filter needs the case; the join made PostgreSQL scan every case.
        query = query.join(Case, Task.case_id == Case.id)
    return session.scalar(query.where(*_due_tasks(now=now, filters=filters))) or 0


def task_rows(
    session: Session, *, now: datetime, filters: QueueFilter, limit: int = ROW_LIMIT
) -> list[QueueRow]:
    """Open tasks due by the end of today, the longest overdue first."""
    query = (
        select(Task.id, Task.kind, Task.due_at, Case.reference, Debtor.name, Creditor.name)
        .select_from(Task)
        .join(Case, Task.case_id == Case.id)
        .outerjoin(Debtor, Case.debtor_id == Debtor.id)
        .outerjoin(Creditor, Case.creditor_id == Creditor.id)
        .where(*_due_tasks(now=now, filters=filters))
        .order_by(Task.due_at, Task.id)
        .limit(limit)
    )
    return [
        QueueRow(
            section=Section.TASKS,
            kind=kind,
            since=due_at,
            case_reference=reference,
            debtor=debtor,
            creditor=creditor,
            task_id=task_id,
        )
        for task_id, kind, due_at, reference, debtor, creditor in session.execute(query)
    ]


def assign_review_item(
    session: Session,
    item_id: int,
    assignee_id: int | None,
    *,
    actor: str,
    expected: int | str | None = "",
) -> ReviewItem | None:
    """Give open review item ``item_id`` to staff member ``assignee_id``; None releases it.

    ``expected`` is the assignee the staff member saw (None for nobody); when
    someone else changed the assignment since, nothing changes and an
    AssignmentError says so. Pass "" to skip that check. Returns None when no
    item has ``item_id``.
    """
    item = session.get(ReviewItem, item_id, with_for_update=True)
    if item is None:
        return None
    if item.status != ReviewStatus.OPEN:
        raise AssignmentError(N_("This item was resolved already; there is nothing to assign."))
    if expected != "" and item.assignee_id != expected:
        raise _changed_meanwhile(item)

    assignee = None if assignee_id is None else session.get(StaffUser, assignee_id)
    if assignee_id is not None and (assignee is None or not assignee.active):
        raise AssignmentError(
            N_("Staff member {staff} does not exist or is inactive; choose one from the list."),
            staff=assignee_id,
        )
    item.assignee = assignee
    logger.info("review item %s assigned to staff %s by %s", item.id, assignee_id, actor)
    return item


def creditor_choices(session: Session) -> list[tuple[int, str]]:
    """List every creditor as (id, name), by name, for the creditor filter."""
    query = select(Creditor.id, Creditor.name).order_by(Creditor.name, Creditor.id)
    return [(creditor_id, name) for creditor_id, name in session.execute(query)]


def staff_choices(session: Session) -> list[tuple[int, str]]:
    """List every active staff member as (id, name), by name, for the assignee filter."""
    query = (
        select(StaffUser.id, StaffUser.display_name)
        .where(StaffUser.active.is_(True))
        .order_by(StaffUser.display_name, StaffUser.id)
    )
    return [(staff_id, name) for staff_id, name in session.execute(query)]


def _task_section(
    session: Session, *, now: datetime, filters: QueueFilter, limit: int
) -> QueueSection:
    if not filters.shows_tasks:
        return QueueSection(Section.TASKS, 0, [], filtered_out=True)
    count = task_count(session, now=now, filters=filters)
    rows = task_rows(session, now=now, filters=filters, limit=limit) if count else []
    return QueueSection(Section.TASKS, count, rows)


def _due_tasks(*, now: datetime, filters: QueueFilter) -> list[ColumnElement[bool]]:
    """Open tasks due before tomorrow, of the filter's creditor; the query joins Case."""
    conditions = [Task.status == TaskStatus.OPEN, Task.due_at < end_of_local_day(now)]
    if filters.creditor_id is not None:
        conditions.append(Case.creditor_id == filters.creditor_id)
    return conditions


def _filtered(query: Select[Any], filters: QueueFilter) -> Select[Any]:
    """Open review items only, of the filter's creditor and assignee."""
    query = query.where(ReviewItem.status == ReviewStatus.OPEN)
    if filters.creditor_id is not None:
        owned = select(Case.id).where(Case.creditor_id == filters.creditor_id)
        query = query.where(ReviewItem.case_id.in_(owned))
    if filters.assignee == NOBODY:
        query = query.where(ReviewItem.assignee_id.is_(None))
    elif isinstance(filters.assignee, int):
        query = query.where(ReviewItem.assignee_id == filters.assignee)
    return query


def _has_reason(code: str) -> ColumnElement[bool]:
    """Return a condition that is true when the item's JSON list of reasons contains ``code``.

    Both backends keep the list as the JSON text SQLAlchemy wrote, so a quoted
    code is found as a substring.
    """
    return cast(ReviewItem.reasons, String).like(f'%"{code}"%')


def _needs_decision() -> ColumnElement[bool]:
    return or_(*(_has_reason(INTENT_PREFIX + intent) for intent in DECISION_INTENTS))


def _section_conditions() -> dict[Section, ColumnElement[bool]]:
    """Map each review section to the condition its items meet; FAILED takes the rest."""
    bounce = _has_reason(BOUNCE_REASON)
    is_reply = ReviewItem.kind == ReviewKind.REPLY
    return {
        Section.DRAFTS: ReviewItem.kind == ReviewKind.DRAFT,
        Section.UNMATCHED: ReviewItem.kind == ReviewKind.UNMATCHED_MAIL,
        Section.ANSWERS: and_(is_reply, not_(bounce)),
        Section.BOUNCES: or_(
            and_(is_reply, bounce), ReviewItem.kind == ReviewKind.REMINDER_BLOCKED
        ),
    }


def _section() -> ColumnElement[int]:
    """The section of a review item, as SQL: its index in SECTIONS (integers sort fast)."""
    return case(
        *((condition, SECTIONS.index(name)) for name, condition in _section_conditions().items()),
        else_=SECTIONS.index(Section.FAILED),
    )


def _review_details(session: Session, ids: list[int]) -> dict[int, Any]:
    """Review items ``ids`` by id, with their case reference, parties, assignee and message."""
    query = (
        select(
            ReviewItem.id,
            ReviewItem.kind,
            ReviewItem.created_at,
            ReviewItem.reasons,
            ReviewItem.assignee_id,
            ReviewItem.mail_message_id,
            Case.reference,
            Debtor.name,
            Creditor.name,
            StaffUser.display_name,
            MailMessage.subject,
            MailMessage.from_address,
        )
        .select_from(ReviewItem)
        .outerjoin(Case, ReviewItem.case_id == Case.id)
        .outerjoin(Debtor, Case.debtor_id == Debtor.id)
        .outerjoin(Creditor, Case.creditor_id == Creditor.id)
        .outerjoin(StaffUser, ReviewItem.assignee_id == StaffUser.id)
        .outerjoin(MailMessage, ReviewItem.mail_message_id == MailMessage.id)
        .where(ReviewItem.id.in_(ids))
    )
    return {row[0]: row for row in session.execute(query)}


def _review_row(section: Section, row: Any) -> QueueRow:
    (
        item_id,
        kind,
        created_at,
        reasons,
        assignee_id,
        message_id,
        reference,
        debtor,
        creditor,
        assignee,
        subject,
        sender,
    ) = row
    return QueueRow(
        section=section,
        kind=kind,
        since=created_at,
        case_reference=reference,
        debtor=debtor,
        creditor=creditor,
        review_item_id=item_id,
        reasons=tuple(reasons or ()),
        assignee_id=assignee_id,
        assignee=assignee,
        mail_message_id=message_id,
        subject=subject,
        sender=sender,
    )


def _changed_meanwhile(item: ReviewItem) -> AssignmentError:
    if item.assignee is None:
        return AssignmentError(
            N_("Someone released this item in the meantime; look at the queue again first.")
        )
    return AssignmentError(
        N_("{name} took this item in the meantime; look at the queue again first."),
        name=item.assignee.display_name,
    )
