"""The mass-bounce brake: when many reminders bounce at once, the fault is likely ours.

A blocklisted mail server, a broken SPF record or a typo in a relay setting
makes every reminder of a run bounce. Marking all those debtors' addresses as
failed would then be wrong, and sending more would only make it worse. So
when, within one day, at least ``MIN_BOUNCES`` final bounces arrive and they
are at least ``BOUNCE_SHARE`` of the e-mails sent that day, the brake is
applied:

- one review item of kind ``mass_bounce`` shows staff the figures;
- while it is open, the outbox sends no e-mail (text messages and letters go
  on) and final bounces no longer mark the debtor's address;
- ``incasso outbox resume`` releases it, once the cause is found.

The open review item is the brake itself, so every process sees it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incasso.cases.ladder import Medium
from incasso.store.models import (
    Debtor,
    Direction,
    MailMessage,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
)

logger = logging.getLogger(__name__)

WINDOW = timedelta(days=1)
MIN_BOUNCES = 10
BOUNCE_SHARE = 0.2


def brake_applied(session: Session) -> bool:
    """Return whether the mass-bounce brake stops outgoing e-mail now."""
    found = session.scalar(
        select(ReviewItem.id)
        .where(ReviewItem.kind == ReviewKind.MASS_BOUNCE, ReviewItem.status == ReviewStatus.OPEN)
        .limit(1)
    )
    return found is not None


def check_mass_bounce(session: Session, now: datetime) -> bool:
    """Apply the brake when the bounces of the last day pass the limits; return whether applied."""
    if brake_applied(session):
        return False
    since = now - WINDOW
    bounced = session.scalar(
        select(func.count()).select_from(Debtor).where(Debtor.email_failed_at >= since)
    )
    sent = session.scalar(
        select(func.count())
        .select_from(MailMessage)
        .where(
            MailMessage.direction == Direction.OUTBOUND,
            MailMessage.medium == Medium.EMAIL,
            MailMessage.sent_at >= since,
        )
    )
    bounced, sent = bounced or 0, sent or 0
    if bounced < MIN_BOUNCES or bounced < BOUNCE_SHARE * sent:
        return False

    session.add(
        ReviewItem(
            kind=ReviewKind.MASS_BOUNCE,
            reasons=[f"mass_bounce:{bounced}:{sent}"],
            detail=f"{bounced} final bounces, {sent} e-mails sent since {since:%Y-%m-%d %H:%M}",
        )
    )
    logger.error("mass-bounce brake applied: %d final bounces of %d e-mails", bounced, sent)
    return True


def release_brake(session: Session, now: datetime) -> int:
    """Release the brake; return how many open brake items were resolved."""
    items = session.scalars(
        select(ReviewItem).where(
            ReviewItem.kind == ReviewKind.MASS_BOUNCE, ReviewItem.status == ReviewStatus.OPEN
        )
    ).all()
    for item in items:
        item.status = ReviewStatus.RESOLVED
        item.resolved_at = now
    if items:
        logger.info("mass-bounce brake released")
    return len(items)
