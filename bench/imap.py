"""IMAP intake throughput from a local Dovecot, beside a plain-fetch floor from the same run.

Run: ``.venv/bin/python -m bench.imap`` (from the repository root; needs
Debian's dovecot-imapd). One Dovecot from ``tests.dovecot`` serves the whole
run on 127.0.0.1. Each round appends the same generated mails (about 20 KB
each, with a random attachment) to three fresh mailboxes and times, per mail:

- ``fetch``: plain imapclient, UID SEARCH ALL, then FETCH BODY.PEEK[] in
  batches of 25, nothing stored. This is the floor;
- ``poll-move``: ``poll_account`` into a fresh SQLite store, moving each
  stored mail to the processed folder (the default);
- ``poll-flag``: the same with ``processed_folder`` None, which flags each
  stored mail ``\\Seen`` and ``$IncassoStored`` in place.

The three stages run in shuffled order each round, so machine noise hits
them alike. The output gives medians over the rounds, mails per second and
each stage's ratio to ``fetch``.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import TypeVar

from imapclient import IMAPClient

from incasso.app.context import build_application
from incasso.app.settings import Settings
from incasso.intake.imap import MailboxAccount, PollReport, poll_account
from tests.dovecot import HOST, Dovecot, Mailbox, running_dovecot

MAILS_PER_ROUND = 200
ROUNDS = 5
BATCH_SIZE = 25
ATTACHMENT_BYTES = 15_000
STAGES = ("fetch", "poll-move", "poll-flag")

Result = TypeVar("Result")


def generated_mails(count: int, seed: int) -> list[bytes]:
    """Return ``count`` distinct mails with a random attachment, CRLF line ends."""
    generator = random.Random(seed)
    mails = []
    for number in range(count):
        mail = EmailMessage()
        mail["From"] = "ap@acme.test"
        mail["To"] = "intake@incasso.test"
        mail["Subject"] = f"Factuur B{seed:03d}-{number:05d}"
        mail["Message-ID"] = f"<bench-imap-{seed}-{number}@acme.test>"
        mail.set_content("Zie bijlage.")
        mail.add_attachment(
            generator.randbytes(ATTACHMENT_BYTES),
            maintype="application",
            subtype="pdf",
            filename="f.pdf",
        )
        mails.append(mail.as_bytes(policy=SMTP))
    return mails


def seeded_mailbox(server: Dovecot, mails: list[bytes]) -> Mailbox:
    mailbox = server.new_mailbox()
    with mailbox.client() as client:
        for raw in mails:
            client.append("INBOX", raw)
    return mailbox


def fetch_only(mailbox: Mailbox) -> int:
    """Fetch every mail of INBOX the way intake does, store nothing; return the bytes read."""
    total = 0
    with IMAPClient(HOST, mailbox.server.port, ssl=False, timeout=60) as client:
        client.login(mailbox.user, mailbox.password)
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search("ALL"))
        for start in range(0, len(uids), BATCH_SIZE):
            response = client.fetch(uids[start : start + BATCH_SIZE], ["BODY.PEEK[]"])
            total += sum(len(data[b"BODY[]"]) for data in response.values())
    return total


def poll_into_fresh_store(mailbox: Mailbox, folder: Path, processed: str | None) -> float:
    """Build a fresh SQLite application, then return the seconds ``poll_account`` takes."""
    app = build_application(Settings(data_dir=folder / "var", database_url=""))
    account = MailboxAccount(
        name="bench",
        host=HOST,
        port=mailbox.server.port,
        security="plain",
        username=mailbox.user,
        password=mailbox.password,
        processed_folder=processed,
        batch_size=BATCH_SIZE,
    )
    try:
        seconds, report = timed(
            lambda: poll_account(app.factory, app.rawstore, account, clock=app.clock)
        )
    finally:
        app.close()
    if report != PollReport(stored=MAILS_PER_ROUND):
        raise RuntimeError(f"poll into {folder} took in the wrong mails: {report}")
    return seconds


def timed(work: Callable[[], Result]) -> tuple[float, Result]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def one_round(server: Dovecot, round_number: int) -> dict[str, float]:
    """Return the seconds per mail of each stage in one round."""
    mails = generated_mails(MAILS_PER_ROUND, round_number)
    mailboxes = {stage: seeded_mailbox(server, mails) for stage in STAGES}
    order = list(STAGES)
    random.Random(round_number).shuffle(order)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as move_dir, tempfile.TemporaryDirectory() as flag_dir:
        for stage in order:
            if stage == "fetch":
                seconds, total = timed(lambda: fetch_only(mailboxes["fetch"]))
                if total < sum(len(raw) for raw in mails):
                    raise RuntimeError(f"fetch read {total} bytes, fewer than were appended")
            elif stage == "poll-move":
                seconds = poll_into_fresh_store(mailboxes[stage], Path(move_dir), "Processed")
            else:
                seconds = poll_into_fresh_store(mailboxes[stage], Path(flag_dir), None)
            results[stage] = seconds / MAILS_PER_ROUND
    return results


def main() -> None:
    with running_dovecot(users=ROUNDS * len(STAGES)) as server:
        rounds = [one_round(server, number) for number in range(ROUNDS)]
    floor = statistics.median(result["fetch"] for result in rounds)
    version = sys.version.split()[0]
    size = len(generated_mails(1, 0)[0])
    print(
        f"{MAILS_PER_ROUND} mails of {size} bytes per round, {ROUNDS} rounds, "
        f"batches of {BATCH_SIZE}, local Dovecot, SQLite, Python {version}"
    )
    print(f"{'stage':<11}{'median ms/mail':>16}{'mails/s':>10}{'min':>9}{'max':>9}{'x fetch':>9}")
    for name in STAGES:
        values = [result[name] * 1000 for result in rounds]
        median = statistics.median(values)
        spread = f"{min(values):>9.2f}{max(values):>9.2f}"
        print(
            f"{name:<11}{median:>16.2f}{1000 / median:>10.0f}{spread}{median / floor / 1000:>9.1f}"
        )


if __name__ == "__main__":
    main()
