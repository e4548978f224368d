"""Back-office users: roles, argon2id password hashes, the login token sessions refer to."""

from __future__ import annotations

from kb.accounts.users import (
    MIN_PASSWORD_LENGTH,
    ROLES,
    AccountError,
    StaffUser,
    authenticate,
    change_password,
    create_user,
    find_user,
    list_users,
    load_user_by_token,
    role_allows,
    rotate_login_token,
)

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "AccountError",
    "StaffUser",
    "authenticate",
    "change_password",
    "create_user",
    "find_user",
    "list_users",
    "load_user_by_token",
    "role_allows",
    "rotate_login_token",
]
