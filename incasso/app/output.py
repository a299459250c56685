"""Printing cases, creditors and review items for people (Rich tables) and scripts (JSON)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from incasso.cases.law import format_enterprise_number
from incasso.i18n import format_local_time, format_money
from incasso.review.labels import (
    close_label,
    event_label,
    field_label,
    hold_label,
    intent_label,
    reason_label,
    review_kind_label,
    source_label,
    status_label,
    step_label,
)
from incasso.store.models import Creditor, ReviewItem

Gettext = Callable[[str], str]


def _add_text_row(table: Table, *values: str) -> None:
    """Add a row whose cells are plain text: values from mail and invoices are never markup."""
    table.add_row(*(Text(value) for value in values))


def print_json(form: Any) -> None:
    """Print ``form`` as JSON on stdout, without Rich markup or wrapping, for scripts."""
    sys.stdout.write(json.dumps(form, ensure_ascii=False, indent=2) + "\n")


def print_case_list(
    console: Console, forms: list[dict[str, Any]], _: Gettext, language: str
) -> None:
    if not forms:
        console.print(_("No cases yet."))
        return
    table = Table(title=_("Cases"))
    table.add_column(_("Case"), no_wrap=True)
    for heading in (_("Status"), _("Creditor"), _("Debtor")):
        table.add_column(heading)
    table.add_column(_("Invoiced"), justify="right", no_wrap=True)
    table.add_column(_("Next step"))
    table.add_column(_("Due"), no_wrap=True)
    for form in forms:
        _add_text_row(
            table,
            form["reference"],
            status_label(form["status"], _),
            form["creditor"] or "—",
            form["debtor"] or "—",
            format_money(form["balance"], form["currency"], language),
            step_label(form["next_step"], _),
            format_local_time(form["next_step_due_at"]),
        )
    console.print(table)


def print_case(console: Console, form: dict[str, Any], _: Gettext, language: str) -> None:
    """Print one case: header, parties, invoices with their fields, review items, timeline."""
    header = Text(_("Case {reference}").format(reference=form["reference"]), style="bold")
    header.append("  " + status_label(form["status"], _) + "  ")
    header.append(
        _("Payment reference: {reference}").format(reference=form["structured_communication"])
    )
    console.print(header)
    _print_parties(console, form, _, language)
    for invoice in form["invoices"]:
        _print_invoice(console, invoice, _)
    for item in form["review"]:
        reasons = ", ".join(reason_label(reason, _) for reason in item["reasons"])
        line = Text(review_kind_label(item["kind"], _), style="yellow")
        line.append(": " + reasons, style="default")
        console.print(line)
    _print_timeline(console, form["timeline"], _)


def _print_parties(console: Console, form: dict[str, Any], _: Gettext, language: str) -> None:
    creditor = form["creditor"]
    debtor = form["debtor"]
    lines = [_("Creditor: {name}").format(name=creditor["name"] if creditor else "—")]
    if debtor:
        lines.append(
            _("Debtor: {name} <{email}>").format(name=debtor["name"], email=debtor["email"] or "—")
        )
    lines.append(_amounts_line(form, _, language))
    lines.extend(_state_lines(form, _))
    for line in lines:
        # Names come from invoices: print them as text, never as Rich markup.
        console.print(line, markup=False, highlight=False)


def _amounts_line(form: dict[str, Any], _: Gettext, language: str) -> str:
    ladder = form["ladder"]

    def money(amount: str) -> str:
        return format_money(amount, form["currency"], language)

    return _("Invoiced {invoiced}, with charges {claimed}, paid {paid}, open {open}.").format(
        invoiced=money(form["balance"]),
        claimed=money(ladder["claimed"]),
        paid=money(ladder["amount_paid"]),
        open=money(ladder["open"]),
    )


def _state_lines(form: dict[str, Any], _: Gettext) -> list[str]:
    """Say why a paused case waits, how a finished case ended, or what comes next."""
    ladder = form["ladder"]
    lines = []
    if form["status"] == "paused":
        reason = hold_label(ladder["hold_reason"] or "staff", _)
        if ladder["hold_until"]:
            lines.append(
                _("Paused: {reason}, until {until}.").format(
                    reason=reason, until=format_local_time(ladder["hold_until"])
                )
            )
        else:
            lines.append(_("Paused: {reason}, until staff resume it.").format(reason=reason))
    if ladder["close_reason"]:
        lines.append(
            _("Ended: {reason}, on {when}.").format(
                reason=close_label(ladder["close_reason"], _),
                when=format_local_time(ladder["closed_at"]),
            )
        )
    if form["next_step"]:
        waiting = form["status"] == "paused"
        text = _("Next step, once resumed: {step}") if waiting else _("Next step: {step} {due}")
        due = format_local_time(form["next_step_due_at"]) if form["next_step_due_at"] else ""
        lines.append(text.format(step=step_label(form["next_step"], _), due=due).strip())
    return lines


def _print_invoice(console: Console, invoice: dict[str, Any], _: Gettext) -> None:
    title = Text(_("Invoice {number}").format(number=invoice["number"] or "?"))
    table = Table(title=title, title_justify="left")
    for heading in (_("Field"), _("Value"), _("Confidence"), _("Source")):
        table.add_column(heading)
    for name, field in invoice["fields"].items():
        _add_text_row(
            table,
            field_label(name, _),
            field["value"],
            f"{field['confidence']:.2f}",
            source_label(field["source"], _),
        )
    console.print(table)


def _print_timeline(console: Console, timeline: list[dict[str, Any]], _: Gettext) -> None:
    table = Table(title=_("Timeline"), title_justify="left")
    table.add_column(_("When"), no_wrap=True)
    table.add_column(_("What"))
    table.add_column(_("Details"))
    for entry in timeline:
        _add_text_row(
            table,
            format_local_time(entry["at"], seconds=True),
            event_label(entry["kind"], _),
            _event_details(entry, _),
        )
    console.print(table)


def _event_details(entry: dict[str, Any], _: Gettext) -> str:
    """Describe an event in a few words: who, why, the note, and the mail involved."""
    detail = entry["detail"] or {}
    parts = []
    if entry["actor"] and entry["actor"] != "system":
        parts.append(entry["actor"])
    if entry["kind"] == "case_paused" and detail.get("reason"):
        parts.append(hold_label(detail["reason"], _))
    if entry["kind"] in ("case_closed", "case_handed_over") and detail.get("reason"):
        parts.append(close_label(detail["reason"], _))
    if detail.get("step") and entry["kind"].startswith("step_"):
        parts.append(step_label(detail["step"], _))
    if detail.get("intent") and detail["intent"] != "other":
        parts.append(intent_label(detail["intent"], _))
    if detail.get("until"):
        parts.append(_("until {when}").format(when=format_local_time(detail["until"])))
    if detail.get("note"):
        parts.append(f"“{detail['note']}”")
    message = entry["message"]
    if message:
        parts.append(f"{message['subject'] or ''}  {entry['message_id'] or ''}".strip())
    return " · ".join(part for part in parts if part)


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
        "fax_numbers": [fax.number for fax in creditor.fax_numbers],
    }


def print_creditors(console: Console, forms: list[dict[str, Any]], _: Gettext) -> None:
    if not forms:
        console.print(_("No creditors registered yet."))
        return
    table = Table(title=_("Creditors"))
    for heading in (_("Code"), _("Name"), _("Enterprise number"), _("Language"), _("Senders")):
        table.add_column(heading)
    for form in forms:
        _add_text_row(
            table,
            form["code"],
            form["name"],
            format_enterprise_number(form["enterprise_number"]),
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
                "filename": message.raw_document.filename,
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
    for heading in (_("No."), _("Kind"), _("Case"), _("Reasons"), _("Message")):
        table.add_column(heading)
    for form in forms:
        message = form["message"]
        _add_text_row(
            table,
            str(form["id"]),
            review_kind_label(form["kind"], _),
            form["case"] or "—",
            ", ".join(reason_label(reason, _) for reason in form["reasons"]),
            _describe_message(message),
        )
    console.print(table)


def _describe_message(message: dict[str, Any] | None) -> str:
    """Name a mail by sender and subject, an upload by its file name."""
    if message is None:
        return "—"
    if message["from"] or message["subject"]:
        return f"{message['from'] or '?'}: {message['subject'] or ''}"
    return message["filename"] or message["sha256"][:12]
