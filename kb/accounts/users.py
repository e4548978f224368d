"""Create, authenticate and manage back-office users."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError

from kb.accounts.models import User
from kb.errors import KBError
from kb.extensions import db

# Each role can do everything the roles before it can.
ROLES = ("writer", "manager", "admin")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024

# argon2id with the library's current defaults (RFC 9106 low-memory profile).
_hasher = PasswordHasher()


class AccountError(KBError):
    """A user cannot be created or changed as asked."""


@dataclass(frozen=True)
class StaffUser:
    """A logged-in back-office user, as Flask-Login sees it."""

    id: int
    email: str
    role: str
    login_token: str
    created_at: dt.datetime

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.login_token

    def can(self, role: str) -> bool:
        return role_allows(self.role, role)


def role_allows(role: str, required: str) -> bool:
    """True when ``role`` includes the rights of ``required``."""
    return ROLES.index(role) >= ROLES.index(required)


def create_user(email: str, password: str, role: str) -> StaffUser:
    address = _normalise_email(email)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    _check_password(password)
    user = User(
        email=address,
        password_hash=_hasher.hash(password),
        role=role,
        login_token=secrets.token_urlsafe(32),
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise AccountError(f"a user with the e-mail address {address} already exists") from error
    return _staff(user)


def authenticate(email: str, password: str) -> StaffUser | None:
    """The user with these credentials, or None (in the same time for unknown addresses)."""
    user = db.session.scalar(db.select(User).where(User.email == email.strip().lower()))
    stored = user.password_hash if user is not None and user.active else _dummy_hash()
    try:
        _hasher.verify(stored, password[:MAX_PASSWORD_LENGTH])
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        db.session.commit()
    return _staff(user)


def change_password(user_id: int, new_password: str) -> StaffUser:
    """Set a new password; every existing session of the user ends."""
    _check_password(new_password)
    user = _get(user_id)
    user.password_hash = _hasher.hash(new_password)
    user.login_token = secrets.token_urlsafe(32)
    db.session.commit()
    return _staff(user)


def rotate_login_token(user_id: int) -> None:
    """End every session of the user (logout)."""
    user = _get(user_id)
    user.login_token = secrets.token_urlsafe(32)
    db.session.commit()


def load_user_by_token(token: str) -> StaffUser | None:
    if not token:
        return None
    user = db.session.scalar(db.select(User).where(User.login_token == token))
    return _staff(user) if user is not None and user.active else None


def list_users() -> list[StaffUser]:
    return [_staff(user) for user in db.session.scalars(db.select(User).order_by(User.email))]


def find_user(email: str) -> StaffUser | None:
    user = db.session.scalar(db.select(User).where(User.email == email.strip().lower()))
    return _staff(user) if user is not None else None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so a login takes as long either way."""
    return _hasher.hash(secrets.token_hex(16))


def _get(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise AccountError(f"no user with id {user_id}")
    return user


def _normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise AccountError(f"invalid e-mail address: {error}") from error


def _check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise AccountError(
            f"the password must have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )


def _staff(user: User) -> StaffUser:
    return StaffUser(
        id=user.id,
        email=user.email,
        role=user.role,
        login_token=user.login_token,
        created_at=user.created_at,
    )
