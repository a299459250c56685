"""The database side of IMAP intake: ``imap_folder`` and ``imap_message`` rows.

Each function runs in a transaction of its own and commits before it
returns, because the IMAP side may act on a message (move it, flag it)
only after its row is committed. The states of an ``imap_message`` row are
described in ``incasso.intake.imap``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from incasso.intake.receive import Envelope, Receipt, record_received
from incasso.store.db import transaction
from incasso.store.models import Channel, ImapFolder, ImapMessage, ReviewItem, ReviewKind
from incasso.store.rawstore import RawStore, digest

logger = logging.getLogger(__name__)

# UIDs per SQL ``IN (...)`` list, well below SQLite's limit on bound parameters.
UIDS_PER_STATEMENT = 500


class ImapStatus(StrEnum):
    """States of an ``imap_message`` row."""

    STORED = "stored"  # received and committed; the post-action is not yet confirmed
    DONE = "done"  # the post-action (move or flag) was applied, or the message was gone
    TOO_LARGE = "too_large"  # above the size limit: left on the server, listed for review


@dataclass(frozen=True)
class FolderKey:
    """One folder of one account under one UIDVALIDITY: the scope in which a UID names a message."""

    account: str
    folder: str
    uidvalidity: int


@dataclass(frozen=True)
class StoredCopy:
    """A message recorded under this key, to be recorded as ``stored``."""

    uid: int
    size: int
    message_id: str | None
    sha256: str
    mail_message_id: int


def note_uidvalidity(
    factory: sessionmaker[Session], account: str, folder: str, uidvalidity: int, now: datetime
) -> int | None:
    """Record the folder's UIDVALIDITY; return the previous value when it changed, else None."""
    with transaction(factory) as session:
        row = session.scalar(
            select(ImapFolder).where(ImapFolder.account == account, ImapFolder.folder == folder)
        )
        if row is None:
            session.add(
                ImapFolder(account=account, folder=folder, uidvalidity=uidvalidity, checked_at=now)
            )
            return None

        previous = row.uidvalidity
        row.uidvalidity = uidvalidity
        row.checked_at = now
        return previous if previous != uidvalidity else None


def known_uids(factory: sessionmaker[Session], key: FolderKey, low: int, high: int) -> set[int]:
    """Return the UIDs between ``low`` and ``high`` (inclusive) that have a row in any state."""
    with transaction(factory) as session:
        query = select(ImapMessage.uid).where(
            *_key_filter(key), ImapMessage.uid >= low, ImapMessage.uid <= high
        )
        return set(session.scalars(query))


def uids_awaiting_post_action(factory: sessionmaker[Session], key: FolderKey) -> list[int]:
    """Return the UIDs stored under ``key`` whose move or flag is not yet confirmed."""
    with transaction(factory) as session:
        query = (
            select(ImapMessage.uid)
            .where(*_key_filter(key), ImapMessage.status == ImapStatus.STORED)
            .order_by(ImapMessage.uid)
        )
        return list(session.scalars(query))


def receive_and_record(
    factory: sessionmaker[Session],
    rawstore: RawStore,
    key: FolderKey,
    summary: tuple[int, int, str | None],
    raw: bytes,
    *,
    peer: str,
    now: datetime,
) -> Receipt | None:
    """Receive ``raw`` and commit its ``stored`` row in one transaction.

    ``summary`` is the message's (UID, size, Message-ID). Returns None when
    another poller recorded this UID first; then nothing of ours was committed.
    """
    uid, size, message_id = summary
    try:
        with transaction(factory) as session:
            receipt = record_received(
                session, rawstore, raw, channel=Channel.IMAP, envelope=Envelope(peer=peer)
            )
            copy = StoredCopy(uid, size, message_id, digest(raw), receipt.message_row_id)
            session.add(_stored_row(key, copy, now))
    except IntegrityError:
        logger.info(
            "account=%s folder=%s UID %d was recorded by another poller",
            key.account,
            key.folder,
            uid,
        )
        return None
    return receipt


def record_stored(
    factory: sessionmaker[Session], key: FolderKey, copy: StoredCopy, now: datetime
) -> bool:
    """Commit a ``stored`` row for ``copy``; return False if another poller recorded it first."""
    row = _stored_row(key, copy, now)
    try:
        with transaction(factory) as session:
            session.add(row)
    except IntegrityError:
        logger.info(
            "account=%s folder=%s UID %d was recorded by another poller",
            key.account,
            key.folder,
            copy.uid,
        )
        return False
    return True


def _stored_row(key: FolderKey, copy: StoredCopy, now: datetime) -> ImapMessage:
    return ImapMessage(
        account=key.account,
        folder=key.folder,
        uidvalidity=key.uidvalidity,
        uid=copy.uid,
        size=copy.size,
        message_id=copy.message_id,
        sha256=copy.sha256,
        status=ImapStatus.STORED,
        mail_message_id=copy.mail_message_id,
        created_at=now,
        updated_at=now,
    )


