"""Taking in the new messages of one mailbox folder: the per-folder step of IMAP intake.

The states of a message, the invariants and the crash recovery are described
in ``incasso.intake.imap``; this module follows them step by step.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import TYPE_CHECKING, Any

from imapclient import IMAPClient
from imapclient.exceptions import ProtocolError
from sqlalchemy.orm import Session, sessionmaker

from incasso.intake.imap_store import (
    FolderKey,
    StoredCopy,
    find_previous_copy,
    has_earlier_uidvalidity,
    known_uids,
    mark_done,
    message_id_seen_elsewhere,
    note_uidvalidity,
    receive_and_record,
    record_stored,
    record_too_large,
    too_large_seen_before,
    uids_awaiting_post_action,
)
from incasso.store.rawstore import RawStore

if TYPE_CHECKING:
    from incasso.intake.imap import MailboxAccount

logger = logging.getLogger(__name__)

# UIDs covered by one UID SEARCH, so that no response lists more than this many UIDs.
SEARCH_SPAN = 10_000
# UIDs named in one UID SEARCH that checks which stored messages are still in the folder.
UIDS_PER_COMMAND = 500
# Message bytes requested by one FETCH BODY.PEEK[]; a larger single message is fetched alone.
FETCH_BYTES_BUDGET = 64 * 1024 * 1024

SIZE_ITEM = b"RFC822.SIZE"
MESSAGE_ID_REQUEST = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
HEADER_RESPONSE_PREFIX = b"BODY[HEADER.FIELDS"
BODY_REQUEST = "BODY.PEEK[]"
BODY_RESPONSE = b"BODY[]"
SEEN_FLAG = b"\\Seen"
DELETED_FLAG = b"\\Deleted"
STORED_KEYWORD = b"$IncassoStored"
# Maximum line length RFC 5322 allows in a header, and the width of the message_id columns.
MAX_MESSAGE_ID_CHARS = 998
PEER_COLUMN_CHARS = 100


@dataclass(frozen=True)
class SyncContext:
    """Dependencies of a folder synchronization, apart from the connection."""

    factory: sessionmaker[Session]
    rawstore: RawStore
    account: MailboxAccount
    clock: Callable[[], datetime]
    # Set to end a long synchronization between two batches.
    stop: threading.Event | None = None

    @property
    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()


@dataclass
class PollTally:
    """Counts of one poll of one account, filled in folder by folder."""

    stored: int = 0
    duplicates: int = 0
    resynced: int = 0
    too_large: int = 0
    errors: int = 0
    failed_folders: list[str] = field(default_factory=list)
    # UIDNEXT of each folder when it was searched; IDLE compares it to spot late arrivals.
    uidnext: dict[str, int] = field(default_factory=dict)
    # The folder being synchronized, so that a connection failure can be logged with it.
    current_folder: str | None = None


@dataclass(frozen=True)
class Summary:
    """Size and Message-ID of one message, fetched before its body."""

    uid: int
    size: int
    message_id: str | None


def sync_account(client: IMAPClient, context: SyncContext, tally: PollTally) -> None:
    """Synchronize every configured folder in turn; a folder the server refuses is skipped.

    Raises ``IMAPClient.AbortError`` or ``OSError`` when the connection fails
    and the storage errors of ``receive``: the poll of this account ends there.
    """
    for folder in context.account.folders:
        if context.stopping:
            return
        tally.current_folder = folder
        sync_folder(client, context, folder, tally)
    tally.current_folder = None


def sync_folder(client: IMAPClient, context: SyncContext, folder: str, tally: PollTally) -> None:
    """Take in the new messages of ``folder``; a NO or BAD from the server skips the folder."""
    try:
        FolderSync(client, context, folder, tally).run()
    except IMAPClient.AbortError:
        raise
    except IMAPClient.Error as err:
        logger.warning(
            "account=%s folder=%s skipped: %s; the next poll tries again",
            context.account.name,
            folder,
            err,
        )
        tally.errors += 1
        tally.failed_folders.append(folder)


class FolderSync:
    """One pass over one folder: find new UIDs, store their messages, then move or flag them."""

    def __init__(
        self, client: IMAPClient, context: SyncContext, folder: str, tally: PollTally
    ) -> None:
        self.client = client
        self.context = context
        self.account = context.account
        self.folder = folder
        self.tally = tally
        self.key = FolderKey(self.account.name, folder, 0)
        # Whether rows from an earlier UIDVALIDITY exist, so messages must be compared with them.
        self.resyncing = False
        self.peer = f"imap:{self.account.name}/{folder}"[:PEER_COLUMN_CHARS]

    def run(self) -> None:
        selected = self.client.select_folder(self.folder, readonly=True)
        self.key = FolderKey(self.account.name, self.folder, _uidvalidity(selected, self.folder))
        self._note_uidvalidity()
        self.resyncing = has_earlier_uidvalidity(self.context.factory, self.key)

        uidnext = selected.get(b"UIDNEXT")
        if isinstance(uidnext, int):
            self.tally.uidnext[self.folder] = uidnext
        present = self._pending_still_present()
        candidates = self._find_candidates(uidnext, int(selected.get(b"EXISTS", 0)))
        if not present and not candidates:
            return

        if not self._select_writable():
            return
        if present:
            self._apply_post_action(present)
            mark_done(self.context.factory, self.key, present, self.context.clock())

        for batch in _chunks(candidates, self.account.batch_size):
            if self.context.stopping:
                return
            self._take_batch(batch)

    def _note_uidvalidity(self) -> None:
        previous = note_uidvalidity(
            self.context.factory,
            self.key.account,
            self.folder,
            self.key.uidvalidity,
            self.context.clock(),
        )
        if previous is not None:
            logger.warning(
                "account=%s folder=%s UIDVALIDITY changed from %d to %d: resynchronizing; "
                "messages stored before are recognized by their SHA-256 and not taken in again",
                self.key.account,
                self.folder,
                previous,
                self.key.uidvalidity,
            )

    def _pending_still_present(self) -> list[int]:
        """Return the UIDs of ``stored`` rows still in the folder; mark the others done."""
        pending = uids_awaiting_post_action(self.context.factory, self.key)
        if not pending:
            return []

        present: list[int] = []
        for part in _chunks(pending, UIDS_PER_COMMAND):
            present.extend(self.client.search(["UID", ",".join(str(uid) for uid in part)]))
        absent = sorted(set(pending) - set(present))
        if absent:
            mark_done(self.context.factory, self.key, absent, self.context.clock())
        logger.info(
            "account=%s folder=%s %d stored messages await their post-action, %d were gone already",
            self.key.account,
            self.folder,
            len(present),
            len(absent),
        )
        return sorted(present)

    def _find_candidates(self, uidnext: Any, exists: int) -> list[int]:
        """Return the folder's UIDs that have no row yet, searching a span of UIDs at a time."""
        if exists == 0:
            return []
        if not isinstance(uidnext, int):
            # RFC 3501 requires UIDNEXT in the SELECT response; without it, search everything.
            on_server = self.client.search("ALL")
            if not on_server:
                return []
            known = known_uids(self.context.factory, self.key, min(on_server), max(on_server))
            return sorted(set(on_server) - known)

        candidates: list[int] = []
        for low in range(1, uidnext, SEARCH_SPAN):
            high = min(low + SEARCH_SPAN - 1, uidnext - 1)
            on_server = self.client.search(["UID", f"{low}:{high}"])
            if on_server:
                known = known_uids(self.context.factory, self.key, low, high)
                candidates.extend(sorted(set(on_server) - known))
        return candidates

    def _select_writable(self) -> bool:
        selected = self.client.select_folder(self.folder, readonly=False)
        if b"READ-ONLY" in selected:
            raise ProtocolError(
                f"folder {self.folder!r} opens read-only for {self.account.username!r}, "
                "so stored messages cannot be moved or flagged; grant this user write access"
            )
        if selected.get(b"UIDVALIDITY") != self.key.uidvalidity:
            logger.warning(
                "account=%s folder=%s UIDVALIDITY changed during the poll; "
                "the next poll resynchronizes",
                self.key.account,
                self.folder,
            )
            return False
        return True

    def _take_batch(self, batch: Sequence[int]) -> None:
        small: list[Summary] = []
        for summary in self._fetch_summaries(batch):
            if summary.size > self.account.max_message_bytes:
                self._record_too_large(summary)
            else:
                small.append(summary)

        stored_uids: list[int] = []
        for group in _budget_groups(small, FETCH_BYTES_BUDGET):
            bodies = self.client.fetch([summary.uid for summary in group], [BODY_REQUEST])
            for summary in group:
                raw = bodies.get(summary.uid, {}).get(BODY_RESPONSE)
                if raw is None:
                    logger.info(
                        "account=%s folder=%s UID %d was expunged before its body was fetched",
                        self.key.account,
                        self.folder,
                        summary.uid,
                    )
                    continue
                if self._store(summary, bytes(raw)):
                    stored_uids.append(summary.uid)

        if stored_uids:
            self._apply_post_action(stored_uids)
            mark_done(self.context.factory, self.key, stored_uids, self.context.clock())

    def _fetch_summaries(self, batch: Sequence[int]) -> list[Summary]:
        response = self.client.fetch(list(batch), ["RFC822.SIZE", MESSAGE_ID_REQUEST])
        summaries = []
        for uid in batch:
            data = response.get(uid)
            if data is None:
                continue  # expunged since the search
            size = data.get(SIZE_ITEM)
            if not isinstance(size, int):
                raise ProtocolError(f"server sent no RFC822.SIZE for UID {uid}")
            summaries.append(Summary(uid, size, _message_id(data)))
        return summaries

    def _store(self, summary: Summary, raw: bytes) -> bool:
        """Record ``raw`` under its UID; return whether this poll should apply the post-action."""
        sha256 = hashlib.sha256(raw).hexdigest()
        if self.resyncing:
            earlier_row = find_previous_copy(self.context.factory, self.key, sha256)
            if earlier_row is not None:
                return self._record_resynced(summary, sha256, earlier_row)
            self._warn_on_reused_message_id(summary)

        receipt = receive_and_record(
            self.context.factory,
            self.context.rawstore,
            self.key,
            (summary.uid, summary.size, summary.message_id),
            raw,
            peer=self.peer,
            now=self.context.clock(),
        )
        if receipt is None:
            return False

        if receipt.duplicate:
            self.tally.duplicates += 1
        else:
            self.tally.stored += 1
        logger.info(
            "account=%s folder=%s UID %d stored as message row=%d duplicate=%s",
            self.key.account,
            self.folder,
            summary.uid,
            receipt.message_row_id,
            receipt.duplicate,
        )
        return True

    def _record_resynced(self, summary: Summary, sha256: str, mail_message_id: int) -> bool:
        copy = StoredCopy(summary.uid, summary.size, summary.message_id, sha256, mail_message_id)
        if not record_stored(self.context.factory, self.key, copy, self.context.clock()):
            return False

        self.tally.resynced += 1
        logger.info(
            "account=%s folder=%s UID %d is message row=%d, stored under an earlier UIDVALIDITY; "
            "recorded its new UID only",
            self.key.account,
            self.folder,
            summary.uid,
            mail_message_id,
        )
        return True

    def _warn_on_reused_message_id(self, summary: Summary) -> None:
        if summary.message_id is None:
            return
        uidvalidity = message_id_seen_elsewhere(self.context.factory, self.key, summary.message_id)
        if uidvalidity is not None:
            logger.warning(
                "account=%s folder=%s UID %d has Message-ID %s, which this folder had under "
                "UIDVALIDITY %d with other bytes; storing it as a separate message",
                self.key.account,
                self.folder,
                summary.uid,
                summary.message_id,
                uidvalidity,
            )

    def _record_too_large(self, summary: Summary) -> None:
        listed_before = (
            self.resyncing
            and summary.message_id is not None
            and too_large_seen_before(
                self.context.factory, self.key, summary.message_id, summary.size
            )
        )
        recorded = record_too_large(
            self.context.factory,
            self.key,
            summary.uid,
            size=summary.size,
            message_id=summary.message_id,
            limit=self.account.max_message_bytes,
            review=not listed_before,
            now=self.context.clock(),
        )
        if not recorded:
            return

        if listed_before:
            self.tally.resynced += 1
            return
        self.tally.too_large += 1
        logger.warning(
            "account=%s folder=%s UID %d is %d bytes, above max_message_bytes=%d: "
            "left on the server and listed for review",
            self.key.account,
            self.folder,
            summary.uid,
            summary.size,
            self.account.max_message_bytes,
        )

    def _apply_post_action(self, uids: Sequence[int]) -> None:
        """Move the stored messages to the processed folder, or flag them where they are."""
        apply_post_action(self.client, self.account.processed_folder, uids)
        logger.info(
            "account=%s folder=%s %d messages %s",
            self.key.account,
            self.folder,
            len(uids),
            f"moved to {self.account.processed_folder}"
            if self.account.processed_folder
            else "flagged \\Seen and $IncassoStored",
        )


