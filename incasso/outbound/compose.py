"""Building the MIME message of a reminder.

Our reminders are personal correspondence about one case, so they carry no
``Precedence: bulk`` and no ``Auto-Submitted`` header. Each has a
Message-ID we generate, with the case reference in it for people reading
logs. Its Reply-To names the case (``dossier+2026-00017@...``), so a reply
threads back even when the debtor's client drops In-Reply-To. A plain-text
part stands beside the HTML part.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr


@dataclass(frozen=True)
class Sender:
    """The sender named on our messages."""

    name: str
    address: str
    mail_domain: str


@dataclass(frozen=True)
class Content:
    """The rendered parts of one message."""

    subject: str
    text: str
    html: str
    language: str


def new_message_id(reference: str, step: str, mail_domain: str) -> str:
    """Return a unique Message-ID such as ``<2026-00017.first_reminder.3f9a0c1b2d4e@domain>``."""
    return f"<{reference}.{step}.{secrets.token_hex(6)}@{mail_domain}>"


def compose(
    *,
    sender: Sender,
    recipient_name: str,
    recipient_address: str,
    reply_to: str,
    content: Content,
    message_id: str,
    date: datetime,
) -> EmailMessage:
    """Return the complete message, ready for the outbox."""
    message = EmailMessage()
    message["From"] = formataddr((sender.name, sender.address))
    message["To"] = formataddr((recipient_name, recipient_address))
    message["Reply-To"] = reply_to
    message["Subject"] = content.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    # After the body: set_content drops every Content-* header set before it.
    message["Content-Language"] = content.language
    return message
