"""Reading a debtor's reply: the proposal for staff, and the pause the law requires at once.

A reasoned dispute, a request for a payment plan and a debt mediation stop the
ladder at once: for a consumer the law forbids further collection steps until
they are answered. A reply saying the mail reached the wrong person is a
dispute of the debt, and one saying the debtor moved or died needs a person
before anything more is sent, so both pause too. A promise to pay with a date
pauses the ladder until the day after that date; the dispatcher resumes it
then if the case is still open. A reply saying the debt is paid pauses it for
a week, so staff can check the account before the next reminder; it too
resumes by itself if the case is still open then. Staff confirm or correct the proposal in the
review queue and resume the case when it is settled.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from incasso.cases.ladder import HoldReason
from incasso.cases.transitions import pause_case
from incasso.i18n import LOCAL_ZONE
from incasso.intake.gather import html_text
from incasso.intake.intent import Intent, Proposal, classify
from incasso.intake.mime import ParsedMail
from incasso.intake.reply_text import html_new_part, new_text
from incasso.store.models import Case, CaseStatus

logger = logging.getLogger(__name__)

SYSTEM = "system"
# The hold reason of each intent that pauses the ladder, in order of precedence.
HOLDS = {
    Intent.DEBT_MEDIATION: HoldReason.DEBT_MEDIATION,
    Intent.DISPUTE: HoldReason.DISPUTED,
    Intent.WRONG_DEBTOR: HoldReason.DISPUTED,
    Intent.PAYMENT_PLAN: HoldReason.PAYMENT_PLAN,
    Intent.MOVED_OR_DECEASED: HoldReason.STAFF,
}
# How long a reply saying the debt is paid holds the ladder while staff check the account.
PAYMENT_CHECK = timedelta(days=7)
# Holds that a later reply does not replace: each waits for staff already.
STAFF_HOLDS = frozenset(HOLDS.values()) | {HoldReason.BOUNCED}


def read_reply(parsed: ParsedMail, received_on: date) -> Proposal:
    """Propose the intent of the reply in ``parsed``, read from its new text only."""
    body = parsed.text or html_text(html_new_part(parsed.html or ""))
    return classify(
        new_text(body), received_on=received_on, has_attachment=bool(parsed.attachments)
    )


def hold_for_reply(session: Session, case: Case, proposal: Proposal, *, now: datetime) -> bool:
    """Pause the ladder of ``case`` where ``proposal`` requires it; return whether it paused."""
    if case.status not in (CaseStatus.ACTIVE, CaseStatus.PAUSED):
        return False
    if case.status == CaseStatus.PAUSED and case.hold_reason in STAFF_HOLDS:
        return False  # it waits for staff already, who will read this reply too

    intents = (proposal.intent, *proposal.also)
    hold = next((HOLDS[intent] for intent in intents if intent in HOLDS), None)
    note = f"reply: {proposal.intent.value}"
    if hold is not None:
        pause_case(session, case, hold, now=now, actor=SYSTEM, note=note)
    elif proposal.intent == Intent.PAID:
        until = _day_after(now.astimezone(LOCAL_ZONE).date() + PAYMENT_CHECK)
        pause_case(
            session, case, HoldReason.PAYMENT_CLAIMED, now=now, actor=SYSTEM, until=until, note=note
        )
    elif proposal.intent == Intent.PROMISE_TO_PAY and proposal.promised_date is not None:
        until = _day_after(proposal.promised_date)
        if until <= now:
            return False
        pause_case(
            session, case, HoldReason.PROMISE_TO_PAY, now=now, actor=SYSTEM, until=until, note=note
        )
    else:
        return False
    logger.info("case %s paused by a reply: %s", case.reference, proposal.intent)
    return True


def _day_after(day: date) -> datetime:
    """Return the start of the day after ``day`` in Brussels: the promise is kept until then."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=LOCAL_ZONE)
