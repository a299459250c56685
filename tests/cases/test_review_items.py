"""Staff marking review items as handled, on each database in turn."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from incasso.app.context import Application
from incasso.cases.lifecycle import EventKind
from incasso.cases.review_items import (
    MAX_NOTE_LENGTH,
    ReviewItemError,
    ReviewItemMissing,
    resolve_review_item,
)
from incasso.cases.summary import find_case
from incasso.store.db import read_transaction, transaction
from incasso.store.models import Event, ReviewItem, ReviewKind, ReviewStatus
from tests.builders import active_case
from tests.conftest import Clock


def add_item(
    app: Application,
    kind: ReviewKind,
    *,
    reference: str | None = None,
    reasons: tuple[str, ...] = (),
    detail: str | None = None,
) -> int:
    with transaction(app.factory) as session:
        case = find_case(session, reference) if reference else None
        item = ReviewItem(kind=kind, reasons=list(reasons), detail=detail, case=case)
        session.add(item)
        session.flush()
        return item.id


def resolve(app: Application, item_id: int, **options: str) -> bool:
    with transaction(app.factory) as session:
        return resolve_review_item(
            session, item_id, actor=options.pop("actor", "els"), now=app.clock(), **options
        )


def events_of(
    app: Application, reference: str, kind: EventKind
) -> list[tuple[str, datetime, dict[str, Any]]]:
    """The events of ``kind`` on the case, as (actor, when, detail)."""
    with read_transaction(app.factory) as session:
        case = find_case(session, reference)
        assert case is not None
        events = session.scalars(select(Event).where(Event.case_id == case.id, Event.kind == kind))
        return [(event.actor, event.occurred_at, dict(event.detail)) for event in events]


def test_resolve_reply_records_actor_and_event(app: Application) -> None:
    reference = active_case(app)
    item_id = add_item(
        app,
        ReviewKind.REPLY,
        reference=reference,
        reasons=("intent:dispute", "reply_to_read"),
        detail="De debiteur betwist de factuur.",
    )

    assert resolve(app, item_id, note="Gebeld, factuur klopt.") is True

    with read_transaction(app.factory) as session:
        item = session.get_one(ReviewItem, item_id)
        assert item.status == ReviewStatus.RESOLVED
        assert item.resolved_at == app.clock()
        assert item.detail == (
            "De debiteur betwist de factuur.\nresolved by els: Gebeld, factuur klopt."
        )
    assert events_of(app, reference, EventKind.REVIEW_RESOLVED) == [
        (
            "els",
            app.clock(),
            {
                "kind": "reply",
                "reasons": ["intent:dispute", "reply_to_read"],
                "note": "Gebeld, factuur klopt.",
            },
        )
    ]


def test_resolve_twice_changes_nothing_more(app: Application, clock: Clock) -> None:
    reference = active_case(app)
    item_id = add_item(app, ReviewKind.SEND_FAILED, reference=reference)
    assert resolve(app, item_id) is True
    first_time = app.clock()
    clock.advance(timedelta(hours=1))

    assert resolve(app, item_id, actor="marc", note="nog eens") is False

    with read_transaction(app.factory) as session:
        item = session.get_one(ReviewItem, item_id)
        assert item.detail == "resolved by els"
        assert item.resolved_at == first_time
    assert len(events_of(app, reference, EventKind.REVIEW_RESOLVED)) == 1


def test_resolve_item_without_case_adds_no_event(app: Application) -> None:
    item_id = add_item(
        app,
        ReviewKind.RATE_MISSING,
        reasons=("rate_missing:b2b:2027-01-01",),
        detail="incasso rate add --kind b2b --from 2027-01-01",
    )

    assert resolve(app, item_id, note="   ") is True

    with read_transaction(app.factory) as session:
        item = session.get_one(ReviewItem, item_id)
        assert item.status == ReviewStatus.RESOLVED
        assert item.detail == "incasso rate add --kind b2b --from 2027-01-01\nresolved by els"
        assert session.scalars(select(Event)).all() == []


@pytest.mark.parametrize(
    ("kind", "action"),
    [
        (ReviewKind.DRAFT, "approve, reject or merge"),
        (ReviewKind.UNMATCHED_MAIL, "attach it to a case or mark it as not ours"),
        (ReviewKind.MASS_BOUNCE, "incasso outbox resume"),
    ],
)
def test_resolve_rejects_kinds_with_own_action(
    app: Application, kind: ReviewKind, action: str
) -> None:
    item_id = add_item(app, kind)

    with pytest.raises(ReviewItemError) as raised:
        resolve(app, item_id)

    assert action in str(raised.value)
    assert str(item_id) in str(raised.value)
    with read_transaction(app.factory) as session:
        item = session.get_one(ReviewItem, item_id)
        assert item.status == ReviewStatus.OPEN
        assert item.detail is None


def test_resolve_missing_item_names_its_id(app: Application) -> None:
    with pytest.raises(ReviewItemMissing, match="Review item 424242 does not exist"):
        resolve(app, 424242)


def test_resolve_rejects_long_note(app: Application) -> None:
    item_id = add_item(app, ReviewKind.PROCESSING_FAILED)

    with pytest.raises(ReviewItemError, match=f"keep it to {MAX_NOTE_LENGTH}"):
        resolve(app, item_id, note="x" * (MAX_NOTE_LENGTH + 1))

    with read_transaction(app.factory) as session:
        assert session.get_one(ReviewItem, item_id).status == ReviewStatus.OPEN


def test_resolve_rejects_empty_actor(app: Application) -> None:
    item_id = add_item(app, ReviewKind.PROCESSING_FAILED)

    with pytest.raises(ReviewItemError, match="give who handled the item"):
        resolve(app, item_id, actor=" ")
