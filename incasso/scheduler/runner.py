"""APScheduler wiring: short periodic jobs that read their work from the database.

The application registers its jobs here (process received mail, perform due
ladder steps, empty the outbox); this module only runs them.

There are no per-case jobs and no persistent job store: the case rows hold
what is due, so nothing is lost when the process stops, and a restart
catches up on its first run. Each job has at most one instance running,
missed runs are coalesced into one and never dropped for being late, and a
job that raises logs the error and runs again at its next interval instead
of killing the scheduler thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.background import BackgroundScheduler

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    """One periodic job: its name, its work (returning how many items it handled), its interval."""

    name: str
    work: Callable[[], int]
    interval_seconds: float


def drain_until_empty(batch: Callable[[], int]) -> int:
    """Run ``batch`` until it handles nothing more; return the total handled."""
    total = 0
    while True:
        count = batch()
        total += count
        if count == 0:
            return total


def build_scheduler(jobs: list[PeriodicJob]) -> BackgroundScheduler:
    """Create the scheduler with ``jobs``; the caller starts and stops it."""
    scheduler = BackgroundScheduler(
        timezone="Europe/Brussels",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    for job in jobs:
        scheduler.add_job(
            _guarded(job.name, job.work), "interval", seconds=job.interval_seconds, id=job.name
        )
    scheduler.add_listener(_on_job_trouble, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def _guarded(name: str, work: Callable[[], int]) -> Callable[[], None]:
    def run() -> None:
        try:
            count = work()
        except Exception:
            logger.exception("job %s failed; it runs again at its next interval", name)
            return
        if count:
            logger.info("job %s handled %d items", name, count)

    return run


def _on_job_trouble(event: JobEvent) -> None:
    if event.code == EVENT_JOB_MISSED:
        logger.warning("job %s missed its run time %s", event.job_id, event.scheduled_run_time)
    else:
        logger.error("job %s raised an error", event.job_id)
