"""Threading replies: how fast a reply finds its case among a million sent messages.

Run: ``.venv/bin/python -m bench.threading`` (from the repository root; add
``--backend sqlite`` or ``--backend postgresql`` for one store only, and
``--sent`` or ``--replies`` for other sizes).

The store holds 1,000,000 sent messages on 100,000 cases, ten per case, each
with its own Message-ID. Each round takes 2,000 replies whose In-Reply-To names
a random sent message and times, in shuffled order:

- ``lookup``: the bare indexed query for the case of one Message-ID;
- ``route``: what intake does with a reply: check that it is no bounce or
  automatic reply, look for a per-case reply address, then thread it by
  In-Reply-To and References.

The output gives medians over the rounds in replies per second, and the
ratio of route to lookup.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bench.ladder import insert_chunks, postgres_database, settings_for
from incasso.app.context import Application, build_application
from incasso.cases.law import make_ogm
from incasso.intake.mime import ParsedMail
from incasso.intake.route import route
from incasso.store.db import transaction
from incasso.store.models import Case, CaseStatus, Document, MailMessage, MessageKind

NOW = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
MESSAGES_PER_CASE = 10
ROUNDS = 5


def message_id(number: int) -> str:
    return f"<2026-{number // MESSAGES_PER_CASE:06d}.reminder.{number:08x}@incasso.test>"


def case_rows(cases: int) -> Iterator[dict[str, object]]:
    for number in range(cases):
        yield {
            "id": number + 1,
            "reference": f"2026-{number:06d}",
            "ogm": make_ogm(2026_000000 + number),
            "status": CaseStatus.ACTIVE,
            "language": "nl",
            "currency": "EUR",
            "created_at": NOW,
            "updated_at": NOW,
        }


def message_rows(sent: int) -> Iterator[dict[str, object]]:
    for number in range(sent):
        yield {
            "dedupe_key": f"out:{number}",
            "direction": "out",
            "channel": "outbox",
            "status": "sent",
            "kind": "reminder",
            "raw_document_id": 1,
            "case_id": number // MESSAGES_PER_CASE + 1,
            "message_id": message_id(number),
            "created_at": NOW,
        }


def fill(app: Application, sent: int) -> None:
    """Write the cases and sent messages with bulk inserts, then refresh the statistics."""
    with transaction(app.factory) as session:
        session.execute(
            insert(Document),
            [{"id": 1, "sha256": "0" * 64, "size": 0, "content_type": "message/rfc822"}],
        )
        insert_chunks(session, Case, case_rows(sent // MESSAGES_PER_CASE))
        insert_chunks(session, MailMessage, message_rows(sent))
    with app.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def replies(sent: int, count: int, seed: int) -> list[ParsedMail]:
    """Return ``count`` replies, each to a random sent message."""
    chosen = random.Random(seed).sample(range(sent), count)
    return [
        ParsedMail(
            message_id=f"<reply-{seed}-{number}@home.example>",
            in_reply_to=[message_id(number)],
            references=[message_id(number)],
            subject="Re: Herinnering",
            from_address="klant@home.example",
            to=["dossiers@incasso.test"],
            text="Ik betaal volgende week.",
        )
        for number in chosen
    ]


def time_lookup(session: Session, answers: list[ParsedMail]) -> float:
    start = time.perf_counter()
    for answer in answers:
        replied_to = answer.in_reply_to[0]
        found = session.scalar(
            select(MailMessage.case_id).where(MailMessage.message_id == replied_to)
        )
        if found is None:
            raise RuntimeError(f"no sent message {answer.in_reply_to[0]}")
    return time.perf_counter() - start


def time_route(app: Application, session: Session, answers: list[ParsedMail]) -> float:
    start = time.perf_counter()
    for answer in answers:
        routing = route(session, answer, MailMessage(), app.addresses)
        # A silent change (replies no longer threaded) must not pass for speed.
        if routing.kind != MessageKind.REPLY or routing.matched_by != "in-reply-to":
            raise RuntimeError(f"reply routed as {routing.kind} by {routing.matched_by}")
    return time.perf_counter() - start


def rounds(app: Application, sent: int, count: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"lookup": [], "route": []}
    for number in range(ROUNDS):
        answers = replies(sent, count, number)
        order = ["lookup", "route"]
        random.Random(number).shuffle(order)
        for name in order:
            with transaction(app.factory) as session:
                if name == "lookup":
                    elapsed = time_lookup(session, answers)
                else:
                    elapsed = time_route(app, session, answers)
            results[name].append(count / elapsed)
    return results


def report(backend: str, sent: int, results: dict[str, list[float]]) -> None:
    lookup = statistics.median(results["lookup"])
    routed = statistics.median(results["route"])
    for name, values in results.items():
        print(
            f"| {backend} | {sent:,} | {name} | {statistics.median(values):,.0f} "
            f"| {min(values):,.0f} | {max(values):,.0f} "
            f"| {statistics.median(values) / lookup:.2f} |"
        )
    print(f"|  |  | route ÷ lookup time |  |  |  | {lookup / routed:.2f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sent", type=int, default=1_000_000)
    parser.add_argument("--replies", type=int, default=2_000)
    arguments = parser.parse_args()

    print(f"Python {sys.version.split()[0]}, {ROUNDS} rounds of {arguments.replies} replies")
    print("| store | sent messages | stage | median replies/s | min | max | × lookup |")
    print("|---|---:|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        if arguments.backend in ("sqlite", "both"):
            app = build_application(settings_for(Path(folder) / "s", ""))
            fill(app, arguments.sent)
            report("sqlite", arguments.sent, rounds(app, arguments.sent, arguments.replies))
            app.close()
        if arguments.backend in ("postgresql", "both"):
            with postgres_database(f"incasso_thread_{uuid.uuid4().hex[:8]}") as url:
                app = build_application(settings_for(Path(folder) / "p", url))
                fill(app, arguments.sent)
                results = rounds(app, arguments.sent, arguments.replies)
                report("postgresql", arguments.sent, results)
                app.close()


if __name__ == "__main__":
    main()
