"""The anonymous visit id, kept in the signed session cookie. No IP address is stored."""

from __future__ import annotations

import secrets

from flask import session


def visit_id() -> str:
    """This browser session's visit id, created on first use."""
    if "visit" not in session:
        session["visit"] = secrets.token_hex(16)
    return session["visit"]
