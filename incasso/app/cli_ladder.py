"""Commands for staff steering the ladder of running cases, and their task list.

``incasso pause``, ``resume``, ``payment``, ``close``, ``step``, ``policy`` and
``debtor`` act on one case. ``incasso tasks`` lists the work the ladder created for
staff, and ``incasso task`` completes one item with its outcome. ``incasso creditor
policy`` changes a creditor's ladder for its new and running cases. Each
change is an event in the case's timeline naming who made it (``--by``,
default the logged-in user).
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.core import TyperCommand

from incasso.app.context import Application
from incasso.app.output import print_json
from incasso.app.settings import Settings
from incasso.cases.debtors import DebtorChange, change_debtor
from incasso.cases.drafts import UnclearValue
from incasso.cases.drafts import parse_amount as read_amount
from incasso.cases.ladder import (
    CloseReason,
    HoldReason,
    LadderStep,
    TaskStatus,
    policy_for,
)
from incasso.cases.law import DebtorKind
from incasso.cases.summary import find_case, task_form
from incasso.cases.tasks import TaskOutcome
from incasso.cases.transitions import (
    change_next_step,
    claimed_total,
    close_case,
    finish_task,
    pause_case,
    record_payment,
    resume_case,
    set_case_policy,
)
from incasso.i18n import LOCAL_ZONE, N_, LocalizedError, format_local_time, format_money
from incasso.review.labels import (
    debtor_field_label,
    outcome_label,
    step_label,
    task_status_label,
)
from incasso.store.db import transaction
from incasso.store.models import Case, Creditor, Debtor, Task

Gettext = Callable[[str], str]

TASKS_SCHEMA = "incasso.tasks/1"
STAFF_CLOSE_REASONS = (CloseReason.NO_COST, CloseReason.WITHDRAWN, CloseReason.HANDED_OVER)


class InputError(LocalizedError):
    """A command-line value that cannot be read; the message names it and the expected form."""


def add_ladder_commands(
    cli: typer.Typer,
    creditor_cli: typer.Typer,
    *,
    settings: Settings,
    _: Gettext,
    console: Console,
    application: Callable[[], Application],
    command_class: type[TyperCommand],
) -> None:
    """Add the case-steering commands to ``cli`` and ``policy`` to ``creditor_cli``."""
    reference_argument = typer.Argument(..., help=_("Case reference, e.g. 2026-00017."))
    by_option = typer.Option(
        getpass.getuser(), "--by", help=_("Who makes the change; shown in the timeline.")
    )
    note_option = typer.Option(None, "--note", help=_("A note for the timeline."))

    def act(reference: str, change: Callable[[Session, Case, datetime], str]) -> None:
        """Run ``change`` on the case in one transaction and print what it says."""
        app = application()
        try:
            with transaction(app.factory) as session:
                case = _find(session, reference)
                message = change(session, case, app.clock())
        except LocalizedError as err:
            console.print(err.translated(_), markup=False, highlight=False)
            raise typer.Exit(2) from err
        console.print(message, markup=False, highlight=False)

    @cli.command(cls=command_class, help=_("Pause the ladder of a case."))
    def pause(
        reference: str = reference_argument,
        reason: HoldReason = typer.Option(..., "--reason", help=_("Why the ladder waits.")),
        until: str | None = typer.Option(
            None,
            "--until",
            help=_("Promised payment date, YYYY-MM-DD; the ladder resumes the day after."),
        ),
        note: str | None = note_option,
        by: str = by_option,
    ) -> None:
        def change(session: Session, case: Case, now: datetime) -> str:
            end = _day_after(until) if until else None
            pause_case(session, case, reason, now=now, actor=by, until=end, note=note)
            return _("Case {reference} paused.").format(reference=case.reference)

        act(reference, change)

    @cli.command(cls=command_class, help=_("Correct the details of a case's debtor."))
    def debtor(
        reference: str = reference_argument,
        email: str | None = typer.Option(None, "--email", help=_("E-mail address.")),
        phone: str | None = typer.Option(
            None, "--phone", help=_("Mobile number for the text message, e.g. 0470 12 34 56.")
        ),
        address: str | None = typer.Option(
            None, "--address", help=_("Postal address on one line, for the registered letter.")
        ),
        kind: DebtorKind | None = typer.Option(
            None, "--kind", help=_("consumer or enterprise: decides the legal regime.")
        ),
        language: str | None = typer.Option(
            None,
            "--language",
            help=_("Language the debtor reads: nl, fr, de or en; kept for later cases too."),
        ),
        by: str = by_option,
    ) -> None:
        def change(session: Session, case: Case, now: datetime) -> str:
            details = DebtorChange(email, phone, address, kind, language)
            changed = change_debtor(session, case, details, now=now, actor=by)
            if not changed:
                return _(
                    "Case {reference}: nothing changed; the debtor already has these details."
                ).format(reference=case.reference)
            message = _("Case {reference}: changed {details}.").format(
                reference=case.reference,
                details=", ".join(debtor_field_label(name, _) for name in changed),
            )
            if case.hold_reason == HoldReason.BOUNCED:
                hint = _("Once the address is right, let the ladder go on: incasso resume {ref}.")
                message += "\n" + hint.format(ref=case.reference)
            return message

        act(reference, change)

    @cli.command(cls=command_class, help=_("Let the ladder of a paused case run again."))
    def resume(
        reference: str = reference_argument, note: str | None = note_option, by: str = by_option
    ) -> None:
        def change(session: Session, case: Case, now: datetime) -> str:
            resume_case(session, case, now=now, actor=by, why=note or "resumed by staff")
            return _("Case {reference} resumed; next step: {step}.").format(
                reference=case.reference, step=step_label(case.next_step, _)
            )

        act(reference, change)

    # A minus sign is read as the amount, not as an option, so that it gets our message.
    @cli.command(
        cls=command_class,
        help=_("Record a payment received on a case."),
        context_settings={"ignore_unknown_options": True},
    )
    def payment(
        reference: str = reference_argument,
        amount: str = typer.Argument(..., help=_("Amount received, e.g. 612,40.")),
        note: str | None = note_option,
        by: str = by_option,
    ) -> None:
        def change(session: Session, case: Case, now: datetime) -> str:
            closed = record_payment(
                session, case, parse_amount(amount), now=now, actor=by, note=note
            )
            overpaid = case.amount_paid - claimed_total(session, case)
            if closed and overpaid > 0:
                return _(
                    "Case {reference} is paid in full and closed, with {amount} more than due: "
                    "refund it or check the amount."
                ).format(
                    reference=case.reference,
                    amount=format_money(overpaid, case.currency, settings.language),
                )
            if closed:
                return _("Case {reference} is paid in full and closed.").format(
                    reference=case.reference
                )
            return _("Payment recorded on case {reference}; the ladder goes on.").format(
                reference=case.reference
            )

        act(reference, change)

    @cli.command(cls=command_class, help=_("Close a case, or hand it over for legal collection."))
    def close(
        reference: str = reference_argument,
        reason: CloseReason = typer.Option(
            ...,
            "--reason",
            help=_("no_cost, withdrawn, or handed_over (to a lawyer or bailiff)."),
        ),
        by: str = by_option,
    ) -> None:
        def change(session: Session, case: Case, now: datetime) -> str:
            if reason not in STAFF_CLOSE_REASONS:
                raise InputError(
                    N_("A case is closed as paid by recording the payment; use incasso payment.")
                )
            close_case(session, case, reason, now=now, actor=by)
            return _("Case {reference} closed.").format(reference=case.reference)

        act(reference, change)

    @cli.command(cls=command_class, help=_("Move a running case to another ladder step."))
    def step(
        reference: str = reference_argument,
        to: LadderStep = typer.Argument(..., help=_("The step to perform next.")),
        at: str | None = typer.Option(
            None,
            "--at",
            help=_("When, as YYYY-MM-DD or YYYY-MM-DD HH:MM (Brussels); now if not given."),
        ),
        by: str = by_option,
    ) -> None:
        def change(session: Session, case: Case, now: datetime) -> str:
            due = _moment(at) if at else None
            change_next_step(session, case, to, now=now, actor=by, due_at=due)
            return _("Case {reference}: next step {step}.").format(
                reference=case.reference, step=step_label(to, _)
            )

        act(reference, change)

    @cli.command(cls=command_class, help=_("Change the ladder timing of one case."))
    def policy(
        reference: str = reference_argument,
        settings_: list[str] = typer.Option(
            [],
            "--set",
            help=_(
                "A change such as second_reminder.delay_days=20, sms.enabled=false or "
                "charges.consumer_interest=true; repeat for more."
            ),
        ),
        by: str = by_option,
    ) -> None:
        def change(session: Session, case: Case, now: datetime) -> str:
            set_case_policy(session, case, parse_policy_changes(settings_), now=now, actor=by)
            return _policy_summary(case.creditor, case, _)

        act(reference, change)

    @creditor_cli.command("policy", cls=command_class, help=_("Change a creditor's ladder."))
    def creditor_policy(
        code: str = typer.Argument(..., help=_("Creditor code, e.g. ACME.")),
        settings_: list[str] = typer.Option(
            [], "--set", help=_("A change such as sms.enabled=false; repeat for more.")
        ),
    ) -> None:
        app = application()
        try:
            with transaction(app.factory) as session:
                creditor = _find_creditor(session, code)
                merged = _merge(creditor.ladder_policy, parse_policy_changes(settings_))
                policy_for(merged, None)  # raises PolicyError naming a wrong value
                creditor.ladder_policy = merged or None
                message = _policy_summary(creditor, None, _)
        except LocalizedError as err:
            console.print(err.translated(_), markup=False, highlight=False)
            raise typer.Exit(2) from err
        console.print(message, markup=False, highlight=False)

    @cli.command(cls=command_class, help=_("List the tasks the ladder created for staff."))
    def tasks(
        all_: bool = typer.Option(False, "--all", help=_("Also completed and cancelled tasks.")),
        as_json: bool = typer.Option(False, "--json", help=_("Print the JSON form.")),
    ) -> None:
        app = application()
        with transaction(app.factory) as session:
            query = select(Task).order_by(Task.due_at, Task.id)
            if not all_:
                query = query.where(Task.status == TaskStatus.OPEN)
            rows = [(task_form(task), task.case.debtor) for task in session.scalars(query)]
        if as_json:
            print_json({"schema": TASKS_SCHEMA, "tasks": [form for form, _debtor in rows]})
            return
        _print_tasks(console, rows, _)

    @cli.command(cls=command_class, help=_("Complete a task with its outcome."))
    def task(
        task_id: int = typer.Argument(..., help=_("Task number, as listed by incasso tasks.")),
        outcome: TaskOutcome = typer.Option(..., "--outcome", help=_("What came of it.")),
        until: str | None = typer.Option(
            None, "--until", help=_("For promise_to_pay: the promised date, YYYY-MM-DD.")
        ),
        note: str | None = note_option,
        by: str = by_option,
    ) -> None:
        app = application()
        try:
            with transaction(app.factory) as session:
                found = session.get(Task, task_id)
                if found is None:
                    raise InputError(N_("Task {task} does not exist."), task=task_id)
                end = _day_after(until) if until else None
                finish_task(
                    session, found, outcome, now=app.clock(), actor=by, until=end, note=note
                )
                reference = found.case.reference
        except LocalizedError as err:
            console.print(err.translated(_), markup=False, highlight=False)
            raise typer.Exit(2) from err
        console.print(
            _("Task {task} of case {reference} completed.").format(
                task=task_id, reference=reference
            )
        )


def parse_policy_changes(changes: list[str]) -> dict[str, Any]:
    """Turn ``["sms.enabled=false", "second_reminder.delay_days=20"]`` into a policy change."""
    if not changes:
        raise InputError(N_("Give at least one change with --set, e.g. sms.enabled=false."))
    result: dict[str, Any] = {}
    for change in changes:
        key, equals, text = change.partition("=")
        section_or_step, dot, name = key.strip().partition(".")
        if not equals or not dot or not name:
            raise InputError(
                N_("Change {change} is not of the form step.delay_days=N or step.enabled=false."),
                change=change,
            )
        try:
            value = json.loads(text.strip().lower())
        except json.JSONDecodeError:
            value = text.strip()
        if section_or_step == "charges":
            result.setdefault("charges", {})[name] = value
        else:
            result.setdefault("steps", {}).setdefault(section_or_step, {})[name] = value
    return result


def _merge(current: dict[str, Any] | None, change: dict[str, Any]) -> dict[str, Any]:
    merged = {section: dict(values) for section, values in (current or {}).items()}
    for name, value in change.get("charges", {}).items():
        merged.setdefault("charges", {})[name] = value
    for step, values in change.get("steps", {}).items():
        steps = merged.setdefault("steps", {})
        steps[step] = {**steps.get(step, {}), **values}
    return merged


def _policy_summary(creditor: Creditor | None, case: Case | None, _: Gettext) -> str:
    policy = policy_for(
        creditor.ladder_policy if creditor else None, case.ladder_policy if case else None
    )
    steps = [
        _("{step} after {days} days").format(step=step_label(rule.step, _), days=rule.delay_days)
        if rule.enabled
        else _("{step}: off").format(step=step_label(rule.step, _))
        for rule in policy.rules
    ]
    return _("Ladder: {steps}.").format(steps="; ".join(steps))


def _find(session: Session, reference: str) -> Case:
    case = find_case(session, reference)
    if case is None:
        raise InputError(N_("Case {reference} not found."), reference=reference)
    return case


def _find_creditor(session: Session, code: str) -> Creditor:
    creditor = session.scalar(select(Creditor).where(Creditor.code == code.strip().upper()))
    if creditor is None:
        raise InputError(N_("Creditor {code} is not registered."), code=code)
    return creditor


def parse_amount(text: str) -> Decimal:
    """Read an amount in euros as Belgians write it; raise InputError for anything unclear."""
    try:
        return read_amount(text)
    except UnclearValue as err:
        raise InputError(err.template, **err.values) from err


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as err:
        raise InputError(N_("Date {date} is not of the form YYYY-MM-DD."), date=text) from err


def _day_after(text: str) -> datetime:
    """Midnight at the end of the day ``text`` in Brussels: a promise runs through that day."""
    return datetime.combine(_day(text) + timedelta(days=1), time(0, 0), tzinfo=LOCAL_ZONE)


def _moment(text: str) -> datetime:
    cleaned = text.strip()
    if len(cleaned) == len("2026-12-04"):
        return datetime.combine(_day(cleaned), time(9, 0), tzinfo=LOCAL_ZONE)
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError as err:
        raise InputError(
            N_("Moment {moment} is not of the form YYYY-MM-DD HH:MM."), moment=text
        ) from err
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_ZONE)


def _print_tasks(
    console: Console, rows: list[tuple[dict[str, Any], Debtor | None]], _: Gettext
) -> None:
    if not rows:
        console.print(_("No open tasks."))
        return
    table = Table(title=_("Tasks"))
    for heading in (
        _("No."),
        _("Case"),
        _("Task"),
        _("From"),
        _("Debtor"),
        _("Phone"),
        _("Status"),
    ):
        table.add_column(heading)
    for form, debtor in rows:
        table.add_row(
            *(
                Text(value)
                for value in (
                    str(form["id"]),
                    form["case"],
                    step_label(form["step"], _),
                    format_local_time(form["due_at"]),
                    debtor.name if debtor else "—",
                    (debtor.phone or "—") if debtor else "—",
                    outcome_label(form["outcome"], _)
                    if form["outcome"]
                    else task_status_label(form["status"], _),
                )
            )
        )
    console.print(table)