def mark_done(
    factory: sessionmaker[Session], key: FolderKey, uids: Sequence[int], now: datetime
) -> None:
    """Mark the ``stored`` rows of ``uids`` as ``done``: their post-action is confirmed."""
    with transaction(factory) as session:
        for part in _chunks(uids, UIDS_PER_STATEMENT):
            session.execute(
                update(ImapMessage)
                .where(
                    *_key_filter(key),
                    ImapMessage.uid.in_(part),
                    ImapMessage.status == ImapStatus.STORED,
                )
                .values(status=ImapStatus.DONE, updated_at=now)
            )


def record_too_large(
    factory: sessionmaker[Session],
    key: FolderKey,
    uid: int,
    *,
    size: int,
    message_id: str | None,
    limit: int,
    review: bool,
    now: datetime,
) -> bool:
    """Commit a ``too_large`` row and, when ``review`` is set, one review item naming the message.

    Returns False, and commits nothing, if another poller recorded the UID first.
    """
    row = ImapMessage(
        account=key.account,
        folder=key.folder,
        uidvalidity=key.uidvalidity,
        uid=uid,
        size=size,
        message_id=message_id,
        status=ImapStatus.TOO_LARGE,
        created_at=now,
        updated_at=now,
    )
    detail = (
        f"Mailbox account {key.account!r}, folder {key.folder!r}, UID {uid} "
        f"(UIDVALIDITY {key.uidvalidity}), Message-ID {message_id or 'missing'}: "
        f"{size} bytes, above the limit of {limit} bytes (max_message_bytes). "
        "The message was left on the server unread; take it in by hand or raise the limit."
    )
    try:
        with transaction(factory) as session:
            session.add(row)
            if review:
                session.add(
                    ReviewItem(
                        kind=ReviewKind.TOO_LARGE,
                        reasons=["too_large"],
                        detail=detail,
                        created_at=now,
                    )
                )
    except IntegrityError:
        return False
    return True


def _earlier_generations(key: FolderKey) -> tuple[ColumnElement[bool], ...]:
    """Conditions for rows of this folder stored under another UIDVALIDITY than ``key``'s."""
    return (
        ImapMessage.account == key.account,
        ImapMessage.folder == key.folder,
        ImapMessage.uidvalidity != key.uidvalidity,
    )


def has_earlier_uidvalidity(factory: sessionmaker[Session], key: FolderKey) -> bool:
    """Return whether this folder has rows under a UIDVALIDITY other than the current one."""
    with transaction(factory) as session:
        query = select(ImapMessage.id).where(*_earlier_generations(key)).limit(1)
        return session.scalar(query) is not None


def find_previous_copy(factory: sessionmaker[Session], key: FolderKey, sha256: str) -> int | None:
    """Return the ``mail_message`` id of bytes this folder had under another UIDVALIDITY."""
    with transaction(factory) as session:
        query = (
            select(ImapMessage.mail_message_id)
            .where(
                *_earlier_generations(key),
                ImapMessage.sha256 == sha256,
                ImapMessage.mail_message_id.is_not(None),
            )
            .order_by(ImapMessage.id)
            .limit(1)
        )
        return session.scalar(query)


def message_id_seen_elsewhere(
    factory: sessionmaker[Session], key: FolderKey, message_id: str
) -> int | None:
    """Return the UIDVALIDITY under which this folder last had a message with ``message_id``."""
    with transaction(factory) as session:
        query = (
            select(ImapMessage.uidvalidity)
            .where(*_earlier_generations(key), ImapMessage.message_id == message_id)
            .order_by(ImapMessage.id.desc())
            .limit(1)
        )
        return session.scalar(query)


def too_large_seen_before(
    factory: sessionmaker[Session], key: FolderKey, message_id: str, size: int
) -> bool:
    """Return whether an earlier UIDVALIDITY listed ``message_id`` and ``size`` as too large."""
    with transaction(factory) as session:
        query = (
            select(ImapMessage.id)
            .where(
                ImapMessage.account == key.account,
                ImapMessage.folder == key.folder,
                ImapMessage.uidvalidity != key.uidvalidity,
                ImapMessage.message_id == message_id,
                ImapMessage.size == size,
                ImapMessage.status == ImapStatus.TOO_LARGE,
            )
            .limit(1)
        )
        return session.scalar(query) is not None


def _key_filter(key: FolderKey) -> tuple[ColumnElement[bool], ...]:
    return (
        ImapMessage.account == key.account,
        ImapMessage.folder == key.folder,
        ImapMessage.uidvalidity == key.uidvalidity,
    )


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
