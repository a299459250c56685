"""IMAP intake against a real Dovecot: every message taken in once, none lost, whatever fails."""

from __future__ import annotations

import logging
import queue
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import pytest
import trustme
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from incasso.app.context import Application
from incasso.cases.creditors import NewCreditor, register_creditor
from incasso.intake import imap_sync
from incasso.intake.imap import MailboxAccount, PollReport, poll_account, watch_account
from incasso.store.db import transaction
from incasso.store.models import (
    Case,
    Channel,
    ImapFolder,
    ImapMessage,
    MailMessage,
    ReviewItem,
    ReviewKind,
)
from tests.dovecot import (
    DOVECOT,
    Dovecot,
    Mailbox,
    TlsFiles,
    TokenIntrospection,
    running_dovecot,
)
from tests.factories.invoice_pdf import example_spec, make_invoice_pdf

pytestmark = pytest.mark.skipif(
    not DOVECOT.exists(), reason=f"{DOVECOT} is missing; install Debian's dovecot-imapd"
)

SEEN = b"\\Seen"
KEYWORD = b"$IncassoStored"
ACCOUNT = "intake"
NON_ASCII_FOLDER = "Facturen/Ontvangen – België"


# ---------------------------------------------------------------------------
# Servers, accounts and messages


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    """One server for the module; each test gets a mailbox of its own."""
    with running_dovecot() as server:
        yield server


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Mailbox:
    if dovecot.process is None:
        dovecot.start()  # a test that stopped the server failed before it restarted it
    return dovecot.new_mailbox()


def account_for(mailbox: Mailbox, **changes: Any) -> MailboxAccount:
    values: dict[str, Any] = {
        "name": ACCOUNT,
        "host": "127.0.0.1",
        "port": mailbox.server.port,
        "security": "plain",
        "username": mailbox.user,
        "password": mailbox.password,
        "idle": False,
        "timeout_seconds": 10.0,
    }
    values.update(changes)
    return MailboxAccount(**values)


def poll(app: Application, account: MailboxAccount, **options: Any) -> PollReport:
    return poll_account(app.factory, app.rawstore, account, clock=app.clock, **options)


def message(number: int, *, padding: int = 0) -> bytes:
    """A small mail with CRLF line ends, as an IMAP server returns it."""
    mail = EmailMessage()
    mail["From"] = "ap@acme.test"
    mail["To"] = "intake@incasso.test"
    mail["Subject"] = f"Factuur {number}"
    mail["Message-ID"] = f"<imap-test-{number}@acme.test>"
    mail.set_content("Zie bijlage.\n" + "x" * padding)
    return mail.as_bytes(policy=SMTP)


