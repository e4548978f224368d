"""Delivery after the commit: a real SMTP server and a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import hmac
import json
import shutil
import socket
import ssl
import subprocess
import threading
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from kb import create_app
from kb.contact import delivery, find_contact
from kb.contact.models import ContactDelivery, ContactRequest
from kb.extensions import db
from kb.insights.models import utcnow

from .conftest import app_config, csrf_token, log_in, page, textarea_text

SECRET = "webhook-test-secret"
FORM = {"name": "Sara Ali", "email": "sara@example.com", "category": "orders"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, message))
        return "250 OK"


def accept_login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"kb" and auth_data.password == b"p@ss word"
    return AuthResult(success=ok)


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=accept_login,
        auth_require_tls=False,
    )
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


class Receiver:
    """A webhook receiver answering with the given statuses in turn (the last one repeats)."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                # Header names are case-insensitive: keep them lower-case.
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.requests.append((headers, body))
                status = (
                    receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                )
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verified(self, headers, body) -> bool:
        """What a receiver does: HMAC over "<timestamp>.<raw body>", compared in constant time."""
        timestamp = headers["x-kb-timestamp"]
        signed = timestamp.encode() + b"." + body
        expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
        fresh = abs(dt.datetime.now(dt.UTC).timestamp() - int(timestamp)) <= 300
        return fresh and hmac.compare_digest(expected, headers["x-kb-signature"])

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory():
    made = []

    def make(*statuses):
        receiver = Receiver(statuses or (200,))
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


def make_app(tmp_path, shared_index, **settings):
    app = create_app(app_config(tmp_path, INDEX_DIR=str(shared_index), **settings))
    with app.app_context():
        db.create_all()
    return app


def submit(client, message="My parcel never arrived", **fields):
    form_page = client.get("/en/contact", query_string={"q": message, "step": "form"})
    data = {**FORM, "message": message, "question": message, **fields}
    data["csrf_token"] = csrf_token(form_page)
    return client.post("/en/contact", data=data)


def submitted_reference(app) -> str:
    client = app.test_client()
    response = submit(client)
    assert response.status_code == 302, response.get_data(as_text=True)
    return page(client.get(response.location)).select_one(".reference").get_text(strip=True)


def deliver(app):
    result = app.test_cli_runner().invoke(args=["kb", "deliver"])
    assert result.exit_code == 0, result.output
    return result.output


def deliveries(app, reference):
    with app.app_context():
        return {state.channel: state for state in delivery.delivery_states(reference)}


def make_due(app, reference):
    """Pretend the retry time has come."""
    with app.app_context():
        request = db.session.scalar(
            db.select(ContactRequest).where(ContactRequest.reference == reference)
        )
        for row in db.session.scalars(
            db.select(ContactDelivery).where(ContactDelivery.request_id == request.id)
        ):
            if row.next_attempt_at:
                row.next_attempt_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()


def test_submit_stores_the_request_pending_and_sends_nothing(tmp_path, shared_index, smtp_server):
    app = make_app(
        tmp_path,
        shared_index,
        SMTP_URL=f"smtp://127.0.0.1:{smtp_server.port}",
        CONTACT_TO="support@kb.example",
    )
    reference = submitted_reference(app)
    with app.app_context():
        assert find_contact(reference).delivery_status == "pending"
    assert smtp_server.messages == []  # the customer's request never waits for a mail server


