"""Intake and reminder throughput on generated submissions, with same-run baselines.

Run: ``.venv/bin/python -m bench.intake`` (from the repository root). Each
round builds a fresh SQLite store in a temporary folder and times, per mail:

- ``receive``: store the raw bytes durably and commit the row (what the SMTP
  receiver does before it answers 250);
- ``extract``: invoice extraction alone on the PDF (pdfplumber);
- ``intake``: receive, then parse, route, extract and open the case;
- ``remind``: queue the first reminder (render nl + write) and send it to the
  outbox folder.

The stages are interleaved in shuffled order each round, so machine noise
hits them alike; the output gives medians over the rounds and each stage's
ratio to ``receive``, the floor measured in the same run.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

from incasso.app.context import Application, build_application
from incasso.app.settings import Settings
from incasso.cases.creditors import NewCreditor, register_creditor
from incasso.intake.extract import extract_document
from incasso.intake.receive import Envelope, receive
from incasso.store.db import transaction
from incasso.store.models import Channel
from tests.factories.invoice_pdf import example_spec, make_invoice_pdf

MAILS_PER_ROUND = 40
# Mail handed over by a relay on loopback, as from the SMTP receiver of `incasso serve`.
RELAYED = Envelope(peer="127.0.0.1:40000")
ROUNDS = 5


def submissions(count: int, seed: int) -> list[tuple[bytes, bytes]]:
    """Return ``count`` distinct (mail, pdf) pairs from one creditor."""
    base = example_spec("nl")
    pairs = []
    for number in range(count):
        spec = replace(base, number=f"B{seed:03d}-{number:05d}")
        pdf = make_invoice_pdf(spec)
        message = EmailMessage()
        message["From"] = base.creditor.email
        message["To"] = "intake@incasso.test"
        message["Subject"] = f"Factuur {spec.number}"
        message["Message-ID"] = f"<bench-{seed}-{number}@bench.example>"
        message.set_content("Zie bijlage.")
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename="f.pdf")
        pairs.append((message.as_bytes(), pdf))
    return pairs


def fresh_application(folder: Path) -> Application:
    settings = Settings(data_dir=folder / "var", database_url="")
    app = build_application(settings)
    party = example_spec("nl").creditor
    assert party.vat is not None and party.email is not None
    with transaction(app.factory) as session:
        register_creditor(
            session,
            NewCreditor("BENCH", party.name, party.vat, "nl", "Kerkstraat 1, 9000 Gent",
                        "+32 9 123 45 67", party.email, (party.email.partition("@")[2],)),
        )  # fmt: skip
    return app


def per_mail(seconds: float, count: int) -> float:
    return seconds / count * 1000


def time_stage(work: Callable[[], None]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def one_round(round_number: int) -> dict[str, float]:
    pairs = submissions(MAILS_PER_ROUND, round_number)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as receive_dir, tempfile.TemporaryDirectory() as full_dir:
        receive_app = fresh_application(Path(receive_dir))
        full_app = fresh_application(Path(full_dir))

        def receive_only() -> None:
            for raw, _pdf in pairs:
                receive(
                    receive_app.factory,
                    receive_app.rawstore,
                    raw,
                    channel=Channel.SMTP,
                    envelope=RELAYED,
                )

        def extract_only() -> None:
            for _raw, pdf in pairs:
                extract_document(pdf, filename="f.pdf")

        def full_intake() -> None:
            for raw, _pdf in pairs:
                receive(
                    full_app.factory, full_app.rawstore, raw, channel=Channel.SMTP, envelope=RELAYED
                )
            full_app.jobs.run_intake()

        stages = {"receive": receive_only, "extract": extract_only, "intake": full_intake}
        order = list(stages)
        random.Random(round_number).shuffle(order)
        for name in order:
            results[name] = per_mail(time_stage(stages[name]), MAILS_PER_ROUND)

        def remind() -> None:
            queued = full_app.jobs.run_dispatch()
            sent = full_app.jobs.run_outbox()
            # A silent change upstream (drafts instead of active cases) must not pass for speed.
            if queued != MAILS_PER_ROUND or sent != MAILS_PER_ROUND:
                raise RuntimeError(
                    f"expected {MAILS_PER_ROUND} reminders, queued {queued} and sent {sent}; "
                    "check that the generated submissions still open active cases"
                )

        results["remind"] = per_mail(time_stage(remind), MAILS_PER_ROUND)
        receive_app.close()
        full_app.close()
    return results


def main() -> None:
    rounds = [one_round(number) for number in range(ROUNDS)]
    floor = statistics.median(result["receive"] for result in rounds)
    version = sys.version.split()[0]
    print(f"{MAILS_PER_ROUND} mails per round, {ROUNDS} rounds, SQLite, Python {version}")
    print(f"{'stage':<10}{'median ms/mail':>16}{'min':>9}{'max':>9}{'x receive':>11}")
    for name in ("receive", "extract", "intake", "remind"):
        values = [result[name] for result in rounds]
        median = statistics.median(values)
        spread = f"{min(values):>9.2f}{max(values):>9.2f}"
        print(f"{name:<10}{median:>16.2f}{spread}{median / floor:>11.1f}")


if __name__ == "__main__":
    main()
