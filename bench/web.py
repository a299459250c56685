"""Page times of the staff web app on a full store: the queue and the case page.

Run: ``.venv/bin/python -m bench.web`` (from the repository root; add
``--backend sqlite`` or ``--backend postgresql`` for one store only, and
``--cases`` or ``--requests`` for other sizes).

The store holds 100,000 cases, each with a debtor, an invoice, two sent
reminders and ten timeline events (1,000,000 events in all), and a queue of
open review items (drafts, unmatched mail, replies with intents, bounces,
failed sends) and staff tasks. The app runs under uvicorn on 127.0.0.1, as
``incasso serve`` runs it, and one signed-in client asks, in shuffled order:

- ``trivial``: ``/healthz``, the same app's page that does one ``SELECT 1``;
- ``queue``: ``/``, the queue with every section and its counts;
- ``case``: ``/cases/<reference>`` of a random case.

The output gives, per page, the median and the 95th percentile in
milliseconds, and both as a ratio to the trivial page.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx2
import uvicorn
from sqlalchemy import insert

from bench.ladder import insert_chunks, postgres_database, settings_for
from incasso.app.context import Application, build_application
from incasso.app.serve import build_web_app, freeze_startup_objects
from incasso.app.settings import Settings
from incasso.cases.law import make_ogm
from incasso.review.accounts import NewStaff, add_staff
from incasso.store.db import transaction
from incasso.store.models import (
    Case,
    CaseStatus,
    Debtor,
    Document,
    Event,
    Invoice,
    MailMessage,
    ReviewItem,
    StaffRole,
    Task,
)

NOW = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
EVENTS_PER_CASE = 10
REVIEW_EVERY = 50  # one open review item per 50 cases: 2,000 in the queue
TASK_EVERY = 100  # one open staff task per 100 cases
PASSWORD = "bench-wachtwoord-1"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
EVENT_KINDS = (
    "submission_received",
    "case_opened",
    "case_activated",
    "reminder_queued",
    "reminder_sent",
    "step_performed",
    "reminder_queued",
    "reminder_sent",
    "step_performed",
    "reply_received",
)
REVIEW_KINDS = (
    ("draft", ["missing:due_date"]),
    ("unmatched_mail", ["candidates:2026-000001"]),
    ("reply", ["reply_to_read", "intent:dispute"]),
    ("reply", ["reply_to_read", "intent:paid"]),
    ("reply", ["bounce_to_read"]),
    ("send_failed", ["send_failed"]),
)


def debtor_rows(cases: int) -> Iterator[dict[str, object]]:
    for number in range(cases):
        yield {
            "id": number + 1,
            "name": f"Klant {number:06d}",
            "email": f"klant{number}@voorbeeld.example",
            "kind": "consumer" if number % 3 else "enterprise",
            "language": "nl" if number % 4 else "fr",
            "language_chosen": False,
            "address": f"Kerkstraat {number % 200 + 1}, 9000 Gent",
            "created_at": NOW,
        }


def case_rows(cases: int) -> Iterator[dict[str, object]]:
    for number in range(cases):
        draft = number % REVIEW_EVERY == 0 and number % (REVIEW_EVERY * 6) == 0
        yield {
            "id": number + 1,
            "reference": f"2026-{number + 1:05d}",
            "ogm": make_ogm(2026_000000 + number),
            "status": CaseStatus.DRAFT if draft else CaseStatus.ACTIVE,
            "debtor_id": number + 1,
            "language": "nl",
            "currency": "EUR",
            "next_step": "second_reminder",
            "next_step_due_at": NOW + timedelta(days=number % 15),
            "last_step": "first_reminder",
            "last_step_at": NOW - timedelta(days=3),
            "amount_paid": Decimal("0.00"),
            "created_at": NOW - timedelta(days=number % 300),
            "updated_at": NOW,
        }


def invoice_rows(cases: int) -> Iterator[dict[str, object]]:
    for number in range(cases):
        yield {
            "case_id": number + 1,
            "kind": "invoice",
            "number": f"F{number:07d}",
            "issue_date": (NOW - timedelta(days=60)).date(),
            "due_date": (NOW - timedelta(days=30)).date(),
            "amount_due": Decimal("184.50") + number % 1000,
            "currency": "EUR",
            "created_at": NOW,
        }


def message_rows(cases: int) -> Iterator[dict[str, object]]:
    for number in range(cases * 2):
        case_id = number // 2 + 1
        yield {
            "id": number + 1,
            "dedupe_key": f"out:{number}",
            "direction": "out",
            "channel": "outbox",
            "status": "sent",
            "kind": "reminder",
            "raw_document_id": 1,
            "case_id": case_id,
            "message_id": f"<2026-{case_id:05d}.r{number % 2}.{number:08x}@incasso.test>",
            "subject": "Herinnering",
            "to_addresses": f"klant{case_id - 1}@voorbeeld.example",
            "step": "first_reminder" if number % 2 == 0 else "second_reminder",
            "medium": "email",
            "created_at": NOW - timedelta(days=20 - number % 2 * 15),
            "sent_at": NOW - timedelta(days=20 - number % 2 * 15),
        }


def event_rows(cases: int) -> Iterator[dict[str, object]]:
    for case_number in range(cases):
        for step, kind in enumerate(EVENT_KINDS):
            linked = kind in ("reminder_sent", "reminder_queued")
            yield {
                "case_id": case_number + 1,
                "occurred_at": NOW - timedelta(days=30 - step * 3),
                "kind": kind,
                "mail_message_id": case_number * 2 + 1 + (step > 5) if linked else None,
                "actor": "system",
                "detail": {"step": "first_reminder"},
            }


def review_rows(cases: int) -> Iterator[dict[str, object]]:
    for number, case_number in enumerate(range(0, cases, REVIEW_EVERY)):
        kind, reasons = REVIEW_KINDS[number % len(REVIEW_KINDS)]
        yield {
            "kind": kind,
            "status": "open",
            "reasons": reasons,
            "case_id": case_number + 1,
            "mail_message_id": case_number * 2 + 1 if kind != "draft" else None,
            "created_at": NOW - timedelta(hours=number),
        }


def task_rows(cases: int) -> Iterator[dict[str, object]]:
    for case_number in range(0, cases, TASK_EVERY):
        yield {
            "case_id": case_number + 1,
            "step": "phone_call",
            "kind": "phone_call",
            "status": "open",
            "due_at": NOW - timedelta(hours=case_number % 48),
            "created_at": NOW - timedelta(days=2),
        }


def fill(app: Application, cases: int) -> None:
    """Write the store with bulk inserts, then refresh the planner's statistics."""
    with transaction(app.factory) as session:
        session.execute(
            insert(Document),
            [{"id": 1, "sha256": "0" * 64, "size": 0, "content_type": "message/rfc822"}],
        )
        for table, rows in (
            (Debtor, debtor_rows(cases)),
            (Case, case_rows(cases)),
            (Invoice, invoice_rows(cases)),
            (MailMessage, message_rows(cases)),
            (Event, event_rows(cases)),
            (ReviewItem, review_rows(cases)),
            (Task, task_rows(cases)),
        ):
            insert_chunks(session, table, rows)
        add_staff(session, NewStaff("bench", "Bench", PASSWORD, StaffRole.ADMIN), now=NOW)
    if app.engine.dialect.name == "postgresql":
        _reset_sequences(app)
    with app.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def _reset_sequences(app: Application) -> None:
    with app.engine.begin() as connection:
        for table in ("debtor", "collection_case", "mail_message"):
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )


