"""APScheduler wiring: three short periodic jobs that read their work from the database.

- ``intake``: process received messages;
- ``dispatch``: perform due ladder steps;
- ``outbox``: hand pending messages to the transport.

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

from incasso.intake.process import IntakeContext, process_pending
from incasso.outbound.outbox import OutboxContext, drain
from incasso.scheduler.dispatch import DispatchContext, dispatch_due

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Intervals:
    """Seconds between runs of each job."""

    intake: float
    dispatch: float
    outbox: float


@dataclass(frozen=True)
class Jobs:
    """The work of each periodic job, bound to its context."""

    intake: IntakeContext
    dispatch: DispatchContext
    outbox: OutboxContext

    def run_intake(self) -> int:
        return _drain_until_empty(lambda: process_pending(self.intake))

    def run_dispatch(self) -> int:
        return _drain_until_empty(lambda: dispatch_due(self.dispatch))

    def run_outbox(self) -> int:
        return _drain_until_empty(lambda: drain(self.outbox))

    def run_all_once(self) -> tuple[int, int, int]:
        """Run intake, dispatch and outbox once each, in that order; return their counts."""
        return self.run_intake(), self.run_dispatch(), self.run_outbox()


def _drain_until_empty(batch: Callable[[], int]) -> int:
    total = 0
    while True:
        count = batch()
        total += count
        if count == 0:
            return total


def build_scheduler(jobs: Jobs, intervals: Intervals) -> BackgroundScheduler:
    """Create the scheduler with the three jobs; the caller starts and stops it."""
    scheduler = BackgroundScheduler(
        timezone="Europe/Brussels",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    scheduler.add_job(
        _guarded("intake", jobs.run_intake), "interval", seconds=intervals.intake, id="intake"
    )
    scheduler.add_job(
        _guarded("dispatch", jobs.run_dispatch),
        "interval",
        seconds=intervals.dispatch,
        id="dispatch",
    )
    scheduler.add_job(
        _guarded("outbox", jobs.run_outbox), "interval", seconds=intervals.outbox, id="outbox"
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
