"""Queuing a case's first reminder, the step the scheduler dispatched before the whole ladder.

Kept for its callers; every step, the first included, is queued by
``incasso.outbound.steps.queue_step``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from incasso.cases.ladder import LadderStep, Medium
from incasso.outbound.steps import ReminderConfig, queue_step
from incasso.store.models import Case, MailMessage
from incasso.store.rawstore import RawStore

__all__ = ["ReminderConfig", "queue_first_reminder"]


def queue_first_reminder(
    session: Session,
    rawstore: RawStore,
    case: Case,
    config: ReminderConfig,
    *,
    now: datetime,
    sent_on: date,
) -> MailMessage | None:
    """Render and queue the first reminder of ``case`` by e-mail; None when it was queued before.

    Raises MissingMentionError when the case or the creditor lacks something the
    law requires on the notice; nothing is queued then.
    """
    return queue_step(
        session,
        rawstore,
        case,
        LadderStep.FIRST_REMINDER,
        Medium.EMAIL,
        config,
        now=now,
        sent_on=sent_on,
    )
