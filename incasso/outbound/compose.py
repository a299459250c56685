"""Building the MIME message of a notice e-mail.

Our reminders are personal correspondence about one case, so they carry no
``Precedence: bulk`` and no ``Auto-Submitted`` header. Each has a
Message-ID we generate, with the case reference in it for people reading
logs and a random token that also names the message in its return path
(``bounce+2026-00017.<token>@...``, see ``incasso.cases.addresses``). Its
Reply-To names the case (``dossier+2026-00017@...``), so a reply threads back
even when the debtor's client drops In-Reply-To. All messages of a case share
one Outlook ``Thread-Index`` root, which Outlook keeps in its answers.

The body is ``multipart/alternative``: a plain-text part beside the HTML part.
When the HTML shows images (the EPC payment QR code), the HTML part becomes a
``multipart/related`` that carries each image as an inline part, which the
HTML names by ``cid:`` URL, so no mail client has to fetch anything remote.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

# Random bytes of a message token; printed as twice as many hex digits.
TOKEN_BYTES = 6


class _CachedHeaderRegistry(HeaderRegistry):
    """A header registry that builds each header class once.

    The standard registry creates a new class on every header it parses, which
    was a tenth of the time of composing a notice in the ladder benchmark.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = super().__getitem__(name)
        return found


MAIL_POLICY = policy.default.clone(header_factory=_CachedHeaderRegistry())


@dataclass(frozen=True)
class Sender:
    """The sender named on our messages."""

    name: str
    address: str
    mail_domain: str


@dataclass(frozen=True)
class InlineImage:
    """An image the HTML part shows through ``<img src="cid:{content_id}">``."""

    content_id: str
    data: bytes
    # Image subtype, such as "png".
    subtype: str
    filename: str


@dataclass(frozen=True)
class Content:
    """The rendered parts of one message."""

    subject: str
    text: str
    html: str
    language: str
    inline_images: Sequence[InlineImage] = ()


def new_message_token() -> str:
    """Return a random token naming one outbound message, such as ``3f9a0c1b2d4e``."""
    return secrets.token_hex(TOKEN_BYTES)


def new_message_id(reference: str, step: str, mail_domain: str, token: str | None = None) -> str:
    """Return a Message-ID such as ``<2026-00017.first_reminder.3f9a0c1b2d4e@domain>``.

    Pass the ``token`` of the message's return path so both name the same
    message; a new token is drawn when none is given.
    """
    return f"<{reference}.{step}.{token or new_message_token()}@{mail_domain}>"


def compose(
    *,
    sender: Sender,
    recipient_name: str,
    recipient_address: str,
    reply_to: str,
    content: Content,
    message_id: str,
    date: datetime,
    thread_index: str | None = None,
) -> EmailMessage:
    """Return the complete message, ready for the outbox.

    ``thread_index`` is the Outlook ``Thread-Index`` of the case's conversation
    (incasso.cases.thread_index); Outlook keeps it in its answer.
    """
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = formataddr((sender.name, sender.address))
    message["To"] = formataddr((recipient_name, recipient_address))
    message["Reply-To"] = reply_to
    message["Subject"] = content.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    if thread_index is not None:
        message["Thread-Index"] = thread_index
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    _attach_inline_images(message, content.inline_images)
    # After the body: set_content drops every Content-* header set before it.
    message["Content-Language"] = content.language
    _set_boundaries(message)
    return message


def _set_boundaries(message: EmailMessage) -> None:
    """Name each multipart boundary ourselves, so the generator need not search for a free one.

    ``=_`` cannot occur in a quoted-printable or base64 body, and the random
    token keeps the boundary apart from any 7bit or 8bit text.
    """
    token = secrets.token_hex(TOKEN_BYTES)
    multiparts = (part for part in message.walk() if part.is_multipart())
    for number, part in enumerate(multiparts):
        part.set_boundary(f"=_incasso.{token}.{number}")


def _attach_inline_images(message: EmailMessage, images: Sequence[InlineImage]) -> None:
    if not images:
        return

    html_part = message.get_body(("html",))
    if not isinstance(html_part, EmailMessage):
        raise ValueError("message has no HTML part to attach inline images to")
    for image in images:
        html_part.add_related(
            image.data,
            maintype="image",
            subtype=image.subtype,
            cid=f"<{image.content_id}>",
            disposition="inline",
            filename=image.filename,
        )
