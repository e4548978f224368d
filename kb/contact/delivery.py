"""Pass stored contact requests on to the support team by e-mail and/or a signed webhook.

The only module that speaks SMTP or HTTP. Delivery happens after the commit (never inside the
customer's request), at least once per channel, with exponential backoff between attempts;
after ``DELIVERY_MAX_ATTEMPTS`` failures a channel's delivery is marked "failed".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from sqlalchemy.exc import IntegrityError

from kb.contact.models import ContactDelivery, ContactRequest
from kb.errors import KBError
from kb.extensions import db
from kb.insights.models import utcnow

logger = logging.getLogger(__name__)

CHANNELS = ("email", "webhook")
BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=6)
ERROR_LIMIT = 500
TOPIC_LIMIT = 60
SIGNATURE_HEADER = "X-KB-Signature"
TIMESTAMP_HEADER = "X-KB-Timestamp"
REFERENCE_HEADER = "X-KB-Reference"
# CR/LF or any other control character, or an RFC 2047 encoded word: never in a header.
HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]|=\?.*\?=", re.DOTALL)


class DeliveryError(KBError):
    """A delivery attempt failed, or delivery is misconfigured."""


@dataclass(frozen=True)
class DeliveryState:
    """One channel's delivery of one request, as the back office shows it."""

    channel: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_error: str | None
    delivered_at: dt.datetime | None


@dataclass(frozen=True)
class DeliveryAttempt:
    """What one attempt did: delivered, or rescheduled (next_attempt_at), or given up."""

    reference: str
    channel: str
    delivered: bool
    status: str
    attempts: int
    error: str | None = None
    next_attempt_at: dt.datetime | None = None


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str
    password: str
    ssl: bool
    starttls: bool


def is_header_safe(value: str) -> bool:
    """False for text that could inject or smuggle e-mail headers (CR, LF, encoded words)."""
    return HEADER_UNSAFE.search(value) is None


def configured_channels(config: Mapping | None = None) -> tuple[str, ...]:
    """The channels the configuration turns on; DeliveryError for a half or bad setting."""
    config = current_app.config if config is None else config
    channels = []
    if config["SMTP_URL"]:
        smtp_settings(config["SMTP_URL"])
        if not config["CONTACT_TO"] or not is_header_safe(config["CONTACT_TO"]):
            raise DeliveryError("KB_SMTP_URL is set but KB_CONTACT_TO is not a valid address")
        channels.append("email")
    if config["CONTACT_WEBHOOK_URL"]:
        if urlsplit(config["CONTACT_WEBHOOK_URL"]).scheme not in ("http", "https"):
            raise DeliveryError("KB_CONTACT_WEBHOOK_URL must be an http:// or https:// URL")
        if not config["CONTACT_WEBHOOK_SECRET"]:
            raise DeliveryError(
                "KB_CONTACT_WEBHOOK_URL is set but KB_CONTACT_WEBHOOK_SECRET is not"
            )
        channels.append("webhook")
    return tuple(channels)


