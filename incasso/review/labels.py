"""Translated labels for the codes stored in the database: statuses, steps, events, reasons.

The database keeps stable English codes; people see these labels in their
language. A code without a label is shown as it is, so a new code is never
hidden.
"""

from __future__ import annotations

from collections.abc import Callable

Gettext = Callable[[str], str]


def status_label(code: str, _: Gettext) -> str:
    labels = {
        "draft": _("draft"),
        "active": _("active"),
        "paused": _("paused"),
        "closed": _("closed"),
        "handed_over": _("handed over"),
    }
    return labels.get(code, code)


def hold_label(code: str, _: Gettext) -> str:
    """Return the label of why a paused case waits (incasso.cases.ladder.HoldReason)."""
    labels = {
        "disputed": _("disputed"),
        "promise_to_pay": _("promised to pay"),
        "payment_claimed": _("says it is paid: payment being checked"),
        "payment_plan": _("payment plan"),
        "debt_mediation": _("debt mediation"),
        "bounced": _("mail bounced"),
        "staff": _("paused by staff"),
    }
    return labels.get(code, code)


def close_label(code: str, _: Gettext) -> str:
    """Return the label of how a case ended (incasso.cases.ladder.CloseReason)."""
    labels = {
        "paid": _("paid"),
        "no_cost": _("closed at no cost"),
        "handed_over": _("handed over for legal collection"),
        "withdrawn": _("withdrawn by the creditor"),
        "rejected": _("draft rejected in review"),
        "merged": _("draft merged into another case"),
    }
    return labels.get(code, code)


def debtor_field_label(name: str, _: Gettext) -> str:
    labels = {
        "email": _("e-mail address"),
        "phone": _("phone number"),
        "address": _("postal address"),
        "kind": _("consumer or enterprise"),
        "language": _("language"),
    }
    return labels.get(name, name)


def step_label(code: str | None, _: Gettext) -> str:
    if code is None:
        return "—"
    labels = {
        "first_reminder": _("first reminder"),
        "second_reminder": _("second reminder"),
        "third_reminder": _("third reminder"),
        "sms": _("text message"),
        "phone_call": _("phone call"),
        "registered_letter": _("registered letter"),
        "solvency_check": _("solvency check"),
        "decision": _("decision: close or hand over"),
    }
    return labels.get(code, code)


def event_label(code: str, _: Gettext) -> str:
    labels = {
        "submission_received": _("submission received"),
        "duplicate_submission": _("same invoice submitted again"),
        "case_opened": _("case opened"),
        "case_activated": _("case activated"),
        "reminder_queued": _("reminder queued"),
        "reminder_sent": _("reminder sent"),
        "reminder_failed": _("reminder not delivered"),
        "reminder_blocked": _("reminder blocked"),
        "reply_received": _("reply received"),
        "bounce_received": _("bounce received"),
        "auto_reply_received": _("automatic reply received"),
        "step_performed": _("ladder step performed"),
        "step_skipped": _("ladder step skipped"),
        "step_postponed": _("ladder step postponed"),
        "step_changed": _("next step changed"),
        "policy_changed": _("ladder changed"),
        "task_created": _("task created"),
        "task_completed": _("task completed"),
        "task_cancelled": _("task cancelled"),
        "case_paused": _("case paused"),
        "case_resumed": _("case resumed"),
        "payment_recorded": _("payment recorded"),
        "case_closed": _("case closed"),
        "case_handed_over": _("case handed over"),
        "debtor_changed": _("debtor details changed"),
        "channel_changed": _("reminders go by letter: e-mail address bounced"),
        "note_added": _("note added"),
        "field_corrected": _("field corrected"),
        "draft_approved": _("draft approved"),
        "draft_rejected": _("draft rejected"),
        "draft_merged": _("draft merged into another case"),
        "invoices_merged": _("invoices of a draft added"),
        "review_resolved": _("review item handled"),
    }
    return labels.get(code, code)


def task_status_label(code: str, _: Gettext) -> str:
    labels = {"open": _("open"), "done": _("done"), "cancelled": _("cancelled")}
    return labels.get(code, code)


def outcome_label(code: str, _: Gettext) -> str:
    labels = {
        "reached": _("reached"),
        "not_reached": _("not reached"),
        "promise_to_pay": _("promised to pay"),
        "disputed": _("disputed"),
        "solvent": _("solvent"),
        "insolvent": _("insolvent"),
        "close_no_cost": _("closed at no cost"),
        "hand_over": _("handed over"),
    }
    return labels.get(code, code)


def review_kind_label(code: str, _: Gettext) -> str:
    labels = {
        "draft": _("draft to review"),
        "reply": _("reply from the debtor"),
        "unmatched_mail": _("unmatched mail"),
        "no_invoice": _("submission without invoice"),
        "processing_failed": _("processing failed"),
        "send_failed": _("send failed"),
        "send_uncertain": _("send interrupted"),
        "reminder_blocked": _("reminder blocked"),
        "too_large": _("message too large to fetch"),
        "rate_missing": _("interest rate missing"),
        "mass_bounce": _("many reminders bounced"),
    }
    return labels.get(code, code)


