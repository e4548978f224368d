"""Contact requests: validation, durable storage (delivery comes after the commit)."""

from __future__ import annotations

from kb.contact.requests import (
    FIELD_LIMITS,
    ContactReceipt,
    StoredContact,
    find_contact,
    new_reference,
    submit_contact,
)

__all__ = [
    "FIELD_LIMITS",
    "ContactReceipt",
    "StoredContact",
    "find_contact",
    "new_reference",
    "submit_contact",
]
