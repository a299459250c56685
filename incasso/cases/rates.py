"""Published Belgian interest rates, kept in a dated table that staff extend.

Two kinds of rate are stored in ``interest_rate``:

* ``b2b``: the late-payment rate of the law of 2 August 2002 on commercial
  transactions. It is the ECB main refinancing rate plus 8 percentage points,
  rounded up to the next half point, and it is fixed for each half-year. A new
  one therefore starts on 1 January or 1 July. It is also the upper limit of
  the interest a creditor may charge a consumer under Book XIX of the Code of
  Economic Law.
* ``legal``: the legal interest rate, fixed for each calendar year, so a new
  one starts on 1 January.

A rate stays valid until the next row of its kind starts. When the rate of a
new half-year or year has not been entered yet, the last one keeps
applying. A warning is logged and a review item is opened, so staff notice
they should add it with ``incasso rate add``, and adding it resolves that
item. Dates before the first row of a kind have no rate at all and raise
``RateMissingError``.

No computation hard-codes a rate, and nothing in the application changes a
stored one, because every computed interest line keeps the id of the row it
used.

Errors that people read carry an English catalog template and its values, so
the command line can show them translated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incasso.cases.review_items import resolve_review_item
from incasso.i18n import N_
from incasso.store.models import InterestRate, ReviewItem, ReviewKind, ReviewStatus

logger = logging.getLogger(__name__)

# A sanity limit that catches typing errors such as 105 for 10.5.
MAX_PERCENT = Decimal("30")
# interest_rate.percent is NUMERIC(6, 3): at most three decimals.
PERCENT_DECIMALS = 3
# interest_rate.created_by is VARCHAR(64).
MAX_ACTOR_LENGTH = 64

# Stores, kinds and periods already reported as running on a previous period's rate,
# so the warning and review item come once per process and not on every computation.
_reported_carry_overs: set[tuple[str, str, date]] = set()


class RateKind(StrEnum):
    """Kind of published interest rate."""

    B2B = "b2b"  # late-payment rate of the law of 2 August 2002, per half-year
    LEGAL = "legal"  # legal interest rate, per calendar year


# Months in which a new rate of each kind may start.
START_MONTHS = {RateKind.B2B: (1, 7), RateKind.LEGAL: (1,)}


@dataclass(frozen=True)
class RatePeriod:
    """A stretch of days, both ends included, on which one stored rate applies."""

    rate_id: int
    percent: Decimal  # percent per year
    start: date
    end: date


class RateError(ValueError):
    """Raised when a rate is invalid, already stored or missing.

    ``template`` is an English catalog message with ``{name}`` fields. The
    command line shows it translated, and ``str()`` gives the English text.
    """

    def __init__(self, template: str, **values: str) -> None:
        super().__init__(template.format(**values))
        self.template = template
        self.values = values


class RateMissingError(RateError):
    """Raised when no stored rate covers a date that interest must be computed for."""


def parse_rate_kind(text: str) -> RateKind:
    """Return the RateKind named by ``text``, or raise RateError when it names none."""
    try:
        return RateKind(text.strip().lower())
    except ValueError as err:
        raise RateError(
            N_("Rate kind {kind} is invalid: use {choices}."),
            kind=text,
            choices=", ".join(RateKind),
        ) from err


def parse_valid_from(text: str) -> date:
    """Return the date written as ``YYYY-MM-DD`` in ``text``, or raise RateError."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError as err:
        raise RateError(
            N_("Date {value} is invalid: give it as YYYY-MM-DD, e.g. 2026-07-01."), value=text
        ) from err


def parse_percent(text: str) -> Decimal:
    """Return the percentage in ``text``, with a decimal point or comma, or raise RateError."""
    cleaned = text.strip().removesuffix("%").strip().replace(",", ".")
    try:
        percent = Decimal(cleaned)
    except InvalidOperation as err:
        raise RateError(
            N_("Percentage {value} is invalid: give a number such as 10.50."), value=text
        ) from err

    if not percent.is_finite():
        raise RateError(
            N_("Percentage {value} is invalid: give a number such as 10.50."), value=text
        )
    return percent


def percent_text(percent: Decimal) -> str:
    """Write ``percent`` with two decimals, or three when the third is not 0: 10.50, 5.125."""
    two = percent.quantize(Decimal("0.01"))
    return str(two if two == percent else percent.normalize())


