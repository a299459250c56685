"""Staff accounts of the web queue: creating them, checking passwords, the screen language.

Passwords are kept as argon2id hashes (argon2-cffi's defaults, RFC 9106's
second recommended setting). A sign-in with an unknown name still verifies a
hash, so the check takes as long as for a known name with a wrong password.
A hash made with weaker settings than today's is replaced at the next
successful sign-in.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from incasso.i18n import N_, LocalizedError
from incasso.store.models import StaffRole, StaffUser

logger = logging.getLogger(__name__)

USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,63}")
MIN_PASSWORD_LENGTH = 12
SCREEN_LANGUAGES = ("nl", "fr")

_hasher = PasswordHasher()
# Verified when the user name is unknown, so both checks take the same time.
_UNKNOWN_USER_HASH = _hasher.hash("no user has this password")


class AccountError(LocalizedError):
    """Error for an account that cannot be created or changed as requested."""


@dataclass(frozen=True)
class NewStaff:
    username: str
    display_name: str
    password: str
    role: StaffRole = StaffRole.STAFF
    language: str = "nl"


def add_staff(session: Session, new: NewStaff, *, now: datetime) -> StaffUser:
    """Create the account ``new``; raise AccountError for a taken name or a weak password."""
    username = new.username.strip().lower()
    _check_username(username)
    _check_password(new.password)
    if new.language not in SCREEN_LANGUAGES:
        raise AccountError(
            N_("Language {value} is not offered; choose nl or fr."), value=new.language
        )
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise AccountError(N_("User name {username} is taken; choose another."), username=username)

    user = StaffUser(
        username=username,
        display_name=new.display_name.strip() or username,
        password_hash=_hasher.hash(new.password),
        role=StaffRole(new.role),
        language=new.language,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    logger.info("staff account %s created with role %s", username, user.role)
    return user


def change_password(session: Session, username: str, password: str) -> None:
    """Set a new password for ``username``."""
    user = _existing(session, username)
    _check_password(password)
    user.password_hash = _hasher.hash(password)
    logger.info("password of staff account %s changed", user.username)


def set_active(session: Session, username: str, active: bool) -> None:
    """Open or close the account ``username``; a closed account cannot sign in."""
    user = _existing(session, username)
    user.active = active
    logger.info("staff account %s %s", user.username, "opened" if active else "closed")


def authenticate(
    session: Session, username: str, password: str, *, now: datetime
) -> StaffUser | None:
    """Return the active account whose name and password match, or None."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    if user is None or not user.active:
        _verify(_UNKNOWN_USER_HASH, password)
        return None
    if not _verify(user.password_hash, password):
        logger.info("sign-in failed for %s: invalid password", user.username)
        return None

    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.signed_in_at = now
    return user


def list_staff(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _existing(session: Session, username: str) -> StaffUser:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    if user is None:
        raise AccountError(
            N_("There is no staff account {username}; see incasso user list."),
            username=username,
        )
    return user


def _check_username(username: str) -> None:
    if not USERNAME.fullmatch(username):
        raise AccountError(
            N_(
                "User name {username} is not usable; use 2 to 64 lower-case letters, digits, "
                "dots, dashes or underscores, starting with a letter."
            ),
            username=username,
        )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            N_("The password is too short; use at least {count} characters."),
            count=MIN_PASSWORD_LENGTH,
        )