def test_email_goes_to_support_with_the_customer_only_as_reply_to(
    tmp_path, shared_index, smtp_server
):
    app = make_app(
        tmp_path,
        shared_index,
        SMTP_URL=f"smtp://kb:p%40ss%20word@127.0.0.1:{smtp_server.port}",
        CONTACT_TO="support@kb.example",
    )
    reference = submitted_reference(app)
    output = deliver(app)
    assert f"{reference} email: delivered" in output
    assert "1 delivered, 0 failed" in output

    [(mail_from, rcpt_tos, message)] = smtp_server.messages
    assert mail_from == "support@kb.example" and rcpt_tos == ["support@kb.example"]
    assert message["From"] == "support@kb.example"
    assert message["Reply-To"] == "sara@example.com"
    assert message["Subject"] == f"Contact request {reference}: orders"
    assert message["X-KB-Reference"] == reference
    body = message.get_content()
    assert "My parcel never arrived" in body and "Sara Ali" in body
    with app.app_context():
        assert find_contact(reference).delivery_status == "delivered"
    state = deliveries(app, reference)["email"]
    assert (state.status, state.attempts, state.last_error) == ("delivered", 1, None)
    assert state.delivered_at is not None

    assert "0 delivered, 0 failed" in deliver(app)  # delivered once, never again
    assert len(smtp_server.messages) == 1


def test_wrong_smtp_password_is_rescheduled(tmp_path, shared_index, smtp_server):
    app = make_app(
        tmp_path,
        shared_index,
        SMTP_URL=f"smtp://kb:wrong@127.0.0.1:{smtp_server.port}",
        CONTACT_TO="support@kb.example",
        DELIVERY_TIMEOUT=2,
    )
    reference = submitted_reference(app)
    output = deliver(app)
    assert "attempt 1 failed" in output and "next attempt at" in output
    state = deliveries(app, reference)["email"]
    assert state.status == "pending" and state.last_error.startswith("SMTP 127.0.0.1")
    assert smtp_server.messages == []


@pytest.fixture
def certificate(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return key, cert


def test_starttls_and_login(tmp_path, shared_index, certificate, monkeypatch):
    key, cert = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=accept_login,
        tls_context=server_context,
        require_starttls=True,
    )
    controller.start()
    try:
        # The client verifies the server: here against the test certificate.
        monkeypatch.setattr(
            delivery, "tls_context", lambda: ssl.create_default_context(cafile=str(cert))
        )
        app = make_app(
            tmp_path,
            shared_index,
            SMTP_URL=f"smtp://kb:p%40ss%20word@127.0.0.1:{controller.port}?starttls=1",
            CONTACT_TO="support@kb.example",
        )
        reference = submitted_reference(app)
        assert f"{reference} email: delivered" in deliver(app)
        assert len(inbox.messages) == 1
    finally:
        controller.stop()


def test_webhook_fails_first_then_is_retried_and_delivered_signed(
    tmp_path, shared_index, receiver_factory
):
    receiver = receiver_factory(500, 200)
    app = make_app(
        tmp_path, shared_index, CONTACT_WEBHOOK_URL=receiver.url, CONTACT_WEBHOOK_SECRET=SECRET
    )
    reference = submitted_reference(app)
    output = deliver(app)
    assert "webhook answered HTTP 500" in output and "next attempt at" in output
    state = deliveries(app, reference)["webhook"]
    assert (state.status, state.attempts) == ("pending", 1)
    assert state.next_attempt_at - state.last_attempt_at == dt.timedelta(minutes=1)

    assert "0 delivered, 0 failed" in deliver(app)  # not due yet
    make_due(app, reference)
    assert f"{reference} webhook: delivered" in deliver(app)
    state = deliveries(app, reference)["webhook"]
    assert (state.status, state.attempts, state.last_error) == ("delivered", 2, None)

    assert len(receiver.requests) == 2
    for headers, body in receiver.requests:
        assert receiver.verified(headers, body)
        assert headers["x-kb-reference"] == reference
        payload = json.loads(body)
        assert payload["reference"] == reference
        assert payload["message"] == "My parcel never arrived"
        assert payload["email"] == "sara@example.com"
    # A changed body or a replayed old timestamp does not verify.
    headers, body = receiver.requests[-1]
    assert not receiver.verified(headers, body.replace(b"parcel", b"pArcel"))
    old = {**headers, "x-kb-timestamp": str(int(headers["x-kb-timestamp"]) - 3600)}
    assert not receiver.verified(old, body)