def submission(sender: str) -> bytes:
    """A creditor's mail with one PDF invoice, which intake turns into a case."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "intake@incasso.test"
    mail["Subject"] = "Onbetaalde factuur"
    mail["Message-ID"] = "<submission-1@vandamme.example>"
    mail.set_content("Zie bijlage.")
    pdf = make_invoice_pdf(example_spec("nl"))
    mail.add_attachment(pdf, maintype="application", subtype="pdf", filename="f.pdf")
    return mail.as_bytes(policy=SMTP)


def register_example_creditor(app: Application) -> str:
    party = example_spec("nl").creditor
    with transaction(app.factory) as session:
        register_creditor(
            session,
            NewCreditor(
                code="VANDAMME",
                name=party.name,
                enterprise_number=party.vat,
                language="nl",
                address=f"{party.street}, {party.postcode} {party.city}",
                phone="+32 9 123 45 67",
                email=party.email,
                senders=(party.email.partition("@")[2],),
            ),
        )
    return str(party.email)


# ---------------------------------------------------------------------------
# Reading the store


def mail_rows(app: Application) -> list[MailMessage]:
    with transaction(app.factory) as session:
        query = (
            select(MailMessage)
            .options(selectinload(MailMessage.raw_document))
            .order_by(MailMessage.id)
        )
        return list(session.scalars(query))


def imap_rows(app: Application) -> list[ImapMessage]:
    with transaction(app.factory) as session:
        return list(session.scalars(select(ImapMessage).order_by(ImapMessage.id)))


def review_items(app: Application) -> list[ReviewItem]:
    with transaction(app.factory) as session:
        return list(session.scalars(select(ReviewItem).order_by(ReviewItem.id)))


def case_count(app: Application) -> int:
    with transaction(app.factory) as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


def stored_bytes(app: Application) -> list[bytes]:
    return sorted(app.rawstore.get(row.raw_document.sha256) for row in mail_rows(app))


# ---------------------------------------------------------------------------
# Taking messages in


def test_new_messages_stored_once_and_moved(app: Application, mailbox: Mailbox) -> None:
    """GIVEN three new messages WHEN polled THEN each is stored once and moved to Processed."""
    raws = [message(number) for number in range(3)]
    for raw in raws:
        mailbox.append("INBOX", raw)

    report = poll(app, account_for(mailbox))

    assert report == PollReport(stored=3)
    assert stored_bytes(app) == sorted(raws)
    assert {row.channel for row in mail_rows(app)} == {Channel.IMAP}
    assert {row.peer for row in mail_rows(app)} == {f"imap:{ACCOUNT}/INBOX"}
    assert mailbox.messages("INBOX") == {}
    assert sorted(mailbox.messages("Processed").values()) == sorted(raws)
    rows = imap_rows(app)
    assert [row.status for row in rows] == ["done"] * 3
    assert {row.message_id for row in rows} == {f"<imap-test-{n}@acme.test>" for n in range(3)}
    assert {row.mail_message_id for row in rows} == {row.id for row in mail_rows(app)}


def test_moved_message_keeps_seen_unset(app: Application, mailbox: Mailbox) -> None:
    """Fetching uses BODY.PEEK[], so the moved message arrives in Processed still unread."""
    mailbox.append("INBOX", message(1))

    poll(app, account_for(mailbox))

    (flags,) = mailbox.flags("Processed").values()
    assert SEEN not in flags


def test_flag_post_action_marks_seen_and_keyword(app: Application, mailbox: Mailbox) -> None:
    """With processed_folder None, a stored message stays in place with \\Seen and the keyword."""
    uid = mailbox.append("INBOX", message(1))

    report = poll(app, account_for(mailbox, processed_folder=None))

    assert report == PollReport(stored=1)
    assert list(mailbox.messages("INBOX")) == [uid]
    assert {SEEN, KEYWORD} <= mailbox.flags("INBOX")[uid]
    assert not mailbox.folder_exists("Processed")


def test_second_poll_takes_nothing_new(app: Application, mailbox: Mailbox) -> None:
    """GIVEN messages stored and flagged in place WHEN polled again THEN nothing is taken."""
    mailbox.append("INBOX", message(1))
    mailbox.append("INBOX", message(2))
    account = account_for(mailbox, processed_folder=None)
    poll(app, account)

    report = poll(app, account)

    assert report == PollReport()
    assert len(mail_rows(app)) == 2
    assert len(imap_rows(app)) == 2


def test_same_bytes_appended_twice_received_once(app: Application, mailbox: Mailbox) -> None:
    """Two UIDs with the same bytes make one mail_message; the second counts as a duplicate."""
    raw = message(1)
    mailbox.append("INBOX", raw)
    mailbox.append("INBOX", raw)

    report = poll(app, account_for(mailbox))

    assert report == PollReport(stored=1, duplicates=1)
    (row,) = mail_rows(app)
    assert [imap.mail_message_id for imap in imap_rows(app)] == [row.id, row.id]
    assert mailbox.messages("INBOX") == {}
    assert len(mailbox.messages("Processed")) == 2


def test_small_spans_and_batches_take_every_message(
    app: Application, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UID SEARCH spans, FETCH batches and body groups split at odd places lose nothing."""
    monkeypatch.setattr(imap_sync, "SEARCH_SPAN", 2)
    monkeypatch.setattr(imap_sync, "FETCH_BYTES_BUDGET", 1)
    raws = [message(number) for number in range(5)]
    for raw in raws:
        mailbox.append("INBOX", raw)

    report = poll(app, account_for(mailbox, batch_size=2))

    assert report == PollReport(stored=5)
    assert stored_bytes(app) == sorted(raws)
    assert mailbox.messages("INBOX") == {}


