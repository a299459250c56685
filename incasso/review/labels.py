"""Translated labels for the codes stored in the database: statuses, steps, events, reasons.

The database keeps stable English codes; people see these labels in their
language. A code without a label is shown as it is, so a new code is never
hidden.
"""

from __future__ import annotations

import ast
import re
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


# ---------------------------------------------------------------------------
# Where an extracted field was read (InvoiceField.source)
#
# Intake stores each source in English, as "<file>: <place>", for logs and JSON.
# Staff corrections store "staff" (incasso.cases.drafts.STAFF_SOURCE). The
# extractors in incasso.intake.extract write the places. Each pattern below
# matches one form of place, and its key names the sentence it is shown as.


def _quoted(name: str) -> str:
    """Return the pattern of a text the extractors wrote with ``!r``, in either quote."""
    return rf"(?P<{name}_quote>['\"])(?P<{name}>.*)(?P={name}_quote)"


# The place in the document: the page of a PDF or scan, a mail line, an XML element, a cell.
_PLACE_FORMS = (
    ("pdf_page", re.compile(r"pdf page (?P<page>\d+), (?P<where>.+)", re.DOTALL)),
    ("scan_page", re.compile(r"ocr page (?P<page>\d+), (?P<where>.+)", re.DOTALL)),
    ("mail_line", re.compile(r"mail body line (?P<line>\d+), (?P<where>.+)", re.DOTALL)),
    ("mail_line_only", re.compile(r"mail body line (?P<line>\d+)")),
    ("ubl_term", re.compile(r"ubl (?P<path>.+?), issue date plus (?P<days>\d+) days", re.DOTALL)),
    ("ubl", re.compile(r"ubl (?P<path>.+)", re.DOTALL)),
    ("cii_term", re.compile(r"cii (?P<path>.+?), issue date plus (?P<days>\d+) days", re.DOTALL)),
    ("cii", re.compile(r"cii (?P<path>.+)", re.DOTALL)),
    (
        "sheet",
        re.compile(
            rf"sheet {_quoted('sheet')} row (?P<row>\d+), column {_quoted('column')}", re.DOTALL
        ),
    ),
    ("csv", re.compile(rf"CSV row (?P<row>\d+), column {_quoted('column')}", re.DOTALL)),
)

# Findings: the ways a value is found on a PDF or scanned page (incasso.intake.extract.pairing and
# customer_block). Labels and captions are quoted with plain single quotes, as printed.
_ON_PAGE_FORMS = (
    ("label", re.compile(r"label '(?P<label>.*)'", re.DOTALL)),
    ("below_label", re.compile(r"below label '(?P<label>.*)'", re.DOTALL)),
    ("label_date", re.compile(r"label '(?P<label>.*)', date after the number", re.DOTALL)),
    (
        "below_label_date",
        re.compile(r"below label '(?P<label>.*)', date after the number", re.DOTALL),
    ),
    ("customer_block", re.compile(r"customer block under '(?P<caption>.*)'", re.DOTALL)),
    ("outside_customer_block", re.compile(r"text pattern outside the customer block")),
    ("structured_communication", re.compile(r"structured communication pattern")),
    ("currency_sign", re.compile(r"currency sign or code")),
    ("payment_term", re.compile(r"issue date plus payment term of (?P<days>\d+) days")),
)

# Findings in a claim typed in the mail (incasso.intake.extract.body_claim
# and body_debtor). Quoted texts are Python reprs.
_IN_MAIL_FORMS = (
    ("number_in", re.compile(rf"invoice number in {_quoted('text')}", re.DOTALL)),
    ("label", re.compile(rf"label {_quoted('label')}", re.DOTALL)),
    ("after_number", re.compile(rf"{_quoted('word')} after the invoice number", re.DOTALL)),
    ("only_amount", re.compile(r"the only amount of the claim, without a label")),
    ("unlabeled_date", re.compile(r"unlabeled date in the claim")),
    ("payment_term", re.compile(r"issue date plus a payment term of (?P<days>\d+) days")),
    ("currency_in_claim", re.compile(r"currency in the claim")),
    ("only_email", re.compile(r"the only e-mail address in the claim")),
    ("name_after", re.compile(rf"name after {_quoted('word')}", re.DOTALL)),
    ("after_caption", re.compile(rf"after {_quoted('caption')}", re.DOTALL)),
)


