"""Reading mailboxes over IMAP (imapclient): every message is taken in once, none is lost.

One poll of one folder (``incasso.intake.imap_sync``):

1. EXAMINE the folder (read-only) and compare its UIDVALIDITY with the
   ``imap_folder`` row.
2. UID SEARCH the folder in spans of UIDs up to UIDNEXT. A UID without an
   ``imap_message`` row under the current UIDVALIDITY is a candidate.
3. If there is work, SELECT the folder read-write and check that UIDVALIDITY
   did not change in between. Then FETCH RFC822.SIZE and the Message-ID
   header of ``batch_size`` candidates at a time. A message above
   ``max_message_bytes`` gets a ``too_large`` row and one review item, and is
   never fetched, moved or flagged.
4. FETCH BODY.PEEK[] (which leaves ``\\Seen`` alone), hand the bytes to
   ``receive`` and commit a ``stored`` row. Only then apply the post-action
   to the batch: MOVE to ``processed_folder`` (COPY, ``\\Deleted`` and
   EXPUNGE where the server lacks MOVE), or ``\\Seen`` plus the keyword
   ``$IncassoStored`` when ``processed_folder`` is None. Then mark the rows
   ``done``.

States of an ``imap_message`` row: no row → ``stored`` → ``done``, or no
row → ``too_large``. Rows under an older UIDVALIDITY are history and are
never acted on again.

Invariants:

- A message is moved or flagged only after its bytes are durable and both
  its ``mail_message`` and ``imap_message`` rows are committed.
- A UID with a row under the current UIDVALIDITY is never fetched again.
- The same bytes make one ``mail_message``, under whichever UID, folder or
  UIDVALIDITY they arrive, because ``receive`` deduplicates by SHA-256.

Crash recovery, when the process dies or the connection drops:

- Before ``receive`` commits, nothing is recorded and the message is
  untouched on the server, so the next poll takes it.
- After ``receive`` commits but before the ``stored`` row, the next poll
  fetches the message again and ``receive`` returns the same row (counted as
  a duplicate).
- After the ``stored`` row, the next poll first applies the post-action to
  the ``stored`` UIDs still in the folder, and marks the rest ``done``
  (they were moved already).
- In the COPY fallback, a crash between COPY and EXPUNGE leaves a second
  copy in ``processed_folder`` after the retry. The folder being polled is
  still right.

UIDVALIDITY change: the server renumbered the folder, so every message
looks new. A message whose SHA-256 this folder stored under an earlier
UIDVALIDITY only gets a row under its new key, which points at the same
``mail_message``. ``receive`` is not called for it again. The check needs
the bytes, so each message is fetched once more. A Message-ID seen before with
other bytes is logged and the message is stored as a new one. A too-large
message with the same Message-ID and size as before gets no second review
item.

Failures: a NO or BAD on one folder skips that folder with a logged reason;
a dropped connection, a timeout or a storage error ends the poll of the
account. Both are counted in the ``PollReport`` and never raised to the
caller; the next poll retries. ``watch_account`` waits ``poll_seconds``
before it reconnects.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from imapclient import IMAPClient, SocketTimeout
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from incasso.intake.imap_sync import PollTally, SyncContext, sync_account
from incasso.store.rawstore import RawStore, RawStoreError

logger = logging.getLogger(__name__)

Security = Literal["tls", "starttls", "plain"]
# RFC 2177: a client should re-issue IDLE at least every 29 minutes.
IDLE_RENEW_SECONDS = 29 * 60
# Seconds one idle_check waits, so that a set stop event ends IDLE within about this long.
IDLE_CHECK_SECONDS = 1.0
# idle_check returning nothing this many times in a row, each well before its
# timeout, means the server closed the socket (imapclient swallows the EOF).
QUICK_EMPTY_CHECKS_LIMIT = 3

# Failures that end the poll of one account; the next poll retries.
POLL_ERRORS: tuple[type[BaseException], ...] = (IMAPClient.Error, OSError, SQLAlchemyError)


@dataclass(frozen=True)
class MailboxAccount:
    """One mailbox to read, with the fields of ``ImapAccountSettings``.

    ``MailboxAccount(**settings.model_dump())`` converts the settings. The
    constructor raises ``ValueError`` for a combination that cannot work or
    is unsafe, naming the setting to change.
    """

    name: str
    host: str
    username: str
    port: int = 993
    security: Security = "tls"
    password: str | None = field(default=None, repr=False)
    oauth2_token: str | None = field(default=None, repr=False)
    folders: tuple[str, ...] = ("INBOX",)
    processed_folder: str | None = "Processed"
    poll_seconds: float = 60.0
    idle: bool = True
    batch_size: int = 25
    max_message_bytes: int = 32 * 1024 * 1024
    timeout_seconds: float = 60.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "folders", tuple(self.folders))
        problems = _account_problems(self)
        if problems:
            raise ValueError(f"IMAP account {self.name!r}: " + "; ".join(problems))


@dataclass(frozen=True)
class PollReport:
    """Counts of one poll of one account."""

    stored: int = 0  # new messages handed to ``receive``
    duplicates: int = 0  # bytes that ``receive`` already had
    resynced: int = 0  # messages known from an earlier UIDVALIDITY, recorded under the new one
    too_large: int = 0  # messages newly listed for review and left on the server
    errors: int = 0  # skipped folders plus a failed connection, login or storage
    failed_folders: tuple[str, ...] = ()

    @classmethod
    def from_tally(cls, tally: PollTally) -> PollReport:
        return cls(
            stored=tally.stored,
            duplicates=tally.duplicates,
            resynced=tally.resynced,
            too_large=tally.too_large,
            errors=tally.errors,
            failed_folders=tuple(tally.failed_folders),
        )


def is_loopback(host: str) -> bool:
    """Return whether ``host`` is ``localhost`` or a loopback address, without a DNS lookup."""
    name = host.strip().rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def connect(account: MailboxAccount, ssl_context: ssl.SSLContext | None = None) -> IMAPClient:
    """Open a connection with the account's security and log in; the caller logs out.

    ``ssl_context`` defaults to the system's trusted CAs with host name checks.
    """
    timeout = SocketTimeout(connect=account.timeout_seconds, read=account.timeout_seconds)
    context = ssl_context
    if context is None and account.security != "plain":
        context = ssl.create_default_context()
    if account.security == "tls":
        client = IMAPClient(
            account.host, account.port, ssl=True, ssl_context=context, timeout=timeout
        )
    else:
        client = IMAPClient(account.host, account.port, ssl=False, timeout=timeout)

    try:
        if account.security == "starttls":
            client.starttls(context)
        _login(client, account)
    except BaseException:
        _shutdown(client)
        raise
    return client


def poll_account(
    factory: sessionmaker[Session],
    rawstore: RawStore,
    account: MailboxAccount,
    *,
    clock: Callable[[], datetime],
    ssl_context: ssl.SSLContext | None = None,
) -> PollReport:
    """Connect, take in the new messages of every folder and log out.

    Connection, server and storage failures (``POLL_ERRORS``) are logged and
    counted in the report instead of raised.
    """
    tally = PollTally()
    context = SyncContext(factory, rawstore, account, clock)
    try:
        with connect(account, ssl_context) as client:
            sync_account(client, context, tally)
    except POLL_ERRORS as err:
        tally.errors += 1
        _log_poll_failure(account, tally.current_folder, err)

    report = PollReport.from_tally(tally)
    _log_report(account, report)
    return report


def watch_account(
    factory: sessionmaker[Session],
    rawstore: RawStore,
    account: MailboxAccount,
    *,
    clock: Callable[[], datetime],
    stop: threading.Event,
    ssl_context: ssl.SSLContext | None = None,
    on_poll: Callable[[PollReport], None] | None = None,
) -> None:
    """Take in new messages until ``stop`` is set: with IDLE where offered, else every poll_seconds.

    With IDLE, one connection stays open: a poll of every folder runs after
    each IDLE wake-up and at least every 29 minutes (with several folders,
    every ``poll_seconds``, because IDLE watches only the first folder).
    Without IDLE, or with ``account.idle`` off, each poll opens its own
    connection. After a failure the loop waits ``poll_seconds`` and
    reconnects. ``on_poll`` gets the report of every completed poll.
    """
    context = SyncContext(factory, rawstore, account, clock, stop)
    failures = 0
    idle_unavailable_logged = False
    logger.info("account=%s watching folders %s", account.name, ", ".join(account.folders))
    while not stop.is_set():
        try:
            with connect(account, ssl_context) as client:
                failures = 0
                if account.idle and client.has_capability("IDLE"):
                    _watch_with_idle(client, context, on_poll)
                else:
                    if account.idle and not idle_unavailable_logged:
                        logger.info(
                            "account=%s server offers no IDLE; polling every %.0f s",
                            account.name,
                            account.poll_seconds,
                        )
                        idle_unavailable_logged = True
                    _poll_connected(client, context, on_poll)
        except POLL_ERRORS as err:
            failures += 1
            _log_poll_failure(account, None, err, failures_in_row=failures)
        except Exception:
            # The loop runs in a thread of its own: log an unexpected error and go on.
            failures += 1
            logger.exception("account=%s poll failed unexpectedly", account.name)
        stop.wait(account.poll_seconds)
    logger.info("account=%s stopped watching", account.name)


def _watch_with_idle(
    client: IMAPClient, context: SyncContext, on_poll: Callable[[PollReport], None] | None
) -> None:
    stop = context.stop
    assert stop is not None, "watching needs a stop event"
    while not stop.is_set():
        tally = _poll_connected(client, context, on_poll)
        if stop.is_set():
            return
        _wait_for_change(client, context, tally)


def _poll_connected(
    client: IMAPClient, context: SyncContext, on_poll: Callable[[PollReport], None] | None
) -> PollTally:
    tally = PollTally()
    sync_account(client, context, tally)
    report = PollReport.from_tally(tally)
    _log_report(context.account, report)
    if on_poll is not None:
        on_poll(report)
    return tally


def _wait_for_change(client: IMAPClient, context: SyncContext, tally: PollTally) -> None:
    """IDLE on the first folder until it changes, the renew time passes or ``stop`` is set."""
    account = context.account
    stop = context.stop
    assert stop is not None, "watching needs a stop event"
    folder = account.folders[0]
    try:
        selected = client.select_folder(folder, readonly=True)
    except IMAPClient.AbortError:
        raise
    except IMAPClient.Error as err:
        logger.warning(
            "account=%s folder=%s cannot be watched with IDLE: %s; polling every %.0f s",
            account.name,
            folder,
            err,
            account.poll_seconds,
        )
        stop.wait(account.poll_seconds)
        return

    if folder in tally.uidnext and selected.get(b"UIDNEXT") != tally.uidnext[folder]:
        return  # a message arrived after the poll searched the folder
    seconds: float = IDLE_RENEW_SECONDS
    if len(account.folders) > 1:
        seconds = min(seconds, account.poll_seconds)
    _idle(client, stop, seconds)


def _idle(client: IMAPClient, stop: threading.Event, seconds: float) -> None:
    client.idle()
    deadline = time.monotonic() + seconds
    quick_empty_checks = 0
    while not stop.is_set() and time.monotonic() < deadline:
        started = time.monotonic()
        responses = client.idle_check(timeout=IDLE_CHECK_SECONDS)
        if any(_is_bye(response) for response in responses):
            raise IMAPClient.AbortError("server sent BYE during IDLE")
        if any(not _is_status(response) for response in responses):
            break

        if responses or time.monotonic() - started >= IDLE_CHECK_SECONDS / 2:
            quick_empty_checks = 0
            continue
        quick_empty_checks += 1
        if quick_empty_checks >= QUICK_EMPTY_CHECKS_LIMIT:
            raise IMAPClient.AbortError(
                "connection closed during IDLE: idle_check returns at once with no data"
            )
    client.idle_done()


def _is_bye(response: Any) -> bool:
    return isinstance(response, tuple) and bool(response) and response[0] == b"BYE"


def _is_status(response: Any) -> bool:
    """Return whether ``response`` is a status line, such as Dovecot's ``* OK Still here``."""
    return isinstance(response, tuple) and bool(response) and response[0] in (b"OK", b"NO")


