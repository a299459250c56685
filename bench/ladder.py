"""Ladder dispatch: one run over the due cases of a large book, beside a bare select.

Run: ``.venv/bin/python -m bench.ladder`` (from the repository root; add
``--backend sqlite`` or ``--backend postgresql`` for one store only, and
``--cases``, ``--due`` and ``--rounds`` for other sizes).

The store contains 100,000 active cases, of which 10,000 have a step due: first,
second and third reminders by e-mail, to consumers and businesses (with
interest and compensation lines), in Dutch, French and German (the last two
rendered in Dutch with the courtesy translation beside it), each with its EPC
QR code. Each round starts from a copy of that store (a file copy on SQLite, a
database created from a template on PostgreSQL) and times:

- ``select``: the bare query for the due rows, every column, all 10,000 fetched;
- ``dispatch``: one ``run_dispatch`` that advances every due case in its own
  transaction: notice rendered, MIME message composed and stored in the
  outbox, charges stored, next step timed, event written.

The process is pinned to one core, so the dispatch figure is what one worker
achieves; the PostgreSQL server runs in its own processes beside it. A last
row runs ``--workers`` dispatch processes (two by default, one per core) on
copies of the PostgreSQL store, sharing the due cases as ``incasso serve``
processes would. The output gives medians over the rounds and the ratio of
dispatch to select.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import psycopg
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from incasso.app.context import Application, build_application
from incasso.app.settings import Settings
from incasso.cases.creditors import NewCreditor, register_creditor
from incasso.cases.ladder import LadderStep
from incasso.cases.law import make_ogm
from incasso.store.db import transaction
from incasso.store.models import (
    Base,
    Case,
    CaseStatus,
    Debtor,
    Direction,
    Invoice,
    MailMessage,
)

# A Tuesday, 10:00 in Brussels: inside the contact hours, not a holiday.
NOW = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
POSTGRES_URL = os.environ.get(
    "INCASSO_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
INSERT_CHUNK = 5_000
LANGUAGES = ("nl",) * 13 + ("fr",) * 6 + ("de",)
DUE_STEPS = (LadderStep.FIRST_REMINDER,) * 3 + (
    LadderStep.SECOND_REMINDER,
    LadderStep.SECOND_REMINDER,
    LadderStep.THIRD_REMINDER,
)
CREDITOR = NewCreditor(
    code="BENCH",
    name="Verwarming Debruyne BV",
    enterprise_number="0812345603",
    language="nl",
    address="Stationsstraat 4, 9000 Gent",
    phone="+32 9 222 33 44",
    email="boekhouding@debruyne.example",
    senders=("@debruyne.example",),
)


@dataclass(frozen=True)
class Book:
    cases: int
    due: int


@dataclass(frozen=True)
class RoundResult:
    select_seconds: float
    dispatch_seconds: float
    dispatch_cpu_seconds: float


def pin_to_one_core() -> int:
    """Run this process on one core only; return that core's number."""
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def debtor_rows(book: Book) -> Iterator[dict[str, object]]:
    for number in range(book.cases):
        business = number % 3 == 0
        yield {
            "id": number + 1,
            "name": f"Klant {number:06d}",
            "email": f"klant{number:06d}@debtor.example",
            "kind": "enterprise" if business else "consumer",
            "enterprise_number": "0417497106" if business else None,
            "language": LANGUAGES[number % len(LANGUAGES)],
            "address": f"Kerkstraat {number % 200 + 1}, 9000 Gent",
            "created_at": NOW,
        }


