"""Contact requests: validation, durable storage, delivery after the commit, retention."""

from __future__ import annotations

from kb.contact.delivery import (
    DeliveryAttempt,
    DeliveryError,
    DeliveryState,
    configured_channels,
    deliver_due,
    delivery_states,
    is_header_safe,
    retry_now,
)
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
from kb.contact.retention import purge

__all__ = [
    "FIELD_LIMITS",
    "ContactFilters",
    "ContactPage",
    "ContactReceipt",
    "DeliveryAttempt",
    "DeliveryError",
    "DeliveryState",
    "StoredContact",
    "configured_channels",
    "deliver_due",
    "delivery_states",
    "is_header_safe",
    "purge",
    "retry_now",
    "find_contact",
    "link_answer",
    "list_contacts",
    "mark_handled",
    "mark_unhandled",
    "new_reference",
    "submit_contact",
]
