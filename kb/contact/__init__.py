"""Contact requests: validation, durable storage (delivery comes after the commit)."""

from __future__ import annotations

from kb.contact.inbox import (
    ContactFilters,
    ContactPage,
    link_answer,
    list_contacts,
    mark_handled,
    mark_unhandled,
)
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
    "ContactFilters",
    "ContactPage",
    "ContactReceipt",
    "StoredContact",
    "find_contact",
    "link_answer",
    "list_contacts",
    "mark_handled",
    "mark_unhandled",
    "new_reference",
    "submit_contact",
]
