"""Storing bytes as documents: the raw store holds the bytes, a row names them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incasso.store.models import Document
from incasso.store.rawstore import RawStore
from incasso.store.upsert import insert_if_absent


def record_document(
    session: Session,
    *,
    sha256: str,
    size: int,
    content_type: str,
    filename: str | None = None,
) -> int:
    """Return the id of the document row for bytes already in the raw store, creating it once."""
    values = {
        "sha256": sha256,
        "size": size,
        "content_type": content_type[:255],
        "filename": filename[:512] if filename else None,
    }
    document_id = insert_if_absent(session, Document, values, "sha256")
    if document_id is None:
        document_id = session.scalars(select(Document.id).where(Document.sha256 == sha256)).one()
    return int(document_id)


def store_document(
    session: Session,
    rawstore: RawStore,
    data: bytes,
    *,
    content_type: str,
    filename: str | None = None,
) -> Document:
    """Write ``data`` durably, then return its document row, creating the row once.

    The bytes are fsynced before the row is added; the caller's commit makes
    the row visible.
    """
    sha256 = rawstore.put(data, session=session)
    document_id = record_document(
        session, sha256=sha256, size=len(data), content_type=content_type, filename=filename
    )
    return session.get_one(Document, document_id)