@contextmanager
def serving(app: Application) -> Iterator[str]:
    """Serve the web app on a free loopback port; yield its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(build_web_app(app), host="127.0.0.1", port=0, log_level="warning")
    )
    freeze_startup_objects()  # as incasso serve does
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("the web app did not start within 30 s")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def signed_in_client(base_url: str) -> httpx2.Client:
    client = httpx2.Client(base_url=base_url, timeout=60)
    found = CSRF_INPUT.search(client.get("/sign-in").text)
    if found is None:
        raise RuntimeError("the sign-in page has no CSRF field")
    answer = client.post(
        "/sign-in",
        data={"csrf_token": found.group(1), "username": "bench", "password": PASSWORD},
    )
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in failed with HTTP {answer.status_code}")
    return client


def time_pages(base_url: str, cases: int, requests: int) -> dict[str, list[float]]:
    """Ask each page ``requests`` times in shuffled order; return milliseconds per page."""
    client = signed_in_client(base_url)
    pick = random.Random(7)
    plan = [name for name in ("trivial", "queue", "case") for _ in range(requests)]
    pick.shuffle(plan)
    times: dict[str, list[float]] = {"trivial": [], "queue": [], "case": []}
    for name in ("trivial", "queue", "case"):  # warm the caches once, untimed
        _get(client, _url(name, pick, cases))
    for name in plan:
        url = _url(name, pick, cases)
        start = time.perf_counter()
        _get(client, url)
        times[name].append((time.perf_counter() - start) * 1000)
    client.close()
    return times


def _url(name: str, pick: random.Random, cases: int) -> str:
    if name == "trivial":
        return "/healthz"
    if name == "queue":
        return "/"
    return f"/cases/2026-{pick.randint(1, cases):05d}"


def _get(client: httpx2.Client, url: str) -> None:
    answer = client.get(url)
    # A page that fails fast must not pass for a fast page.
    if answer.status_code != 200:
        raise RuntimeError(f"GET {url} answered HTTP {answer.status_code}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(backend: str, times: dict[str, list[float]]) -> None:
    trivial_median = statistics.median(times["trivial"])
    trivial_p95 = percentile(times["trivial"], 0.95)
    for name, values in times.items():
        median = statistics.median(values)
        p95 = percentile(values, 0.95)
        print(
            f"| {backend} | {name} | {len(values)} | {median:.1f} | {p95:.1f} "
            f"| {median / trivial_median:.1f}× | {p95 / trivial_p95:.1f}× |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    arguments = parser.parse_args()

    print(
        f"Python {sys.version.split()[0]}, {arguments.cases:,} cases, "
        f"{arguments.cases * EVENTS_PER_CASE:,} events, {arguments.requests} requests per page"
    )
    print("| store | page | requests | median ms | p95 ms | median × trivial | p95 × trivial |")
    print("|---|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        if arguments.backend in ("sqlite", "both"):
            run_one("sqlite", settings_for(Path(folder) / "s", ""), arguments)
        if arguments.backend in ("postgresql", "both"):
            with postgres_database(f"incasso_web_{uuid.uuid4().hex[:8]}") as url:
                run_one("postgresql", settings_for(Path(folder) / "p", url), arguments)


def run_one(backend: str, settings: Settings, arguments: argparse.Namespace) -> None:
    app = build_application(settings, clock=lambda: NOW)
    fill(app, arguments.cases)
    with serving(app) as base_url:
        report(backend, time_pages(base_url, arguments.cases, arguments.requests))
    app.close()


if __name__ == "__main__":
    main()