def add_rate(
    session: Session,
    kind: RateKind | str,
    valid_from: date,
    percent: Decimal,
    source: str,
    actor: str,
    *,
    now: datetime | None = None,
) -> InterestRate:
    """Validate a newly published rate and store it, or raise RateError naming the bad value.

    ``source`` names where the rate was published and ``actor`` who entered it.
    The open review item that asked for this rate is resolved at ``now``
    (default: the current time).
    """
    rate_kind = parse_rate_kind(kind)
    _check_start_date(rate_kind, valid_from)
    _check_percent(percent)

    source = source.strip()
    if not source:
        raise RateError(
            N_(
                "--source is empty: name where the rate was published, e.g. the notice in the "
                "Belgian Official Gazette."
            )
        )
    if not actor.strip() or len(actor) > MAX_ACTOR_LENGTH:
        raise ValueError(f"actor must be 1 to {MAX_ACTOR_LENGTH} characters, got {actor!r}")

    _check_not_stored(session, rate_kind, valid_from)

    rate = InterestRate(
        kind=rate_kind.value,
        valid_from=valid_from,
        percent=percent,
        source=source,
        created_by=actor,
    )
    _insert(session, rate)
    logger.info(
        "interest rate added kind=%s valid_from=%s percent=%s by=%s",
        rate_kind,
        valid_from,
        percent,
        actor,
    )
    _resolve_missing(session, rate, actor, now or datetime.now(UTC))
    return rate


def list_rates(session: Session, kind: RateKind | str | None = None) -> list[InterestRate]:
    """Return the stored rates, of one kind or of all kinds, by kind and start date."""
    query = select(InterestRate).order_by(InterestRate.kind, InterestRate.valid_from)
    if kind is not None:
        query = query.where(InterestRate.kind == parse_rate_kind(kind).value)
    return list(session.scalars(query))


def rate_periods(
    session: Session, kind: RateKind | str, start: date, end: date
) -> list[RatePeriod]:
    """Return the stored rates of ``kind`` that cover ``start`` to ``end``, both included.

    The range is split on every day a new rate starts. Raises RateMissingError
    when ``start`` lies before the first stored rate of ``kind``.
    """
    if end < start:
        raise ValueError(f"end {end} lies before start {start}")

    rate_kind = parse_rate_kind(kind)
    result = session.execute(
        select(InterestRate.id, InterestRate.valid_from, InterestRate.percent)
        .where(InterestRate.kind == rate_kind.value, InterestRate.valid_from <= end)
        .order_by(InterestRate.valid_from)
    )
    rows = [(row.id, row.valid_from, Decimal(row.percent)) for row in result]

    # Only the last row starting on or before ``start`` matters for the first day.
    first = _index_of_rate_on(rows, start)
    if first is None:
        raise _missing(rate_kind, start)

    periods = []
    for index in range(first, len(rows)):
        rate_id, valid_from, percent = rows[index]
        following = rows[index + 1][1] if index + 1 < len(rows) else None
        period_end = end if following is None else min(end, following - timedelta(days=1))
        periods.append(
            RatePeriod(
                rate_id=rate_id,
                percent=percent,
                start=max(start, valid_from),
                end=period_end,
            )
        )

    last_valid_from = rows[-1][1]
    _report_carry_over(session, rate_kind, last_valid_from, end)
    return periods


def _index_of_rate_on(rows: list[tuple[int, date, Decimal]], day: date) -> int | None:
    found = None
    for index, row in enumerate(rows):
        if row[1] <= day:
            found = index
    return found


def _missing(kind: RateKind, day: date) -> RateMissingError:
    period_start = _period_start(kind, day)
    return RateMissingError(
        N_(
            "No {kind} interest rate is stored for {date}. Add the published rate with: "
            "incasso rate add --kind {kind} --from {period_start} --percent PERCENT --source SOURCE"
        ),
        kind=kind.value,
        date=day.isoformat(),
        period_start=period_start.isoformat(),
    )


def _period_start(kind: RateKind, day: date) -> date:
    """Return the first day of the half-year (b2b) or year (legal) that contains ``day``."""
    month = max(month for month in START_MONTHS[kind] if month <= day.month)
    return date(day.year, month, 1)