def field_label(code: str, _: Gettext) -> str:
    labels = {
        "invoice_number": _("invoice number"),
        "issue_date": _("invoice date"),
        "due_date": _("due date"),
        "amount_due": _("amount due"),
        "currency": _("currency"),
        "debtor_name": _("debtor name"),
        "debtor_email": _("debtor e-mail"),
        "debtor_vat": _("debtor VAT number"),
        "debtor_address": _("debtor address"),
        "debtor_phone": _("debtor phone number"),
        "payment_reference": _("payment reference"),
        "description": _("description"),
    }
    return labels.get(code, code)


def intent_label(code: str, _: Gettext) -> str:
    """Return the label of the intent read in a debtor's reply (incasso.intake.intent)."""
    labels = {
        "paid": _("says it is paid"),
        "dispute": _("dispute of the claim"),
        "promise_to_pay": _("promise to pay"),
        "payment_plan": _("request for a payment plan"),
        "wrong_debtor": _("not the debtor"),
        "debt_mediation": _("debt mediation or collective debt settlement"),
        "moved_or_deceased": _("moved or deceased"),
        "question": _("question"),
        "other": _("something else"),
    }
    return labels.get(code, code)


def matched_by_label(code: str, _: Gettext) -> str:
    """Return how a mail was linked to its case (the ``matched_by`` of incasso.intake.route)."""
    labels = {
        "reply address": _("through the reply address"),
        "bounce address": _("through the bounce address"),
        "in-reply-to": _("through the In-Reply-To header"),
        "references": _("through the References header"),
        "thread-index": _("through the Outlook conversation (Thread-Index)"),
        "subject reference": _("through the case reference in the subject"),
        "body reference": _("through the case reference in the text"),
        "structured communication": _("through the structured communication"),
        "sender address": _("through the sender's address"),
        "sender domain": _("through the sender's domain"),
        "staff": _("by a staff member"),
    }
    return labels.get(code, code)


def reason_label(code: str, _: Gettext) -> str:
    """Return the label of a reason code such as ``missing:due_date`` or ``unknown_sender``."""
    prefix, _separator, argument = code.partition(":")
    with_field = {
        "missing": _("missing: {field}"),
        "doubtful": _("doubtful: {field}"),
    }
    if prefix in with_field:
        return with_field[prefix].format(field=field_label(argument, _))

    with_argument = {
        "attachment": _("attachment unusable: {problem}"),
        "credit_note": _("credit note {number}: no case opened"),
        "nothing_due": _("invoice {number} has nothing left to pay"),
        "same_invoice_twice": _("invoice {number} came twice in this mail: read once"),
    }
    if prefix in with_argument:
        text = with_argument[prefix]
        return text.format(problem=problem_label(argument, _), number=argument)
    if prefix == "rate_missing":
        kind, _separator, start = argument.partition(":")
        return _(
            "no {kind} interest rate stored from {start}: notices use the previous rate until "
            "you add it"
        ).format(kind=kind, start=start)
    if prefix == "mass_bounce":
        bounced, _separator, sent = argument.partition(":")
        return _(
            "{bounced} of {sent} e-mails of the last day bounced, so e-mail is stopped: find the "
            "cause, then run incasso outbox resume"
        ).format(bounced=bounced, sent=sent)
    if prefix == "candidates":
        return _("possible cases: {references}").format(references=", ".join(argument.split()))
    if prefix == "intent":
        return _("reply read as: {intent}").format(intent=intent_label(argument, _))

    labels = {
        "unknown_sender": _("sender is not a registered creditor"),
        "no_case_found": _("no case or creditor found for this mail"),
        "sender_forged": _("the sender's domain says this mail was not sent by it"),
        "sender_unverified": _("the sender address could not be verified"),
        "creditor_by_fax_number": _("creditor recognized by fax number only: check the sender"),
        "too_large": _("larger than the size limit: left in the mailbox"),
        "issuer_not_creditor": _("the invoice was issued by another company than the creditor"),
        "not_yet_due": _("invoice is not overdue yet"),
        "reply_to_read": _("read the reply and decide the next step"),
        "sender_not_debtor": _("sent by someone other than the debtor: check who wrote"),
        "bounce_to_read": _("a message to the debtor bounced: find another address, then resume"),
        "mixed_currencies": _("invoices in different currencies"),
        "no_attachment": _("no attachment"),
        "no_invoice_found": _("no invoice found"),
        "processing_failed": _("processing failed"),
        "send_failed": _("send failed"),
        "send_uncertain": _("send interrupted: check whether it left"),
        "reminder_blocked": _("a mandatory mention is missing"),
        "unmatched_bounce": _("bounce that matches no case"),
        "unmatched_auto_reply": _("automatic reply that matches no case"),
    }
    return labels.get(code, code)


def problem_label(code: str, _: Gettext) -> str:
    labels = {
        "no_text_layer": _("scan without text (needs OCR)"),
        "encrypted": _("protected by a password"),
        "unreadable": _("damaged or unreadable"),
        "not_an_invoice": _("not an invoice"),
        "unsupported": _("file type not supported"),
        "too_costly": _("too slow or too large to read: a person must read it"),
    }
    return labels.get(code, code)
