"""Registering creditors and the sender addresses or domains they submit from."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.be import vat as enterprise_numbers
from stdnum.exceptions import InvalidChecksum, ValidationError

from incasso.cases.phone import normalize_phone_number
from incasso.i18n import LANGUAGES, N_
from incasso.store.models import Creditor, CreditorFaxNumber, CreditorSender

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")
ADDRESS_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DOMAIN_PATTERN = re.compile(r"^@?[a-z0-9-]+(\.[a-z0-9-]+)+$")


class CreditorError(ValueError):
    """Raised when creditor data is invalid or clashes with a registered creditor.

    ``template`` is an English catalog message with ``{name}`` fields; the
    command line shows it translated, ``str()`` gives the English text.
    """

    def __init__(self, template: str, **values: str) -> None:
        super().__init__(template.format(**values))
        self.template = template
        self.values = values


@dataclass(frozen=True)
class NewCreditor:
    code: str
    name: str
    enterprise_number: str
    language: str
    address: str
    phone: str
    email: str | None
    senders: tuple[str, ...]
    # Numbers the creditor faxes from; a fax gateway reports them as the caller.
    fax_numbers: tuple[str, ...] = ()


def register_creditor(session: Session, new: NewCreditor) -> Creditor:
    """Validate ``new`` and add it; raise CreditorError naming the bad value."""
    code = new.code.strip().upper()
    if not CODE_PATTERN.match(code):
        raise CreditorError(
            N_("Code {code} is invalid: use up to 32 letters, digits or dashes, e.g. ACME."),
            code=new.code,
        )
    number = normalize_enterprise_number(new.enterprise_number)
    language = new.language.strip().lower()
    if language not in LANGUAGES:
        raise CreditorError(
            N_("Language {language} is invalid: use one of {choices}."),
            language=new.language,
            choices=", ".join(LANGUAGES),
        )
    for option, value in (("--name", new.name), ("--address", new.address), ("--phone", new.phone)):
        if not value.strip():
            raise CreditorError(
                N_("{option} is empty: the law requires it on every notice to a debtor."),
                option=option,
            )

    patterns = [normalize_sender(sender) for sender in new.senders]
    fax_numbers = [normalize_fax_number(value) for value in new.fax_numbers]
    _check_unique(session, code, number, patterns)
    _check_unique_fax(session, fax_numbers)
    creditor = Creditor(
        code=code,
        name=new.name.strip(),
        enterprise_number=number,
        language=language,
        address=new.address.strip(),
        phone=new.phone.strip(),
        email=new.email.strip().lower() if new.email else None,
    )
    creditor.senders = [CreditorSender(pattern=pattern) for pattern in patterns]
    creditor.fax_numbers = [CreditorFaxNumber(number=fax) for fax in fax_numbers]
    session.add(creditor)
    session.flush()
    return creditor


def normalize_enterprise_number(value: str) -> str:
    """Return a Belgian enterprise number as 10 digits; raise CreditorError when invalid."""
    try:
        return str(enterprise_numbers.validate(value))
    except InvalidChecksum as err:
        raise CreditorError(
            N_(
                "Enterprise number {number} is invalid: its check digits do not match. Check it "
                "in the KBO register."
            ),
            number=value,
        ) from err
    except ValidationError as err:
        raise CreditorError(
            N_("Enterprise number {number} is invalid: give 10 digits, e.g. 0123.456.749."),
            number=value,
        ) from err


def normalize_sender(value: str) -> str:
    """Return ``name@domain`` or ``@domain`` in lower case; raise CreditorError when invalid."""
    sender = value.strip().lower()
    if ADDRESS_PATTERN.match(sender) and not sender.startswith("@"):
        return sender
    if DOMAIN_PATTERN.match(sender):
        return sender if sender.startswith("@") else "@" + sender
    raise CreditorError(
        N_("Sender {sender} is invalid: give an address (ap@acme.be) or a domain (acme.be)."),
        sender=value,
    )


def normalize_fax_number(value: str) -> str:
    """Return a fax number in E.164 form; raise CreditorError when it cannot be one."""
    number = normalize_phone_number(value)
    if number is None:
        raise CreditorError(
            N_("Fax number {number} is invalid: give it with its area code, e.g. 09 234 56 78."),
            number=value,
        )
    return number


def _check_unique_fax(session: Session, numbers: Iterable[str]) -> None:
    for number in numbers:
        owner = session.scalar(select(CreditorFaxNumber).where(CreditorFaxNumber.number == number))
        if owner is not None:
            raise CreditorError(
                N_("Fax number {number} already belongs to creditor {code}."),
                number=number,
                code=owner.creditor.code,
            )


def _check_unique(session: Session, code: str, number: str, patterns: Iterable[str]) -> None:
    if session.scalar(select(Creditor.id).where(Creditor.code == code)) is not None:
        raise CreditorError(
            N_("Code {code} is taken by another creditor; choose another code."), code=code
        )
    if session.scalar(select(Creditor.id).where(Creditor.enterprise_number == number)):
        raise CreditorError(
            N_("Enterprise number {number} is already registered to another creditor."),
            number=number,
        )
    for pattern in patterns:
        owner = session.scalar(select(CreditorSender).where(CreditorSender.pattern == pattern))
        if owner is not None:
            raise CreditorError(
                N_("Sender {sender} already belongs to creditor {code}."),
                sender=pattern,
                code=owner.creditor.code,
            )


def list_creditors(session: Session) -> list[Creditor]:
    return list(session.scalars(select(Creditor).order_by(Creditor.code)))