def source_label(source: str, _: Gettext) -> str:
    """Return where a field was read (``InvoiceField.source``) in the reader's language.

    "f.pdf: pdf page 1, label 'Factuurnummer'" becomes "f.pdf: pdf-pagina 1, label
    ‘Factuurnummer’" in Dutch. The file name, page and line numbers, labels, XML
    paths and cells are kept as stored. A source of another form is returned as it is.
    """
    if source == "staff":
        return _("corrected by staff")

    for file, place in _file_splits(source):
        translated = _place_label(place, _)
        if translated is not None:
            return _("{file}: {place}").format(file=file, place=translated)
    return _place_label(source, _) or source


def _file_splits(source: str) -> list[tuple[str, str]]:
    """Return each way to split ``source`` into a file name and a place, shortest name first."""
    splits = []
    start = source.find(": ", 1)
    while start != -1:
        splits.append((source[:start], source[start + 2 :]))
        start = source.find(": ", start + 1)
    return splits


def _place_label(place: str, _: Gettext) -> str | None:
    """Return the translated place, or None when it has no known form."""
    found = _match(place, _PLACE_FORMS)
    if found is None:
        return None
    key, values = found

    if "where" in values:
        forms = _IN_MAIL_FORMS if key == "mail_line" else _ON_PAGE_FORMS
        finding = _match(values["where"], forms)
        if finding is None:
            return None
        finding_key, finding_values = finding
        values["where"] = _finding_texts(_)[finding_key].format(**finding_values)

    return _place_texts(_)[key].format(**values)


def _match(
    text: str, forms: tuple[tuple[str, re.Pattern[str]], ...]
) -> tuple[str, dict[str, str]] | None:
    """Return the key of the first form that matches all of ``text``, with its values."""
    for key, pattern in forms:
        found = pattern.fullmatch(text)
        if found is None:
            continue
        groups = found.groupdict()
        values = {}
        for name, value in groups.items():
            if name.endswith("_quote"):
                continue
            quote = groups.get(f"{name}_quote")
            values[name] = _unrepr(quote, value) if quote else value
        return key, values
    return None


def _unrepr(quote: str, text: str) -> str:
    """Return the text of a Python repr without its escapes, or ``text`` when it cannot be read."""
    if "\\" not in text:
        return text
    try:
        value = ast.literal_eval(f"{quote}{text}{quote}")
    except (SyntaxError, ValueError):
        return text
    return value if isinstance(value, str) else text


def _place_texts(_: Gettext) -> dict[str, str]:
    return {
        "pdf_page": _("PDF page {page}, {where}"),
        "scan_page": _("scanned page {page} (OCR), {where}"),
        "mail_line": _("mail text line {line}, {where}"),
        "mail_line_only": _("mail text line {line}"),
        "ubl_term": _("UBL element {path}, invoice date plus {days} days"),
        "ubl": _("UBL element {path}"),
        "cii_term": _("CII element {path}, invoice date plus {days} days"),
        "cii": _("CII element {path}"),
        "sheet": _("sheet “{sheet}”, row {row}, column “{column}”"),
        "csv": _("CSV file, row {row}, column “{column}”"),
    }


def _finding_texts(_: Gettext) -> dict[str, str]:
    return {
        "label": _("label “{label}”"),
        "below_label": _("below label “{label}”"),
        "label_date": _("label “{label}”, date after the number"),
        "below_label_date": _("below label “{label}”, date after the number"),
        "customer_block": _("customer block under “{caption}”"),
        "outside_customer_block": _("pattern outside the customer block"),
        "structured_communication": _("pattern of a structured communication"),
        "currency_sign": _("currency sign or code"),
        "payment_term": _("invoice date plus a payment term of {days} days"),
        "number_in": _("invoice number in “{text}”"),
        "after_number": _("“{word}” after the invoice number"),
        "only_amount": _("the only amount of the claim, without a label"),
        "unlabeled_date": _("date without a label in the claim"),
        "currency_in_claim": _("currency in the claim"),
        "only_email": _("the only e-mail address in the claim"),
        "name_after": _("name after “{word}”"),
        "after_caption": _("after “{caption}”"),
    }
