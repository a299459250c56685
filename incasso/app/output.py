"""Printing cases, creditors and review items for people (Rich tables) and scripts (JSON)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from incasso.review.labels import (
    event_label,
    field_label,
    reason_label,
    review_kind_label,
    status_label,
    step_label,
)
from incasso.store.models import Creditor, ReviewItem

Gettext = Callable[[str], str]


def print_json(form: Any) -> None:
    """Print ``form`` as JSON on stdout, without Rich markup or wrapping, for scripts."""
    sys.stdout.write(json.dumps(form, ensure_ascii=False, indent=2) + "\n")


def print_case_list(console: Console, forms: list[dict[str, Any]], _: Gettext) -> None:
    if not forms:
        console.print(_("No cases yet."))
        return
    table = Table(title=_("Cases"))
    for heading in (
        _("Case"),
        _("Status"),
        _("Creditor"),
        _("Debtor"),
        _("Balance"),
        _("Next step"),
        _("Due"),
    ):
        table.add_column(heading)
    for form in forms:
        table.add_row(
            form["reference"],
            status_label(form["status"], _),
            form["creditor"] or "—",
            form["debtor"] or "—",
            f"{form['balance']} {form['currency']}",
            step_label(form["next_step"], _),
            (form["next_step_due_at"] or "—")[:16].replace("T", " "),
        )
    console.print(table)


def print_case(console: Console, form: dict[str, Any], _: Gettext) -> None:
    """Print one case: header, parties, invoices with their fields, review items, timeline."""
    console.print(
        f"[bold]{_('Case')} {form['reference']}[/bold]  {status_label(form['status'], _)}  "
        f"{_('Payment reference')}: {form['structured_communication']}"
    )
    _print_parties(console, form, _)
    for invoice in form["invoices"]:
        _print_invoice(console, invoice, _)
    for item in form["review"]:
        reasons = ", ".join(reason_label(reason, _) for reason in item["reasons"])
        console.print(f"[yellow]{review_kind_label(item['kind'], _)}[/yellow]: {reasons}")
    _print_timeline(console, form["timeline"], _)


def _print_parties(console: Console, form: dict[str, Any], _: Gettext) -> None:
    creditor = form["creditor"]
    debtor = form["debtor"]
    console.print(f"{_('Creditor')}: {creditor['name'] if creditor else '—'}")
    if debtor:
        console.print(f"{_('Debtor')}: {debtor['name']} <{debtor['email'] or '—'}>")
    console.print(
        f"{_('Balance')}: {form['balance']} {form['currency']}   "
        f"{_('Next step')}: {step_label(form['next_step'], _)} "
        f"{(form['next_step_due_at'] or '')[:16].replace('T', ' ')}"
    )


def _print_invoice(console: Console, invoice: dict[str, Any], _: Gettext) -> None:
    table = Table(title=f"{_('Invoice')} {invoice['number'] or '?'}", title_justify="left")
    for heading in (_("Field"), _("Value"), _("Confidence"), _("Source")):
        table.add_column(heading)
    for name, field in invoice["fields"].items():
        table.add_row(
            field_label(name, _), field["value"], f"{field['confidence']:.2f}", field["source"]
        )
    console.print(table)


def _print_timeline(console: Console, timeline: list[dict[str, Any]], _: Gettext) -> None:
    table = Table(title=_("Timeline"), title_justify="left")
    for heading in (_("When"), _("What"), _("Message")):
        table.add_column(heading)
    for entry in timeline:
        message = entry["message"]
        described = ""
        if message:
            described = f"{message['subject'] or ''}  {entry['message_id'] or ''}".strip()
        table.add_row(
            (entry["at"] or "")[:19].replace("T", " "), event_label(entry["kind"], _), described
        )
    console.print(table)


def creditor_form(creditor: Creditor) -> dict[str, Any]:
    return {
        "code": creditor.code,
        "name": creditor.name,
        "enterprise_number": creditor.enterprise_number,
        "language": creditor.language,
        "address": creditor.address,
        "phone": creditor.phone,
        "email": creditor.email,
        "senders": [sender.pattern for sender in creditor.senders],
    }


def print_creditors(console: Console, forms: list[dict[str, Any]], _: Gettext) -> None:
    if not forms:
        console.print(_("No creditors registered yet."))
        return
    table = Table(title=_("Creditors"))
    for heading in (_("Code"), _("Name"), _("Enterprise number"), _("Language"), _("Senders")):
        table.add_column(heading)
    for form in forms:
        table.add_row(
            form["code"],
            form["name"],
            form["enterprise_number"],
            form["language"],
            ", ".join(form["senders"]),
        )
    console.print(table)


def review_form(item: ReviewItem) -> dict[str, Any]:
    message = item.mail_message
    return {
        "id": item.id,
        "kind": item.kind,
        "status": item.status,
        "reasons": list(item.reasons),
        "detail": item.detail,
        "case": item.case.reference if item.case else None,
        "message": (
            {
                "message_id": message.message_id,
                "subject": message.subject,
                "from": message.from_address,
                "sha256": message.raw_document.sha256,
            }
            if message
            else None
        ),
        "created_at": item.created_at.isoformat(),
    }


def print_review(console: Console, forms: list[dict[str, Any]], _: Gettext) -> None:
    if not forms:
        console.print(_("Nothing waits for review."))
        return
    table = Table(title=_("Waiting for review"))
    for heading in (_("Kind"), _("Case"), _("Reasons"), _("Message")):
        table.add_column(heading)
    for form in forms:
        message = form["message"]
        table.add_row(
            review_kind_label(form["kind"], _),
            form["case"] or "—",
            ", ".join(reason_label(reason, _) for reason in form["reasons"]),
            f"{message['from'] or ''}: {message['subject'] or ''}" if message else "—",
        )
    console.print(table)
