"""Two dispatcher processes on one PostgreSQL database: each due step is performed once.

PostgreSQL is where several workers share the work (SQLite serializes every
writer), so this runs there only: each worker claims due cases with
``FOR UPDATE SKIP LOCKED`` and a case is advanced by whichever locks it first.
"""

from __future__ import annotations

import multiprocessing
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from incasso.app.context import build_application
from incasso.cases.lifecycle import EventKind
from incasso.store.db import transaction
from incasso.store.models import Case, Event, MailMessage
from tests.builders import active_case
from tests.conftest import Clock, fresh_database, make_settings
from tests.scheduler.ladder_worker import dispatch_until_done

CASES = 60


def test_two_worker_processes_perform_each_step_once(tmp_path: Path, clock: Clock) -> None:
    with fresh_database("postgresql", tmp_path) as url:
        app = build_application(make_settings(tmp_path, url), clock=clock)
        for number in range(CASES):
            active_case(app, debtor_name=f"Debiteur {number}", email=f"d{number}@home.example")
        app.jobs.run_dispatch()  # every first reminder goes out; the second is due later
        app.close()
        later = clock.now + timedelta(days=16)

        context = multiprocessing.get_context("spawn")
        start = context.Event()
        workers = [
            context.Process(
                target=dispatch_until_done,
                args=(url, str(tmp_path / f"worker-{n}"), later.isoformat(), start),
            )
            for n in range(2)
        ]
        for worker in workers:
            worker.start()
        start.set()
        for worker in workers:
            worker.join(timeout=120)

        assert [worker.exitcode for worker in workers] == [0, 0]
        app = build_application(make_settings(tmp_path, url), clock=clock)
        with transaction(app.factory) as session:
            seconds = session.scalar(
                select(func.count())
                .select_from(MailMessage)
                .where(MailMessage.step == "second_reminder")
            )
            performed = session.scalar(
                select(func.count())
                .select_from(Event)
                .where(
                    Event.kind == EventKind.STEP_PERFORMED,
                    Event.detail["step"].as_string() == "second_reminder",
                )
            )
            waiting = session.scalar(
                select(func.count()).select_from(Case).where(Case.next_step != "third_reminder")
            )
        app.close()
    assert (seconds, performed, waiting) == (CASES, CASES, 0)
