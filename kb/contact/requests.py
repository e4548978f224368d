"""Store a contact request durably, in the same transaction that closes its contact flow."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from kb.contact.delivery import is_header_safe
from kb.contact.models import ContactRequest
from kb.errors import ContactError
from kb.extensions import db, durable_writes
from kb.insights import close_flow_as_contacted

logger = logging.getLogger(__name__)

FIELD_LIMITS = {"name": 100, "email": 254, "message": 5000, "category": 64}
# Crockford's base32 without look-alikes (no I, L, O, U): easy to read out on the phone.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_ATTEMPTS = 5


@dataclass(frozen=True)
class ContactReceipt:
    reference: str
    created_at: dt.datetime


@dataclass(frozen=True)
class StoredContact:
    reference: str
    visit_id: str
    flow_id: int | None
    created_at: dt.datetime
    lang: str
    name: str
    email: str
    category: str
    message: str
    delivery_status: str
    handled_at: dt.datetime | None = None
    handled_by: str | None = None
    answer_key: str | None = None
    purged_at: dt.datetime | None = None

    @property
    def handled(self) -> bool:
        return self.handled_at is not None


def submit_contact(
    *,
    visit_id: str,
    flow_id: int | None,
    lang: str,
    name: str,
    email: str,
    message: str,
    category: str = "",
) -> ContactReceipt:
    """Commit the request (and mark its flow contacted); raise ContactError if not stored."""
    fields = {"name": name, "email": email, "message": message, "category": category}
    for field, value in fields.items():
        if len(value) > FIELD_LIMITS[field]:
            raise ValueError(f"{field} is longer than {FIELD_LIMITS[field]} characters")
    for field in ("name", "email"):
        if not is_header_safe(fields[field]):
            raise ValueError(f"{field} contains line breaks or an encoded word")
    for _ in range(REFERENCE_ATTEMPTS):
        request = ContactRequest(
            reference=new_reference(),
            visit_id=visit_id,
            lang=lang,
            **{field: value.strip() for field, value in fields.items()},
        )
        try:
            durable_writes()  # what a customer wrote survives even a power cut
            request.flow_id = close_flow_as_contacted(flow_id, visit_id)
            db.session.add(request)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # reference collision: draw another
            continue
        except SQLAlchemyError as error:
            db.session.rollback()
            logger.exception("contact request could not be stored")
            raise ContactError("the contact request could not be stored") from error
        return ContactReceipt(reference=request.reference, created_at=request.created_at)
    raise ContactError("no free reference number found")


def find_contact(reference: str) -> StoredContact | None:
    request = db.session.scalar(
        db.select(ContactRequest).where(ContactRequest.reference == reference)
    )
    if request is None:
        return None
    return stored_contact(request)


def stored_contact(request: ContactRequest) -> StoredContact:
    """The row as a value that can leave this package."""
    return StoredContact(
        reference=request.reference,
        visit_id=request.visit_id,
        flow_id=request.flow_id,
        created_at=request.created_at,
        lang=request.lang,
        name=request.name,
        email=request.email,
        category=request.category,
        message=request.message,
        delivery_status=request.delivery_status,
        handled_at=request.handled_at,
        handled_by=request.handled_by,
        answer_key=request.answer_key,
        purged_at=request.purged_at,
    )


def new_reference() -> str:
    return "KB-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