def _report_carry_over(session: Session, kind: RateKind, last_valid_from: date, end: date) -> None:
    """Tell staff once when ``end`` lies in a later half-year or year than the last stored rate.

    The interest is then computed with the last stored rate, which a notice
    may not keep using once the new one is published: a review item asks staff
    to add it, and the log says so too.
    """
    period_of_end = _period_start(kind, end)
    if period_of_end <= last_valid_from:
        return

    # Once per store and period: the set lives as long as the process.
    key = (str(session.get_bind().engine.url), kind.value, period_of_end)
    if key in _reported_carry_overs:
        return
    _reported_carry_overs.add(key)
    logger.warning(
        "no %s interest rate stored from %s; the rate from %s is used instead. "
        "Add the published rate with: incasso rate add --kind %s --from %s",
        kind,
        period_of_end,
        last_valid_from,
        kind,
        period_of_end,
    )
    reason = _missing_reason(kind, period_of_end)
    open_items = session.scalars(
        select(ReviewItem).where(
            ReviewItem.kind == ReviewKind.RATE_MISSING, ReviewItem.status == ReviewStatus.OPEN
        )
    )
    if any(reason in item.reasons for item in open_items):
        return
    session.add(
        ReviewItem(
            kind=ReviewKind.RATE_MISSING,
            reasons=[reason],
            detail=f"incasso rate add --kind {kind.value} --from {period_of_end.isoformat()}",
        )
    )


def _missing_reason(kind: RateKind, period_start: date) -> str:
    """The reason code of the review item asking for the rate of ``kind`` from ``period_start``."""
    return f"rate_missing:{kind.value}:{period_start.isoformat()}"


def _resolve_missing(session: Session, rate: InterestRate, actor: str, now: datetime) -> None:
    """Resolve the open review items that asked for ``rate``, now that it is stored."""
    reason = _missing_reason(RateKind(rate.kind), rate.valid_from)
    open_items = session.scalars(
        select(ReviewItem).where(
            ReviewItem.kind == ReviewKind.RATE_MISSING, ReviewItem.status == ReviewStatus.OPEN
        )
    )
    note = f"{rate.kind} rate of {percent_text(Decimal(rate.percent))} % added"
    for item in [item for item in open_items if reason in (item.reasons or ())]:
        resolve_review_item(session, item.id, actor=actor, now=now, note=note)


def _check_start_date(kind: RateKind, valid_from: date) -> None:
    if valid_from.day == 1 and valid_from.month in START_MONTHS[kind]:
        return

    if kind == RateKind.B2B:
        template = N_(
            "Start date {date} is invalid for a b2b rate: it is fixed per half-year, so give "
            "1 January or 1 July, e.g. {example}."
        )
    else:
        template = N_(
            "Start date {date} is invalid for a legal rate: it is fixed per calendar year, so "
            "give 1 January, e.g. {example}."
        )
    example = _period_start(kind, valid_from)
    raise RateError(template, date=valid_from.isoformat(), example=example.isoformat())


def _check_percent(percent: Decimal) -> None:
    if not percent.is_finite() or percent <= 0 or percent > MAX_PERCENT:
        raise RateError(
            N_("Percentage {value} is invalid: give a rate above 0 and at most {maximum}."),
            value=str(percent),
            maximum=str(MAX_PERCENT),
        )

    exponent = percent.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > PERCENT_DECIMALS:
        raise RateError(
            N_("Percentage {value} is invalid: give at most {decimals} decimals."),
            value=str(percent),
            decimals=str(PERCENT_DECIMALS),
        )


def _check_not_stored(session: Session, kind: RateKind, valid_from: date) -> None:
    stored = session.scalar(
        select(InterestRate).where(
            InterestRate.kind == kind.value, InterestRate.valid_from == valid_from
        )
    )
    if stored is not None:
        raise _duplicate(kind, valid_from, Decimal(stored.percent))


def _insert(session: Session, rate: InterestRate) -> None:
    """Add ``rate`` in a savepoint, so a rate stored meanwhile by someone else is reported."""
    try:
        with session.begin_nested():
            session.add(rate)
    except IntegrityError:
        # Raises the RateError that names the stored rate, or re-raises when none is found.
        _check_not_stored(session, RateKind(rate.kind), rate.valid_from)
        raise


def _duplicate(kind: RateKind, valid_from: date, percent: Decimal) -> RateError:
    # A stored rate is never changed, because computed charges refer to it by id.
    return RateError(
        N_(
            "A {kind} rate from {date} is already stored, at {percent} %. Stored rates are "
            "never changed because charges refer to them, so check the date you gave."
        ),
        kind=kind.value,
        date=valid_from.isoformat(),
        percent=percent_text(percent),
    )