def backoff(attempts: int) -> dt.timedelta:
    """Wait after the ``attempts``-th failure: 1, 2, 4, 8 ... minutes, at most 6 hours."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))


def waiting_count() -> int:
    """Requests still waiting for delivery (status "pending")."""
    return db.session.scalar(
        db.select(db.func.count(ContactRequest.id)).where(
            ContactRequest.delivery_status == "pending"
        )
    )


def due_deliveries(
    channels: tuple[str, ...], now: dt.datetime | None = None, limit: int | None = None
) -> list[int]:
    """Ids of the channel deliveries to attempt now, oldest due first.

    Creates the missing per-channel rows of pending requests first. Simulated and purged
    requests are never delivered.
    """
    now = now or utcnow()
    _schedule_missing(channels, now)
    query = (
        db.select(ContactDelivery.id)
        .join(ContactRequest, ContactRequest.id == ContactDelivery.request_id)
        .where(
            ContactDelivery.status == "pending",
            ContactDelivery.channel.in_(channels),
            ContactDelivery.next_attempt_at <= now,
            ContactRequest.delivery_status == "pending",
            ContactRequest.purged_at.is_(None),
        )
        .order_by(ContactDelivery.next_attempt_at, ContactDelivery.id)
    )
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def attempt_delivery(
    delivery_id: int, channels: tuple[str, ...], now: dt.datetime | None = None
) -> DeliveryAttempt | None:
    """Try one channel delivery once and record the outcome; None if it is no longer due."""
    delivery = db.session.get(ContactDelivery, delivery_id)
    request = db.session.get(ContactRequest, delivery.request_id) if delivery else None
    if (
        delivery is None
        or request is None
        or delivery.status != "pending"
        or delivery.channel not in channels
        or request.delivery_status != "pending"
        or request.purged_at is not None
    ):
        return None
    sender = SENDERS[delivery.channel]
    error = None
    try:
        sender(request, current_app.config)
    except DeliveryError as failure:
        error = str(failure)[:ERROR_LIMIT]
        logger.warning(
            "delivery of %s by %s failed: %s", request.reference, delivery.channel, error
        )
    now = now or utcnow()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    if error is None:
        delivery.status = "delivered"
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        delivery.last_error = None
    else:
        delivery.last_error = error
        if delivery.attempts >= current_app.config["DELIVERY_MAX_ATTEMPTS"]:
            delivery.status = "failed"
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
    request.delivery_status = _overall_status(request.id)
    db.session.commit()
    return DeliveryAttempt(
        reference=request.reference,
        channel=delivery.channel,
        delivered=error is None,
        status=delivery.status,
        attempts=delivery.attempts,
        error=error,
        next_attempt_at=delivery.next_attempt_at,
    )


def deliver_due(
    now: dt.datetime | None = None, progress: Callable[[int], object] | None = None
) -> list[DeliveryAttempt]:
    """Attempt every delivery that is due now (what `flask kb deliver` does)."""
    channels = configured_channels()
    attempts = []
    for delivery_id in due_deliveries(channels, now):
        attempt = attempt_delivery(delivery_id, channels, now)
        if attempt is not None:
            attempts.append(attempt)
        if progress:
            progress(1)
    return attempts


def retry_now(reference: str) -> list[DeliveryAttempt] | None:
    """Make the request's undelivered channels due now and attempt them at once.

    A "failed" delivery gets one more attempt. None if there is no such request; DeliveryError
    for simulated or purged requests and when no channel is configured.
    """
    request = db.session.scalar(
        db.select(ContactRequest).where(ContactRequest.reference == reference[:16])
    )
    if request is None:
        return None
    if request.delivery_status == "simulated" or request.purged_at is not None:
        raise DeliveryError("simulated and purged requests are never delivered")
    channels = configured_channels()
    if not channels:
        raise DeliveryError("no delivery channel is configured")
    now = utcnow()
    if request.delivery_status != "delivered":
        request.delivery_status = "pending"
    db.session.commit()
    _schedule_missing(channels, now)
    rows = db.session.scalars(
        db.select(ContactDelivery).where(
            ContactDelivery.request_id == request.id,
            ContactDelivery.channel.in_(channels),
            ContactDelivery.status != "delivered",
        )
    ).all()
    for row in rows:
        row.status = "pending"
        row.next_attempt_at = now
    request.delivery_status = _overall_status(request.id) if rows else request.delivery_status
    db.session.commit()
    ids = [row.id for row in rows]
    return [a for i in ids if (a := attempt_delivery(i, channels)) is not None]


def delivery_states(reference: str) -> tuple[DeliveryState, ...]:
    """The request's per-channel deliveries, e-mail first."""
    rows = db.session.scalars(
        db.select(ContactDelivery)
        .join(ContactRequest, ContactRequest.id == ContactDelivery.request_id)
        .where(ContactRequest.reference == reference)
        .order_by(ContactDelivery.channel)
    )
    return tuple(
        DeliveryState(
            channel=row.channel,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_attempt_at=row.last_attempt_at,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
        )
        for row in rows
    )


def _schedule_missing(channels: tuple[str, ...], now: dt.datetime) -> None:
    """Give every pending request one delivery row per configured channel."""
    for channel in channels:
        have = db.select(ContactDelivery.request_id).where(ContactDelivery.channel == channel)
        missing = db.session.scalars(
            db.select(ContactRequest.id).where(
                ContactRequest.delivery_status == "pending",
                ContactRequest.purged_at.is_(None),
                ContactRequest.id.not_in(have),
            )
        ).all()
        for request_id in missing:
            db.session.add(
                ContactDelivery(request_id=request_id, channel=channel, next_attempt_at=now)
            )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # a concurrent run created them first