def test_a_receiver_that_is_down_is_retried_with_growing_waits(tmp_path, shared_index):
    app = make_app(
        tmp_path,
        shared_index,
        CONTACT_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/hook",
        CONTACT_WEBHOOK_SECRET=SECRET,
        DELIVERY_TIMEOUT=2,
    )
    reference = submitted_reference(app)
    waits = []
    for _ in range(3):
        output = deliver(app)
        assert "webhook unreachable" in output and "still pending" in output
        state = deliveries(app, reference)["webhook"]
        waits.append(state.next_attempt_at - state.last_attempt_at)
        make_due(app, reference)
    assert waits == [dt.timedelta(minutes=1), dt.timedelta(minutes=2), dt.timedelta(minutes=4)]
    assert state.attempts == 3 and state.status == "pending"


def test_backoff_is_capped():
    assert delivery.backoff(1) == dt.timedelta(minutes=1)
    assert delivery.backoff(5) == dt.timedelta(minutes=16)
    assert delivery.backoff(30) == dt.timedelta(hours=6)


def test_after_the_last_attempt_it_fails_and_staff_can_retry_now(
    tmp_path, shared_index, receiver_factory, staff
):
    receiver = receiver_factory(503, 503, 200)
    app = make_app(
        tmp_path,
        shared_index,
        CONTACT_WEBHOOK_URL=receiver.url,
        CONTACT_WEBHOOK_SECRET=SECRET,
        DELIVERY_MAX_ATTEMPTS=2,
    )
    from kb.accounts import create_user

    with app.app_context():
        create_user("boss@kb.example", "correct horse battery", "manager")
    reference = submitted_reference(app)
    deliver(app)
    make_due(app, reference)
    output = deliver(app)
    assert f"{reference} webhook: FAILED after 2 attempts" in output
    with app.app_context():
        assert find_contact(reference).delivery_status == "failed"
    make_due(app, reference)
    assert "0 delivered, 0 failed" in deliver(app)  # given up: no more automatic attempts

    client = app.test_client()
    log_in(client, "boss@kb.example")
    listing = page(client.get("/admin/contacts"))
    assert "Delivery failed" in listing.select_one(".contact-table tbody tr").get_text()
    detail = client.get(f"/admin/contacts/{reference}")
    html = page(detail)
    row = html.select_one(".delivery-table tr.delivery-webhook").get_text(" ", strip=True)
    assert "Delivery failed" in row and "HTTP 503" in row
    form = html.find("form", attrs={"action": f"/admin/contacts/{reference}/deliver"})
    token = form.find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post(f"/admin/contacts/{reference}/deliver", data={"csrf_token": token})
    assert response.status_code == 302
    html = page(client.get(response.location))
    assert html.select_one("#delivery-status").get_text(strip=True) == "Delivered"
    assert receiver.verified(*receiver.requests[-1]) and len(receiver.requests) == 3


def test_retry_now_needs_a_csrf_token_and_a_manager(tmp_path, shared_index, receiver_factory):
    receiver = receiver_factory(200)
    app = make_app(
        tmp_path, shared_index, CONTACT_WEBHOOK_URL=receiver.url, CONTACT_WEBHOOK_SECRET=SECRET
    )
    reference = submitted_reference(app)
    client = app.test_client()
    response = client.post(f"/admin/contacts/{reference}/deliver")
    assert response.status_code in (302, 400, 401, 403)
    assert receiver.requests == []


