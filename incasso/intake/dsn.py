"""Reading a bounce: which address failed, the status code, and whether the failure is final.

A standard delivery status notification (RFC 3464) carries a
``message/delivery-status`` part with, per recipient, ``Final-Recipient``,
``Action`` (failed, delayed, delivered, relayed, expanded) and ``Status``
(``5.1.1``). Many servers send only text instead: Exim, qmail, Gmail,
Exchange 2003, Domino and provider-specific notices. For those the text before
the copy of the original message is read: the first address that is not the
original sender, and the first status code (``5.1.1``) or SMTP reply code
(``550``).

A failure is final when the report says ``failed``, when its status or reply
code starts with 5, or when the text says so ("permanent error"). A report
that says ``delayed``, a status that starts with 4 without ``failed``, or a
text about a delay or a retry is temporary: the sending server is still
trying. A bounce that says nothing either way is taken as final, so that a
person looks at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from incasso.intake.mime import ParsedMail

FINAL_ACTIONS = {"failed", "failure"}
TEMPORARY_ACTIONS = {"delayed"}
ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# An address in a report field, whose domain may be a bare host name.
REPORT_ADDRESS = re.compile(r"[^\s;<>]+@[^\s;<>]+")
STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
REPLY_CODE = re.compile(r"(?<![\d.#-])([45]\d\d)(?![\d.])")
# The start of the copy of the original message in a text bounce.
ORIGINAL_COPY = re.compile(
    r"^(-{2,}.*(copy of the message|original message|below this line|header of the original|"
    r"original-message)|return-path:|received:)",
    re.IGNORECASE | re.MULTILINE,
)
# Lines of the text bounce that name the original sender or message, not the failed address.
NOT_RECIPIENT_LINE = re.compile(
    r"^\s*(mail from|from|to|subject|sent|date|cc)\s*:|smtp error from remote mail server after "
    r"mail from",
    re.IGNORECASE,
)
FINAL_WORDS = re.compile(
    r"(permanent (error|failure)|failed permanently|user unknown|unknown user|no such user|"
    r"does not exist|n'existe pas|bestaat niet|existiert nicht)",
    re.IGNORECASE,
)
TEMPORARY_WORDS = re.compile(
    r"(delivery (has been )?delayed|message delayed|will (keep )?(retry|trying)|still trying|"
    r"could not send message for past|temporar(y|ily) (failure|error|deferred))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DeliveryFailure:
    """The facts a bounce gives about the delivery it reports on."""

    recipient: str | None
    status: str | None
    final: bool
    diagnostic: str | None = None

    def as_detail(self) -> dict[str, object]:
        """Return the facts as the JSON detail of a timeline event."""
        return {
            "failed_recipient": self.recipient,
            "status": self.status,
            "final": self.final,
            "diagnostic": self.diagnostic,
        }


def read_bounce(parsed: ParsedMail) -> DeliveryFailure:
    """Read the failed recipient, the status and whether it is final from a bounce."""
    reported = _from_report(parsed)
    if reported is not None:
        return reported
    return _from_text(parsed)


def _from_report(parsed: ParsedMail) -> DeliveryFailure | None:
    for part in parsed.report_parts:
        if "delivery-status" not in part.content_type:
            continue
        for block in part.field_blocks():
            if "action" not in block and "final-recipient" not in block:
                continue
            action = block.get("action", "").strip().lower()
            status_match = STATUS.search(block.get("status", ""))
            status = ".".join(status_match.groups()) if status_match else None
            recipient = _address(block.get("final-recipient") or block.get("original-recipient"))
            return DeliveryFailure(
                recipient=recipient,
                status=status or _reply_code(block.get("status", "")),
                final=_final_by_report(action, status),
                diagnostic=(block.get("diagnostic-code") or "").strip()[:500] or None,
            )
    return None


def _final_by_report(action: str, status: str | None) -> bool:
    if action in FINAL_ACTIONS:
        return True
    if action in TEMPORARY_ACTIONS:
        return False
    return not (status or "").startswith("4")


def _from_text(parsed: ParsedMail) -> DeliveryFailure:
    text = parsed.text or ""
    copy = ORIGINAL_COPY.search(text)
    notice = text[: copy.start()] if copy else text
    status_match = STATUS.search(notice)
    status = ".".join(status_match.groups()) if status_match else _reply_code(notice)
    return DeliveryFailure(
        recipient=_failed_address(notice, parsed.from_address),
        status=status,
        final=_final_by_text(notice, status, parsed.subject),
    )


def _final_by_text(notice: str, status: str | None, subject: str) -> bool:
    if status is not None:
        return not status.startswith("4")
    if FINAL_WORDS.search(notice):
        return True
    return not TEMPORARY_WORDS.search(f"{subject}\n{notice}")


def _failed_address(notice: str, bounce_sender: str | None) -> str | None:
    for line in notice.splitlines():
        if NOT_RECIPIENT_LINE.search(line):
            continue
        for found in ADDRESS.findall(line):
            address = found.lower().strip(".'")
            if address != (bounce_sender or "").lower():
                return address
    return None


def _address(value: str | None) -> str | None:
    """Return the address of a field such as ``rfc822; an@example.be``."""
    found = REPORT_ADDRESS.search(value or "")
    return found.group(0).lower() if found else None


def _reply_code(text: str) -> str | None:
    found = REPLY_CODE.search(text)
    return found.group(1) if found else None
