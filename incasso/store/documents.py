"""Storing bytes as documents: the raw store holds the bytes, a row names them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incasso.store.models import Document
from incasso.store.rawstore import RawStore


def store_document(
    session: Session,
    rawstore: RawStore,
    data: bytes,
    *,
    content_type: str,
    filename: str | None = None,
) -> Document:
    """Write ``data`` durably and return its document row, creating the row once.

    The bytes are fsynced before the row is added; the caller's commit makes
    the row visible. Two sessions storing the same bytes at once end up with
    one row: the loser of the insert race reads the winner's row.
    """
    sha256 = rawstore.put(data)
    existing = session.scalar(select(Document).where(Document.sha256 == sha256))
    if existing is not None:
        return existing

    document = Document(
        sha256=sha256,
        size=len(data),
        content_type=content_type[:255],
        filename=filename[:512] if filename else None,
    )
    try:
        with session.begin_nested():
            session.add(document)
    except IntegrityError:
        return session.scalars(select(Document).where(Document.sha256 == sha256)).one()
    return document