def test_simulated_requests_are_never_delivered(tmp_path, shared_index, receiver_factory):
    receiver = receiver_factory(200)
    app = make_app(
        tmp_path, shared_index, CONTACT_WEBHOOK_URL=receiver.url, CONTACT_WEBHOOK_SECRET=SECRET
    )
    result = app.test_cli_runner().invoke(args=["kb", "simulate", "--visits", "60", "--seed", "3"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        simulated = db.session.scalar(db.select(db.func.count(ContactRequest.id)))
        assert simulated > 0
    assert "0 delivered, 0 failed" in deliver(app)
    assert receiver.requests == []
    with app.app_context():
        reference = db.session.scalar(db.select(ContactRequest.reference))
        with pytest.raises(delivery.DeliveryError):
            delivery.retry_now(reference)
        assert db.session.scalar(db.select(db.func.count(ContactDelivery.id))) == 0


def test_without_a_channel_deliver_says_so(tmp_path, shared_index):
    app = make_app(tmp_path, shared_index)
    submitted_reference(app)
    assert "No delivery channel is configured" in deliver(app)
    assert "1 request(s) wait" in deliver(app)


def test_a_webhook_without_secret_is_a_configuration_error(tmp_path, shared_index):
    app = make_app(tmp_path, shared_index, CONTACT_WEBHOOK_URL="http://127.0.0.1:9/hook")
    result = app.test_cli_runner().invoke(args=["kb", "deliver"])
    assert result.exit_code == 1
    assert "KB_CONTACT_WEBHOOK_SECRET" in result.output


def test_only_http_webhooks_are_accepted(tmp_path, shared_index):
    app = make_app(
        tmp_path,
        shared_index,
        CONTACT_WEBHOOK_URL="file:///etc/passwd",
        CONTACT_WEBHOOK_SECRET=SECRET,
    )
    result = app.test_cli_runner().invoke(args=["kb", "deliver"])
    assert result.exit_code == 1 and "http://" in result.output


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "Sara\r\nBcc: victim@example.com"},
        {"name": "Sara\nAli"},
        {"name": "=?utf-8?q?Bcc=3A_victim=40example=2Ecom?="},
        {"email": "sara@example.com\r\nBcc: victim@example.com"},
        {"email": "=?utf-8?q?x?=@example.com"},
    ],
)
def test_header_injection_is_refused_by_the_form_with_the_text_kept(app, client, fields):
    message = "Please call me back about order 123"
    response = submit(client, message=message, **fields)
    assert response.status_code == 400
    form = page(response).find("form", attrs={"method": "post", "action": "/en/contact"})
    assert textarea_text(form, "message") == message
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(ContactRequest.id))) == 0


def test_subject_never_carries_customer_text(app):
    with app.app_context():
        request = ContactRequest(
            reference="KB-TEST0001",
            created_at=utcnow(),
            lang="en",
            name="Sara",
            email="sara@example.com",
            category="orders\r\nBcc: x@example.com" + "x" * 100,
            message="Subject: hello\r\nBcc: victim@example.com",
        )
        message = delivery.email_message(request, "support@kb.example")
    subject = message["Subject"]
    assert "\n" not in subject and "\r" not in subject
    assert subject.startswith("Contact request KB-TEST0001: orders")
    assert len(subject) <= len("Contact request KB-TEST0001: ") + delivery.TOPIC_LIMIT
    assert message["Bcc"] is None and message["Reply-To"] == "sara@example.com"


def test_smtp_urls_are_parsed():
    plain = delivery.smtp_settings("smtp://mail.example")
    assert (plain.host, plain.port, plain.user, plain.ssl, plain.starttls) == (
        "mail.example", 25, "", False, False
    )  # fmt: skip
    tls = delivery.smtp_settings("smtp://u%40x:p%3Aw@mail.example?starttls=1")
    assert (tls.port, tls.user, tls.password, tls.starttls) == (587, "u@x", "p:w", True)
    implicit = delivery.smtp_settings("smtps://u:p@mail.example")
    assert (implicit.port, implicit.ssl, implicit.starttls) == (465, True, False)
    with pytest.raises(delivery.DeliveryError):
        delivery.smtp_settings("http://mail.example")