def test_move_fallback_copies_and_expunges(
    app: Application, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without MOVE, the post-action is COPY, \\Deleted and UID EXPUNGE."""
    original = IMAPClient.has_capability

    def without_move(client: IMAPClient, capability: str) -> bool:
        return capability.upper() != "MOVE" and bool(original(client, capability))

    monkeypatch.setattr(IMAPClient, "has_capability", without_move)
    raw = message(1)
    mailbox.append("INBOX", raw)

    report = poll(app, account_for(mailbox))

    assert report == PollReport(stored=1)
    assert mailbox.messages("INBOX") == {}
    assert list(mailbox.messages("Processed").values()) == [raw]


def test_non_ascii_folder_names_work(app: Application, mailbox: Mailbox) -> None:
    """Folder names travel as modified UTF-7 and are stored as Unicode."""
    processed = "Facturen/Verwerkt – Liège"
    raw = message(1)
    mailbox.append(NON_ASCII_FOLDER, raw)
    account = account_for(mailbox, folders=(NON_ASCII_FOLDER,), processed_folder=processed)

    report = poll(app, account)

    assert report == PollReport(stored=1)
    assert mailbox.messages(NON_ASCII_FOLDER) == {}
    assert list(mailbox.messages(processed).values()) == [raw]
    assert [row.folder for row in imap_rows(app)] == [NON_ASCII_FOLDER]
    (row,) = mail_rows(app)
    assert row.peer == f"imap:{ACCOUNT}/{NON_ASCII_FOLDER}"
    with transaction(app.factory) as session:
        assert list(session.scalars(select(ImapFolder.folder))) == [NON_ASCII_FOLDER]


# ---------------------------------------------------------------------------
# Size limit


def test_too_large_listed_for_review_and_left_unfetched(
    app: Application, dovecot: Dovecot, mailbox: Mailbox
) -> None:
    """A message above max_message_bytes gets one review item and stays on the server unread."""
    big = message(1, padding=50_000)
    small = message(2)
    big_uid = mailbox.append("INBOX", big)
    mailbox.append("INBOX", small)
    account = account_for(mailbox, max_message_bytes=10_000)

    report = poll(app, account)

    assert report == PollReport(stored=1, too_large=1)
    assert stored_bytes(app) == [small]
    fetched = body_bytes_fetched(dovecot, mailbox.user, sessions_with_bodies=1)
    assert max(fetched) < len(big)
    (item,) = review_items(app)
    assert item.kind == ReviewKind.TOO_LARGE
    assert item.reasons == ["too_large"]
    assert item.detail is not None
    for fact in (f"'{ACCOUNT}'", "'INBOX'", f"UID {big_uid}", f"{len(big)} bytes"):
        assert fact in item.detail
    (too_large,) = [row for row in imap_rows(app) if row.status == "too_large"]
    assert (too_large.uid, too_large.size, too_large.mail_message_id) == (big_uid, len(big), None)
    assert mailbox.messages("INBOX") == {big_uid: big}
    assert SEEN not in mailbox.flags("INBOX")[big_uid]

    assert poll(app, account) == PollReport()
    assert len(review_items(app)) == 1


def body_bytes_fetched(dovecot: Dovecot, user: str, *, sessions_with_bodies: int) -> list[int]:
    """Return body_bytes of every logged-out session of ``user`` from Dovecot's log.

    Waits until ``sessions_with_bodies`` sessions with a body fetch were logged,
    because Dovecot writes the line after the client has gone.
    """
    pattern = re.compile(rf"imap\({re.escape(user)}\).*body_count=(\d+) body_bytes=(\d+)")
    deadline = time.monotonic() + 5
    while True:
        matches = [pattern.search(line) for line in dovecot.log_path.read_text().splitlines()]
        sessions = [(int(m.group(1)), int(m.group(2))) for m in matches if m]
        if sum(1 for count, _ in sessions if count) >= sessions_with_bodies:
            return [size for _, size in sessions]
        if time.monotonic() > deadline:
            raise AssertionError(f"Dovecot logged no body fetch for {user}: {sessions}")
        time.sleep(0.05)


# ---------------------------------------------------------------------------
# UIDVALIDITY change


def test_uidvalidity_change_resyncs_without_second_message_or_case(
    app: Application, mailbox: Mailbox
) -> None:
    """GIVEN a stored submission and a too-large message WHEN UIDVALIDITY changes
    THEN both are recognized: no second mail_message, case or review item."""
    sender = register_example_creditor(app)
    mailbox.append("INBOX", submission(sender))
    mailbox.append("INBOX", message(1, padding=300_000))
    account = account_for(mailbox, processed_folder=None, max_message_bytes=200_000)
    assert poll(app, account) == PollReport(stored=1, too_large=1)
    app.jobs.run_intake()
    assert case_count(app) == 1
    reviews_before = [(item.kind, item.reasons) for item in review_items(app)]
    assert [kind for kind, _ in reviews_before].count(ReviewKind.TOO_LARGE) == 1
    old_uidvalidity = mailbox.uidvalidity("INBOX")

    mailbox.reset_uidvalidity("INBOX")
    report = poll(app, account)
    app.jobs.run_intake()

    new_uidvalidity = mailbox.uidvalidity("INBOX")
    assert new_uidvalidity != old_uidvalidity
    assert report == PollReport(resynced=2)
    assert len(mail_rows(app)) == 1
    assert case_count(app) == 1
    assert [(item.kind, item.reasons) for item in review_items(app)] == reviews_before
    rows = imap_rows(app)
    assert sorted((row.uidvalidity, row.status) for row in rows) == sorted(
        [
            (old_uidvalidity, "done"),
            (old_uidvalidity, "too_large"),
            (new_uidvalidity, "done"),
            (new_uidvalidity, "too_large"),
        ]
    )
    assert {row.mail_message_id for row in rows if row.status == "done"} == {mail_rows(app)[0].id}
    with transaction(app.factory) as session:
        assert session.scalar(select(ImapFolder.uidvalidity)) == new_uidvalidity

    assert poll(app, account) == PollReport()


# ---------------------------------------------------------------------------
# Crashes and failures


PostAction = Callable[[IMAPClient, "str | None", Sequence[int]], None]


@pytest.mark.parametrize(
    ("processed_folder", "crash_after_action"),
    [
        pytest.param(None, False, id="flag-crash-before-action"),
        pytest.param("Processed", False, id="move-crash-before-action"),
        pytest.param("Processed", True, id="move-crash-after-action"),
    ],
)
def test_crash_around_post_action_leaves_no_duplicate(
    app: Application,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    processed_folder: str | None,
    crash_after_action: bool,
) -> None:
    """GIVEN the post-action fails once after the commit WHEN polled again
    THEN the message gets its post-action and nothing is stored twice."""
    real_action: PostAction = imap_sync.apply_post_action
    calls: list[list[int]] = []

    def crash_once(client: IMAPClient, folder: str | None, uids: Sequence[int]) -> None:
        calls.append(list(uids))
        if len(calls) == 1:
            if crash_after_action:
                real_action(client, folder, uids)
            raise IMAPClientAbortError("connection lost (simulated by the test)")
        real_action(client, folder, uids)

    monkeypatch.setattr(imap_sync, "apply_post_action", crash_once)
    raw = message(1)
    uid = mailbox.append("INBOX", raw)
    account = account_for(mailbox, processed_folder=processed_folder)

    first = poll(app, account)

    assert first == PollReport(stored=1, errors=1)
    assert [row.status for row in imap_rows(app)] == ["stored"]
    if not crash_after_action:
        assert SEEN not in mailbox.flags("INBOX")[uid]

    second = poll(app, account)

    assert second == PollReport()
    assert stored_bytes(app) == [raw]
    assert [row.status for row in imap_rows(app)] == ["done"]
    if processed_folder is None:
        assert {SEEN, KEYWORD} <= mailbox.flags("INBOX")[uid]
    else:
        assert mailbox.messages("INBOX") == {}
        assert list(mailbox.messages(processed_folder).values()) == [raw]


def test_connection_dropped_mid_fetch_then_rest_taken(
    app: Application,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """GIVEN the server's imap process dies after the first message is stored
    THEN the poll reports an error and the next poll takes the remaining messages."""
    raws = [message(number) for number in range(4)]
    for raw in raws:
        mailbox.append("INBOX", raw)
    real_receive = imap_sync.receive_and_record
    killed: list[int] = []

    def receive_then_drop(*args: Any, **kwargs: Any) -> Any:
        receipt = real_receive(*args, **kwargs)
        if not killed:
            killed.append(mailbox.kill_sessions())
        return receipt

    monkeypatch.setattr(imap_sync, "receive_and_record", receive_then_drop)
    account = account_for(mailbox, batch_size=1)

    with caplog.at_level(logging.WARNING, logger="incasso.intake"):
        first = poll(app, account)

    assert killed == [1]
    assert first == PollReport(stored=1, errors=1)
    assert f"account={ACCOUNT} folder=INBOX poll failed" in caplog.text

    second = poll(app, account)

    assert second == PollReport(stored=3)
    assert stored_bytes(app) == sorted(raws)
    assert mailbox.messages("INBOX") == {}
    assert sorted(mailbox.messages("Processed").values()) == sorted(raws)
    assert {row.status for row in imap_rows(app)} == {"done"}


def test_server_down_reported_then_next_poll_takes_mail(
    app: Application, dovecot: Dovecot, mailbox: Mailbox
) -> None:
    """A refused connection is one error in the report; after a restart the mail comes in."""
    raw = message(1)
    mailbox.append("INBOX", raw)
    account = account_for(mailbox)

    dovecot.stop()
    try:
        down = poll(app, account)
    finally:
        dovecot.start()
    up = poll(app, account)

    assert down == PollReport(errors=1)
    assert up == PollReport(stored=1)
    assert stored_bytes(app) == [raw]


def test_missing_folder_skipped_and_others_polled(
    app: Application, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder the server does not have is reported; the next folder is still polled."""
    mailbox.append("INBOX", message(1))
    account = account_for(mailbox, folders=("Bestaat niet", "INBOX"))

    with caplog.at_level(logging.WARNING, logger="incasso.intake"):
        report = poll(app, account)

    assert report == PollReport(stored=1, errors=1, failed_folders=("Bestaat niet",))
    assert f"account={ACCOUNT} folder=Bestaat niet skipped" in caplog.text


def test_wrong_password_reported_and_not_logged(
    app: Application, dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed login is one error in the report; neither password appears in any log."""
    mailbox = dovecot.new_mailbox()
    mailbox.append("INBOX", message(1))
    wrong_password = "Verkeerd-9a2c4"

    with caplog.at_level(logging.DEBUG):
        failed = poll(app, account_for(mailbox, password=wrong_password))
        succeeded = poll(app, account_for(mailbox))

    assert failed == PollReport(errors=1)
    assert succeeded == PollReport(stored=1)
    assert mailbox.password not in caplog.text
    assert wrong_password not in caplog.text
    assert f"account={ACCOUNT} poll failed" in caplog.text


# ---------------------------------------------------------------------------
# Account settings


def test_plain_on_remote_host_rejected() -> None:
    """security = "plain" to a host that is not loopback is rejected before any connection."""
    with pytest.raises(ValueError, match="plain") as error:
        MailboxAccount(
            name="remote", host="imap.example.com", port=143, security="plain",
            username="intake", password="x",
        )  # fmt: skip

    text = str(error.value)
    assert "imap.example.com" in text
    assert 'set security to "tls"' in text


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_plain_on_loopback_accepted(host: str) -> None:
    account = MailboxAccount(
        name="local", host=host, port=143, security="plain", username="intake", password="x"
    )

    assert account.security == "plain"


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"password": None}, "set password or oauth2_token"),
        ({"folders": ["INBOX", "Processed"]}, "processed_folder 'Processed' is also in folders"),
        ({"folders": []}, "folders is empty"),
        ({"security": "ssl"}, "security 'ssl' is invalid"),
        ({"batch_size": 0}, "batch_size must be positive"),
    ],
)
def test_unusable_account_rejected(changes: dict[str, Any], named: str) -> None:
    values: dict[str, Any] = {"name": "x", "host": "imap.example.com", "username": "u"}
    values["password"] = "p"
    values.update(changes)

    with pytest.raises(ValueError, match=re.escape(named)):
        MailboxAccount(**values)


def test_settings_convert_to_account() -> None:
    """The app layer builds the account from ImapAccountSettings field by field."""
    from incasso.app.settings import ImapAccountSettings

    settings = ImapAccountSettings(
        name="main", host="imap.example.com", username="u", password="p", folders=["INBOX", "B"]
    )

    account = MailboxAccount(**settings.model_dump())

    assert account.folders == ("INBOX", "B")
    assert account.security == "tls"
    assert "password" not in repr(account)
    assert "oauth2_token" not in repr(account)


# ---------------------------------------------------------------------------
# Transport security and XOAUTH2


@pytest.fixture(scope="module")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_dovecot(
    certificate_authority: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dovecot]:
    folder = tmp_path_factory.mktemp("tls")
    issued = certificate_authority.issue_cert("127.0.0.1")
    certificate, key = folder / "server.pem", folder / "server.key"
    issued.cert_chain_pems[0].write_to_path(str(certificate))
    for extra in issued.cert_chain_pems[1:]:
        extra.write_to_path(str(certificate), append=True)
    issued.private_key_pem.write_to_path(str(key))
    with running_dovecot(tls=TlsFiles(Path(certificate), Path(key))) as server:
        yield server


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_tls_and_starttls_verify_the_server(
    app: Application, tls_dovecot: Dovecot, certificate_authority: trustme.CA, security: str
) -> None:
    """Both TLS modes take mail with a trusted certificate and reject an untrusted one."""
    mailbox = tls_dovecot.new_mailbox()
    mailbox.append("INBOX", message(1))
    port = tls_dovecot.tls_port if security == "tls" else tls_dovecot.port
    account = account_for(mailbox, security=security, port=port)
    trusting = ssl.create_default_context()
    certificate_authority.configure_trust(trusting)

    untrusted = poll(app, account)
    trusted = poll(app, account, ssl_context=trusting)

    assert untrusted == PollReport(errors=1)
    assert trusted == PollReport(stored=1)


@pytest.fixture(scope="module")
def introspection() -> Iterator[TokenIntrospection]:
    with TokenIntrospection() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def oauth2_dovecot(introspection: TokenIntrospection) -> Iterator[Dovecot]:
    with running_dovecot(oauth2_introspection_url=introspection.url) as server:
        yield server


def test_xoauth2_login_takes_mail_and_hides_token(
    app: Application,
    oauth2_dovecot: Dovecot,
    introspection: TokenIntrospection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """XOAUTH2 with a valid token logs in; a wrong one is an error; no token is logged."""
    mailbox = oauth2_dovecot.new_mailbox()
    mailbox.append("INBOX", message(1))
    token = f"token-for-{mailbox.user}"
    introspection.tokens[token] = mailbox.user

    with caplog.at_level(logging.DEBUG):
        rejected = poll(app, account_for(mailbox, password=None, oauth2_token="not-" + token))
        accepted = poll(app, account_for(mailbox, password=None, oauth2_token=token))

    assert rejected == PollReport(errors=1)
    assert accepted == PollReport(stored=1)
    assert introspection.requests[-2:] == ["not-" + token, token]
    assert token not in caplog.text


# ---------------------------------------------------------------------------
# Watching: IDLE and polling


class Watcher:
    """``watch_account`` in a thread, with its poll reports in a queue."""

    def __init__(self, app: Application, account: MailboxAccount) -> None:
        self.stop = threading.Event()
        self.reports: queue.Queue[PollReport] = queue.Queue()
        self.thread = threading.Thread(
            target=watch_account,
            args=(app.factory, app.rawstore, account),
            kwargs={"clock": app.clock, "stop": self.stop, "on_poll": self.reports.put},
            daemon=True,
        )

    def next_busy_report(self, timeout: float) -> PollReport:
        """Return the next report that took something in, or fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"nothing was taken in within {timeout} s")
            try:
                report = self.reports.get(timeout=remaining)
            except queue.Empty:
                continue
            if report != PollReport():
                return report

    def stop_and_time(self) -> float:
        started = time.monotonic()
        self.stop.set()
        self.thread.join(timeout=10)
        return time.monotonic() - started


@pytest.fixture
def watch(app: Application) -> Iterator[Callable[[MailboxAccount], Watcher]]:
    watchers: list[Watcher] = []

    def start(account: MailboxAccount) -> Watcher:
        watcher = Watcher(app, account)
        watchers.append(watcher)
        watcher.thread.start()
        return watcher

    yield start
    for watcher in watchers:
        watcher.stop_and_time()


def test_idle_stores_new_message_within_seconds(
    app: Application, mailbox: Mailbox, watch: Callable[[MailboxAccount], Watcher]
) -> None:
    """GIVEN watch_account in IDLE, with polling every 10 minutes WHEN a message arrives
    THEN it is stored within seconds, and the loop stops promptly when asked."""
    watcher = watch(account_for(mailbox, idle=True, poll_seconds=600))
    assert watcher.reports.get(timeout=10) == PollReport()
    time.sleep(0.3)  # let the loop enter IDLE

    raw = message(1)
    mailbox.append("INBOX", raw)

    assert watcher.next_busy_report(timeout=5) == PollReport(stored=1)
    assert stored_bytes(app) == [raw]
    assert watcher.stop_and_time() < 3
    assert not watcher.thread.is_alive()


def test_idle_reconnects_after_server_drops_connection(
    app: Application,
    mailbox: Mailbox,
    watch: Callable[[MailboxAccount], Watcher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A connection that dies during IDLE is noticed, not spun on: the loop reconnects."""
    watcher = watch(account_for(mailbox, idle=True, poll_seconds=0.5))
    assert watcher.reports.get(timeout=10) == PollReport()
    time.sleep(0.3)  # let the loop enter IDLE

    with caplog.at_level(logging.WARNING, logger="incasso.intake"):
        assert mailbox.kill_sessions() == 1
        mailbox.append("INBOX", message(1))
        report = watcher.next_busy_report(timeout=8)

    assert report == PollReport(stored=1)
    assert "connection closed during IDLE" in caplog.text
    assert watcher.stop_and_time() < 3


def test_polling_without_idle_takes_mail_and_stops(
    app: Application, mailbox: Mailbox, watch: Callable[[MailboxAccount], Watcher]
) -> None:
    """With idle off, the loop polls every poll_seconds and stops promptly."""
    mailbox.append("INBOX", message(1))
    watcher = watch(account_for(mailbox, idle=False, poll_seconds=0.2))

    assert watcher.next_busy_report(timeout=5) == PollReport(stored=1)
    mailbox.append("INBOX", message(2))
    assert watcher.next_busy_report(timeout=5) == PollReport(stored=1)
    assert watcher.stop_and_time() < 3
    assert len(mail_rows(app)) == 2