def _overall_status(request_id: int) -> str:
    statuses = set(
        db.session.scalars(
            db.select(ContactDelivery.status).where(ContactDelivery.request_id == request_id)
        )
    )
    if "failed" in statuses:
        return "failed"
    if statuses and statuses <= {"delivered"}:
        return "delivered"
    return "pending"


# E-mail


def smtp_settings(url: str) -> SmtpSettings:
    """Parse smtp://user:pass@host:port?starttls=1 or smtps://user:pass@host:port."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise DeliveryError("KB_SMTP_URL must look like smtp://user:pass@host:port")
    options = parse_qs(parts.query)
    starttls = options.get("starttls", ["0"])[-1].lower() in ("1", "true", "yes", "on")
    use_ssl = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if use_ssl else 587 if starttls else 25)
    except ValueError as error:
        raise DeliveryError("KB_SMTP_URL has an invalid port") from error
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        ssl=use_ssl,
        starttls=starttls and not use_ssl,
    )


def tls_context() -> ssl.SSLContext:
    """Certificates are verified against the system's trust store."""
    return ssl.create_default_context()


def email_message(request: ContactRequest, to: str) -> EmailMessage:
    """The e-mail to the support team: From and To are ours, the customer only in Reply-To."""
    message = EmailMessage()
    message["Subject"] = email_subject(request)
    message["From"] = to
    message["To"] = to
    if is_header_safe(request.email):
        try:
            message["Reply-To"] = Address(addr_spec=request.email)
        except (ValueError, IndexError):
            logger.warning("contact %s: e-mail address unusable as Reply-To", request.reference)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(idstring=request.reference)
    message[REFERENCE_HEADER] = request.reference
    message.set_content(
        "\n".join(
            [
                f"Reference: {request.reference}",
                f"Received (UTC): {request.created_at:%Y-%m-%d %H:%M:%S}",
                f"Language: {request.lang}",
                f"Topic: {request.category or '-'}",
                f"Name: {request.name}",
                f"E-mail: {request.email}",
                "",
                request.message,
            ]
        )
    )
    return message


def email_subject(request: ContactRequest) -> str:
    """Built from the reference and a cleaned, truncated topic: never from customer text."""
    subject = f"Contact request {request.reference}"
    topic = HEADER_UNSAFE.sub(" ", request.category or "").strip()[:TOPIC_LIMIT]
    return f"{subject}: {topic}" if topic else subject


def send_email(request: ContactRequest, config: Mapping) -> None:
    settings = smtp_settings(config["SMTP_URL"])
    message = email_message(request, config["CONTACT_TO"])
    timeout = config["DELIVERY_TIMEOUT"]
    try:
        if settings.ssl:
            client = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=timeout, context=tls_context()
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        with client:
            if settings.starttls:
                client.starttls(context=tls_context())
            if settings.user:
                client.login(settings.user, settings.password)
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryError(f"SMTP {settings.host}:{settings.port}: {error}") from error


# Webhook


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET elsewhere: count it as a failure instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ARG002
        return None


def webhook_payload(request: ContactRequest) -> dict:
    return {
        "reference": request.reference,
        "created_at": request.created_at.isoformat(timespec="seconds") + "Z",
        "lang": request.lang,
        "category": request.category,
        "name": request.name,
        "email": request.email,
        "message": request.message,
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<raw body>", as the X-KB-Signature header carries it."""
    signed = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def post_webhook(request: ContactRequest, config: Mapping) -> None:
    body = json.dumps(webhook_payload(request), ensure_ascii=False).encode("utf-8")
    timestamp = str(int(time.time()))
    http_request = urllib.request.Request(
        config["CONTACT_WEBHOOK_URL"],
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "kb-contact-delivery",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(config["CONTACT_WEBHOOK_SECRET"], timestamp, body),
            REFERENCE_HEADER: request.reference,
        },
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(http_request, timeout=config["DELIVERY_TIMEOUT"]) as response:
            response.read(4096)
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"webhook answered HTTP {error.code}") from error
    except urllib.error.URLError as error:
        raise DeliveryError(f"webhook unreachable: {error.reason}") from error
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryError(f"webhook failed: {error}") from error


SENDERS: dict[str, Callable[[ContactRequest, Mapping], None]] = {
    "email": send_email,
    "webhook": post_webhook,
}
