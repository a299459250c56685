"""The scheduler keeps running jobs that fail, and drains work in batches."""

from __future__ import annotations

import threading

from incasso.scheduler.runner import PeriodicJob, build_scheduler, drain_until_empty


def test_failing_job_runs_again() -> None:
    runs: list[int] = []
    second_run = threading.Event()

    def flaky() -> int:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("database is locked (simulated by the test)")
        second_run.set()
        return 0

    scheduler = build_scheduler([PeriodicJob("flaky", flaky, 0.05)])
    scheduler.start()
    try:
        assert second_run.wait(timeout=10)
    finally:
        scheduler.shutdown(wait=True)

    assert len(runs) >= 2


def test_jobs_coalesce_and_never_drop_late_runs() -> None:
    scheduler = build_scheduler([PeriodicJob("intake", lambda: 0, 5)])
    scheduler.start(paused=True)  # job defaults apply once the job is in its store
    try:
        (job,) = scheduler.get_jobs()
    finally:
        scheduler.shutdown(wait=False)

    assert job.coalesce is True
    assert job.max_instances == 1
    assert job.misfire_grace_time is None


def test_drain_until_empty_sums_batches() -> None:
    batches = iter([50, 50, 7, 0, 99])

    assert drain_until_empty(lambda: next(batches)) == 107
