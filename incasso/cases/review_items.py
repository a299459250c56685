"""Resolving review items: staff mark something they looked at as handled.

A debtor's reply, a bounce, a failed send or a missing interest rate stays
in the queue until a person marks it as handled. ``resolve_review_item``
closes such an item and records who did it: the item has no column for
that, so "resolved by <actor>: <note>" is added to its ``detail``, and an
item that belongs to a case gets a ``review_resolved`` event on the case's
timeline.

Some kinds have an action of their own that does more than close the item:
a draft is approved, rejected or merged on its page, unmatched mail is
attached to a case or set aside as not ours, and the mass-bounce brake is
released with ``incasso outbox resume``. Those kinds are refused here, with
a message that names the action to use.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from incasso.cases.lifecycle import EventKind, record_event
from incasso.i18n import N_, LocalizedError
from incasso.store.models import ReviewItem, ReviewKind, ReviewStatus

logger = logging.getLogger(__name__)

# A note is a short remark; longer text belongs in a case note.
MAX_NOTE_LENGTH = 500
# event.actor is VARCHAR(64).
MAX_ACTOR_LENGTH = 64

# Kinds closed by their own action, with the message that names it.
OWN_ACTIONS: dict[str, str] = {
    ReviewKind.DRAFT: N_(
        "Review item {id} is a draft to review: approve, reject or merge it on its draft "
        "page instead."
    ),
    ReviewKind.UNMATCHED_MAIL: N_(
        "Review item {id} is unmatched mail: attach it to a case or mark it as not ours on "
        "its page instead."
    ),
    ReviewKind.MASS_BOUNCE: N_(
        "Review item {id} is the mass-bounce brake: once the cause is fixed, release it with "
        "incasso outbox resume instead."
    ),
}
OWN_ACTION_KINDS = frozenset(OWN_ACTIONS)


class ReviewItemError(LocalizedError):
    """A review item that cannot be resolved; the message gives the reason and what to do."""


class ReviewItemMissing(ReviewItemError):
    """No review item has the id given."""


def resolve_review_item(
    session: Session,
    item_id: int,
    *,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> bool:
    """Mark review item ``item_id`` as handled by ``actor``, with an optional ``note``.

    Returns False when the item was resolved already, and changes nothing
    then. Raises ReviewItemMissing when no item has ``item_id``, and
    ReviewItemError for a kind that has an action of its own or a note that
    is too long.
    """
    item = session.get(ReviewItem, item_id, with_for_update=True)
    if item is None:
        raise ReviewItemMissing(
            N_("Review item {id} does not exist; incasso review --json lists the open items' ids."),
            id=item_id,
        )
    if item.status == ReviewStatus.RESOLVED:
        logger.info("review item %s was resolved already; %s changed nothing", item.id, actor)
        return False

    _check_resolvable(item)
    _check_actor(actor)
    cleaned = _clean_note(note)

    item.status = ReviewStatus.RESOLVED
    item.resolved_at = now
    item.detail = _with_resolution(item.detail, actor, cleaned)
    if item.case is not None:
        record_event(
            session,
            item.case,
            EventKind.REVIEW_RESOLVED,
            at=now,
            actor=actor,
            detail={"kind": item.kind, "reasons": list(item.reasons or ()), "note": cleaned},
        )
    logger.info("review item %s (%s) resolved by %s", item.id, item.kind, actor)
    return True


def _check_resolvable(item: ReviewItem) -> None:
    template = OWN_ACTIONS.get(item.kind)
    if template is not None:
        raise ReviewItemError(template, id=item.id)


def _check_actor(actor: str) -> None:
    if not actor.strip() or len(actor) > MAX_ACTOR_LENGTH:
        raise ReviewItemError(
            N_(
                "Name {actor} cannot be recorded: give who handled the item in 1 to {maximum} "
                "characters."
            ),
            actor=actor,
            maximum=MAX_ACTOR_LENGTH,
        )


def _clean_note(note: str | None) -> str | None:
    cleaned = (note or "").strip()
    if len(cleaned) > MAX_NOTE_LENGTH:
        raise ReviewItemError(
            N_(
                "The note has {length} characters; keep it to {maximum} and write anything "
                "longer as a note on the case."
            ),
            length=len(cleaned),
            maximum=MAX_NOTE_LENGTH,
        )
    return cleaned or None


def _with_resolution(detail: str | None, actor: str, note: str | None) -> str:
    """Keep ``detail`` and add a line saying who resolved the item, and their note."""
    line = f"resolved by {actor}: {note}" if note else f"resolved by {actor}"
    return f"{detail}\n{line}" if detail else line