def apply_post_action(
    client: IMAPClient, processed_folder: str | None, uids: Sequence[int]
) -> None:
    """Move ``uids`` of the selected folder to ``processed_folder``, or flag them if it is None."""
    if processed_folder is None:
        client.add_flags(list(uids), [SEEN_FLAG, STORED_KEYWORD], silent=True)
        return

    if not client.folder_exists(processed_folder):
        client.create_folder(processed_folder)
    if client.has_capability("MOVE"):
        client.move(list(uids), processed_folder)
        return

    client.copy(list(uids), processed_folder)
    client.add_flags(list(uids), [DELETED_FLAG], silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(list(uids))
    else:
        # NOTE: without UIDPLUS, EXPUNGE also removes messages that another client marked \Deleted.
        client.expunge()


def _uidvalidity(selected: dict[bytes, Any], folder: str) -> int:
    value = selected.get(b"UIDVALIDITY")
    if not isinstance(value, int):
        raise ProtocolError(f"server sent no UIDVALIDITY for folder {folder!r}")
    return value


def _message_id(data: dict[bytes, Any]) -> str | None:
    header = next(
        (value for key, value in data.items() if key.startswith(HEADER_RESPONSE_PREFIX)), None
    )
    if not header:
        return None
    value = BytesHeaderParser(policy=compat32).parsebytes(bytes(header)).get("Message-ID")
    if value is None:
        return None
    unfolded = " ".join(str(value).split())
    return unfolded[:MAX_MESSAGE_ID_CHARS] or None


def _budget_groups(summaries: Sequence[Summary], budget: int) -> Iterator[list[Summary]]:
    """Split ``summaries`` into runs whose sizes add up to at most ``budget`` bytes."""
    group: list[Summary] = []
    total = 0
    for summary in summaries:
        if group and total + summary.size > budget:
            yield group
            group, total = [], 0
        group.append(summary)
        total += summary.size
    if group:
        yield group


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