def _login(client: IMAPClient, account: MailboxAccount) -> None:
    if account.oauth2_token:
        client.oauth2_login(account.username, account.oauth2_token)
        method = "XOAUTH2"
    else:
        assert account.password is not None, "checked when the account was built"
        client.login(account.username, account.password)
        method = "password"
    logger.debug(
        "account=%s logged in to %s:%d as %s with %s over %s",
        account.name,
        account.host,
        account.port,
        account.username,
        method,
        account.security,
    )


def _shutdown(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except OSError as err:
        logger.debug("closing a failed IMAP connection raised %s", err)


def _account_problems(account: MailboxAccount) -> list[str]:
    problems = []
    if account.security not in get_args(Security):
        problems.append(
            f"security {account.security!r} is invalid; set security to "
            '"tls" (port 993), "starttls" (port 143) or "plain" (loopback only)'
        )
    if account.security == "plain" and not is_loopback(account.host):
        problems.append(
            f'security = "plain" would send the password unencrypted to {account.host!r}, and '
            'plain is accepted for loopback hosts only; set security to "tls" (port 993) '
            'or "starttls" (port 143)'
        )
    if not account.password and not account.oauth2_token:
        problems.append("no credentials; set password or oauth2_token")
    if not account.folders:
        problems.append("folders is empty; list at least one folder, such as INBOX")
    if account.processed_folder is not None and account.processed_folder in account.folders:
        problems.append(
            f"processed_folder {account.processed_folder!r} is also in folders, so stored "
            "messages would be read again; choose another processed_folder"
        )
    for name in ("batch_size", "max_message_bytes", "poll_seconds", "timeout_seconds"):
        if getattr(account, name) <= 0:
            problems.append(f"{name} must be positive, got {getattr(account, name)!r}")
    return problems


def _log_poll_failure(
    account: MailboxAccount,
    folder: str | None,
    err: BaseException,
    *,
    failures_in_row: int = 1,
) -> None:
    where = f"account={account.name}" + (f" folder={folder}" if folder else "")
    storing = isinstance(err, RawStoreError | SQLAlchemyError)
    logger.log(
        logging.ERROR if storing else logging.WARNING,
        "%s %s (%d in a row): %s: %s; the next poll retries",
        where,
        "storing failed" if storing else "poll failed",
        failures_in_row,
        type(err).__name__,
        err,
    )


def _log_report(account: MailboxAccount, report: PollReport) -> None:
    busy = report.stored or report.duplicates or report.resynced or report.too_large
    level = logging.INFO if busy or report.errors else logging.DEBUG
    logger.log(
        level,
        "account=%s poll done: stored=%d duplicates=%d resynced=%d too_large=%d errors=%d",
        account.name,
        report.stored,
        report.duplicates,
        report.resynced,
        report.too_large,
        report.errors,
    )