def case_rows(book: Book, creditor_id: int) -> Iterator[dict[str, object]]:
    for number in range(book.cases):
        due = number % (book.cases // book.due) == 0
        step = DUE_STEPS[number % len(DUE_STEPS)] if due else LadderStep.SECOND_REMINDER
        due_at = NOW - timedelta(hours=1) if due else NOW + timedelta(days=1 + number % 30)
        performed = step != LadderStep.FIRST_REMINDER
        yield {
            "id": number + 1,
            "reference": f"2026-{number:06d}",
            "ogm": make_ogm(2026_000000 + number),
            "status": CaseStatus.ACTIVE,
            "creditor_id": creditor_id,
            "debtor_id": number + 1,
            "language": LANGUAGES[number % len(LANGUAGES)],
            "currency": "EUR",
            "next_step": step.value,
            "next_step_due_at": due_at,
            "last_step": LadderStep.FIRST_REMINDER.value if performed else None,
            "last_step_at": NOW - timedelta(days=16) if performed else None,
            "amount_paid": Decimal("0.00"),
            "created_at": NOW - timedelta(days=30),
            "activated_at": NOW - timedelta(days=30),
            "updated_at": NOW - timedelta(days=30),
        }


def invoice_rows(book: Book, creditor_id: int) -> Iterator[dict[str, object]]:
    for number in range(book.cases):
        yield {
            "case_id": number + 1,
            "creditor_id": creditor_id,
            "kind": "invoice",
            "number": f"F26-{number:06d}",
            "issue_date": date(2026, 8, 1),
            "due_date": date(2026, 9, 1),
            "amount_due": Decimal(150 + number % 900) + Decimal("0.45"),
            "currency": "EUR",
            "created_at": NOW - timedelta(days=30),
        }


def insert_chunks(session: Session, table: type[Base], rows: Iterator[dict[str, object]]) -> None:
    chunk: list[dict[str, object]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == INSERT_CHUNK:
            session.execute(insert(table), chunk)
            chunk = []
    if chunk:
        session.execute(insert(table), chunk)


def fill(app: Application, book: Book) -> None:
    """Write the book's debtors, cases and invoices with bulk inserts."""
    with transaction(app.factory) as session:
        creditor = register_creditor(session, CREDITOR)
        session.flush()
        insert_chunks(session, Debtor, debtor_rows(book))
        insert_chunks(session, Case, case_rows(book, creditor.id))
        insert_chunks(session, Invoice, invoice_rows(book, creditor.id))
    if app.engine.dialect.name == "postgresql":
        with app.engine.begin() as connection:
            for table in ("debtor", "collection_case", "invoice"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            connection.exec_driver_sql("ANALYZE")
    else:
        with app.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


def time_select(engine: Engine) -> tuple[float, int]:
    """Fetch every due row as the dispatcher's query finds them; return the seconds and count."""
    statement = (
        select(Case.__table__)
        .where(Case.status == CaseStatus.ACTIVE, Case.next_step_due_at <= NOW)
        .order_by(Case.next_step_due_at, Case.id)
    )
    start = time.perf_counter()
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    elapsed = time.perf_counter() - start
    return elapsed, len(rows)


def check_select(engine: Engine, book: Book) -> float:
    """Time the bare select a few times; return the median seconds."""
    selects = []
    for _ in range(5):
        elapsed, found = time_select(engine)
        if found != book.due:
            raise RuntimeError(f"the select found {found} due cases, expected {book.due}")
        selects.append(elapsed)
    return statistics.median(selects)


def check_outbox(app: Application, book: Book, moved: int) -> None:
    """Fail when the run did less than send every due step: that must not pass for speed."""
    if moved != book.due:
        raise RuntimeError(f"dispatch moved {moved} cases, expected {book.due}")
    with transaction(app.factory) as session:
        outbound = session.scalar(
            select(func.count())
            .select_from(MailMessage)
            .where(MailMessage.direction == Direction.OUTBOUND)
        )
    if outbound != book.due:
        raise RuntimeError(f"the outbox contains {outbound} messages, expected {book.due}")


def one_round(app: Application, book: Book) -> RoundResult:
    select_seconds = check_select(app.engine, book)

    wall, cpu = time.perf_counter(), time.process_time()
    moved = app.jobs.run_dispatch()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    check_outbox(app, book, moved)
    return RoundResult(select_seconds, wall, cpu)


def bench_clock() -> datetime:
    return NOW


def dispatch_worker(url: str, folder: str, core: int, ready: Barrier, results: Queue) -> None:
    """Run one dispatch worker on its own core: wait for the start, dispatch, report."""
    os.sched_setaffinity(0, {core})
    app = build_application(settings_for(Path(folder), url), clock=bench_clock)
    ready.wait()
    cpu = time.process_time()
    moved = app.jobs.run_dispatch()
    results.put((moved, time.process_time() - cpu))
    app.close()


def workers_round(
    app: Application, url: str, folder: Path, book: Book, workers: int
) -> RoundResult:
    """Time ``workers`` dispatch processes sharing the due cases, until the last one is done."""
    select_seconds = check_select(app.engine, book)
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(workers + 1)
    results = context.Queue()
    cores = os.cpu_count() or 1
    processes = [
        context.Process(
            target=dispatch_worker,
            args=(url, str(folder / f"worker{number}"), number % cores, ready, results),
        )
        for number in range(workers)
    ]
    for process in processes:
        process.start()

    ready.wait()
    wall = time.perf_counter()
    reports = [results.get() for _ in processes]
    wall = time.perf_counter() - wall
    for process in processes:
        process.join()

    check_outbox(app, book, sum(moved for moved, _ in reports))
    return RoundResult(select_seconds, wall, sum(cpu for _, cpu in reports))


def settings_for(folder: Path, url: str) -> Settings:
    return Settings(data_dir=folder / "var", database_url=url, extraction_isolated=False)


def sqlite_rounds(book: Book, rounds: int, folder: Path) -> list[RoundResult]:
    template = folder / "template"
    app = build_application(settings_for(template, ""), clock=bench_clock)
    fill(app, book)
    app.close()

    results = []
    for number in range(rounds):
        copy = folder / f"round{number}"
        shutil.copytree(template, copy)
        app = build_application(settings_for(copy, ""), clock=bench_clock)
        results.append(one_round(app, book))
        app.close()
        shutil.rmtree(copy)
    return results


@contextmanager
def postgres_database(name: str, template: str | None = None) -> Iterator[str]:
    """Create database ``name`` (from ``template`` when given), yield its URL, drop it after."""
    admin = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://", 1)
    source = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"{source}')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_rounds(book: Book, rounds: int, folder: Path, workers: int = 1) -> list[RoundResult]:
    template = f"incasso_bench_{uuid.uuid4().hex[:8]}"
    with postgres_database(template) as url:
        app = build_application(settings_for(folder / "template", url), clock=bench_clock)
        fill(app, book)
        app.close()

        results = []
        for number in range(rounds):
            with postgres_database(f"{template}_r{number}", template) as copy_url:
                settings = settings_for(folder / f"r{number}", copy_url)
                app = build_application(settings, clock=bench_clock)
                if workers == 1:
                    results.append(one_round(app, book))
                else:
                    round_folder = folder / f"r{number}"
                    results.append(workers_round(app, copy_url, round_folder, book, workers))
                app.close()
    return results


def report(backend: str, book: Book, results: list[RoundResult]) -> None:
    select_s = statistics.median(result.select_seconds for result in results)
    dispatch_s = statistics.median(result.dispatch_seconds for result in results)
    cpu_s = statistics.median(result.dispatch_cpu_seconds for result in results)
    spread = ", ".join(f"{result.dispatch_seconds:.1f}" for result in results)
    print(
        f"| {backend} | {book.due} of {book.cases} | {select_s * 1000:.0f} ms "
        f"| {dispatch_s:.1f} s ({spread}) | {cpu_s:.1f} s "
        f"| {dispatch_s / book.due * 1000:.2f} ms | {dispatch_s / select_s:.0f}× |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--workers", type=int, default=2, help="dispatch processes of the extra PostgreSQL row"
    )
    arguments = parser.parse_args()
    if arguments.cases % arguments.due:
        parser.error("--cases must be a multiple of --due")
    book = Book(arguments.cases, arguments.due)

    core = pin_to_one_core()
    print(f"Python {sys.version.split()[0]}, pinned to core {core}, {arguments.rounds} rounds")
    print(
        "| store | due of active | select (median) | dispatch (rounds) | dispatch CPU "
        "| per step | × select |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        if arguments.backend in ("sqlite", "both"):
            report("sqlite", book, sqlite_rounds(book, arguments.rounds, Path(folder) / "s"))
        if arguments.backend in ("postgresql", "both"):
            results = postgres_rounds(book, arguments.rounds, Path(folder) / "p")
            report("postgresql", book, results)
        if arguments.backend in ("postgresql", "both") and arguments.workers > 1:
            label = f"postgresql, {arguments.workers} workers"
            results = postgres_rounds(
                book, arguments.rounds, Path(folder) / "w", workers=arguments.workers
            )
            report(label, book, results)


if __name__ == "__main__":
    main()
