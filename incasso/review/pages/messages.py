"""Reading a stored message: its headers, its text, its attachments and the original file.

A message is shown from its raw bytes, parsed again as intake parsed them.
Nothing a sender wrote is trusted: the plain text is escaped, an HTML body is
reduced to basic formatting (see incasso.review.sanitize) and the page forbids
images from other hosts. Attachments and the original ``.eml`` are only ever
downloaded, never opened in the page. They are sent as attachments with
``nosniff``, so the browser keeps the stated type. A sandbox policy comes with
them too, so an HTML file opened anyway cannot run script on this site.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Annotated
from urllib.parse import quote

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from incasso.i18n import N_, translations
from incasso.intake.mime import ParsedMail
from incasso.intake.unmatched import open_unmatched_item, stored_mail
from incasso.review.sanitize import safe_html
from incasso.review.webkit import Staff, render, screen_language, signed_in, web
from incasso.store.db import read_transaction
from incasso.store.models import Channel, MailMessage
from incasso.store.rawstore import RawStore

logger = logging.getLogger(__name__)

router = APIRouter()

# A content type as "type/subtype"; anything else is sent as application/octet-stream.
CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*$")
FALLBACK_TYPE = "application/octet-stream"
# Headers of every download: a file, never a page of this site.
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox",
    "Cache-Control": "private, no-store",
}
# The message pages load only this site's script and style, and images only from here.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SIZE_UNITS = ((1024 * 1024, N_("{size} MB")), (1024, N_("{size} kB")))


@dataclass(frozen=True)
class AttachmentLine:
    """One file of a message, as listed on its page."""

    index: int
    name: str
    content_type: str
    size: int
    size_text: str
    embedded_image: bool


@dataclass(frozen=True)
class MessageView:
    """The fields of one message that the macro of ``_message.html.j2`` shows."""

    id: int
    direction: str
    kind: str | None
    channel: str
    sender: str
    recipients: str
    copies: str
    sent: datetime | str | None
    subject: str
    text: str
    html: Markup | None
    case_reference: str | None
    unmatched_open: bool
    attachments: list[AttachmentLine] = field(default_factory=list)


def message_view(
    session: Session, rawstore: RawStore, message: MailMessage, language: str
) -> MessageView:
    """Read ``message`` from the raw store and prepare it for the page, in ``language``."""
    parsed = stored_mail(session, rawstore, message)
    lines = [
        AttachmentLine(
            index=index,
            name=attachment.display_name,
            content_type=attachment.content_type,
            size=len(attachment.data),
            size_text=file_size(len(attachment.data), language),
            embedded_image=attachment.embedded_image,
        )
        for index, attachment in enumerate(parsed.attachments)
    ]
    return MessageView(
        id=message.id,
        direction=message.direction,
        kind=message.kind,
        channel=message.channel,
        sender=_sender(parsed, message),
        recipients=", ".join(parsed.to) or message.to_addresses or "",
        copies=", ".join(parsed.cc),
        sent=_sent(parsed, message),
        subject=parsed.subject or message.subject or "",
        text=parsed.text,
        html=Markup(safe_html(parsed.html)) if parsed.html else None,
        case_reference=message.case.reference if message.case is not None else None,
        unmatched_open=open_unmatched_item(session, message) is not None,
        attachments=lines,
    )


def file_size(size: int, language: str) -> str:
    """Return ``size`` in bytes as a short text such as "12,5 kB" in ``language``."""
    gettext = translations(language).gettext
    for unit, template in SIZE_UNITS:
        if size >= unit:
            number = format_decimal(size / unit, format="#,##0.#", locale=language)
            return gettext(template).format(size=number)
    return gettext(N_("{size} bytes")).format(size=size)


def _sender(parsed: ParsedMail, message: MailMessage) -> str:
    address = parsed.from_address or message.from_address or ""
    if parsed.from_name and address:
        return f"{parsed.from_name} <{address}>"
    return parsed.from_name or address


def _sent(parsed: ParsedMail, message: MailMessage) -> datetime | str | None:
    """Return the Date header as a moment when it parses, else as written, else when stored."""
    written = parsed.header("date")
    if written:
        try:
            moment = parsedate_to_datetime(written)
        except (TypeError, ValueError):
            return written.strip()
        if moment.tzinfo is not None:
            return moment
        return written.strip()
    return message.sent_at or message.processed_at


def load_message(session: Session, message_id: int) -> MailMessage:
    """Return message ``message_id``; a 404 page when there is none."""
    message = session.scalar(select(MailMessage).where(MailMessage.id == message_id))
    if message is None:
        raise HTTPException(status_code=404, detail=f"no message {message_id}")
    return message


def with_page_policy(response: Response) -> Response:
    """Add the policy that keeps a shown message from loading anything from elsewhere."""
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/messages/{message_id}", response_class=HTMLResponse)
def message_page(
    request: Request, message_id: int, staff: Annotated[Staff, Depends(signed_in)]
) -> Response:
    context = web(request)
    language = screen_language(request, staff)
    with read_transaction(context.factory) as session:
        view = message_view(session, context.rawstore, load_message(session, message_id), language)
    return with_page_policy(render(request, staff, "message.html.j2", message=view))


@router.get("/messages/{message_id}/attachments/{index}")
def attachment_download(
    request: Request, message_id: int, index: int, staff: Annotated[Staff, Depends(signed_in)]
) -> Response:
    context = web(request)
    with read_transaction(context.factory) as session:
        parsed = stored_mail(session, context.rawstore, load_message(session, message_id))
    if not 0 <= index < len(parsed.attachments):
        raise HTTPException(status_code=404, detail=f"message {message_id} has no file {index}")
    attachment = parsed.attachments[index]
    content_type = _content_type(attachment.content_type)
    name = attachment.filename or _unnamed(message_id, index, content_type)
    logger.info("staff %s downloaded file %d of message %d", staff.username, index, message_id)
    return download(attachment.data, content_type, name)


@router.get("/messages/{message_id}/raw")
def raw_download(
    request: Request, message_id: int, staff: Annotated[Staff, Depends(signed_in)]
) -> Response:
    context = web(request)
    with read_transaction(context.factory) as session:
        message = load_message(session, message_id)
        document = message.raw_document
        data = context.rawstore.get(document.sha256, session=session)
        if message.channel == Channel.UPLOAD:
            content_type = _content_type(document.content_type)
            name = document.filename or _unnamed(message_id, 0, content_type)
        else:
            content_type, name = "message/rfc822", f"message-{message_id}.eml"
    logger.info("staff %s downloaded the original of message %d", staff.username, message_id)
    return download(data, content_type, name)


def download(data: bytes, content_type: str, filename: str) -> Response:
    """Return ``data`` as a file to save, never as a page to show."""
    headers = {"Content-Disposition": content_disposition(filename), **DOWNLOAD_HEADERS}
    return Response(content=data, media_type=content_type, headers=headers)


def content_disposition(filename: str) -> str:
    """Return an ``attachment`` disposition naming ``filename`` in UTF-8 and in plain ASCII."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "file"
    plain = re.sub(r"[^A-Za-z0-9._ -]", "_", base)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(base, safe='')}"


def _content_type(value: str | None) -> str:
    candidate = (value or "").split(";", 1)[0].strip().lower()
    return candidate if CONTENT_TYPE.match(candidate) else FALLBACK_TYPE


def _unnamed(message_id: int, index: int, content_type: str) -> str:
    extension = mimetypes.guess_extension(content_type) or ".bin"
    return f"message-{message_id}-file-{index + 1}{extension}"
