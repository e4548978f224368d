"""Back-office users: passwords, login, logout, the user commands."""

from __future__ import annotations

import pytest

from kb.accounts import AccountError, authenticate, create_user, list_users
from kb.accounts.models import User
from kb.extensions import db

from .conftest import STAFF_PASSWORD, csrf_token, log_in, page


def test_passwords_are_stored_as_argon2id_hashes(app):
    with app.app_context():
        create_user("Writer@KB.example", STAFF_PASSWORD, "writer")
        stored = db.session.scalars(db.select(User)).one()
    assert stored.email == "writer@kb.example"
    assert (
        stored.password_hash.startswith("$argon2id$") and STAFF_PASSWORD not in stored.password_hash
    )


def test_authentication_checks_the_password_and_ignores_email_case(app):
    with app.app_context():
        create_user("writer@kb.example", STAFF_PASSWORD, "writer")
        assert authenticate("WRITER@kb.example", STAFF_PASSWORD).role == "writer"
        assert authenticate("writer@kb.example", "wrong password!") is None
        assert authenticate("nobody@kb.example", STAFF_PASSWORD) is None


@pytest.mark.parametrize(
    ("email", "password", "role", "message"),
    [
        ("not-an-address", STAFF_PASSWORD, "writer", "invalid e-mail address"),
        ("a@kb.example", "short", "writer", "10 to 1024 characters"),
        ("a@kb.example", STAFF_PASSWORD, "owner", "role must be one of writer, manager, admin"),
    ],
)
def test_bad_users_are_refused_with_a_reason(app, email, password, role, message):
    with app.app_context(), pytest.raises(AccountError, match=message):
        create_user(email, password, role)


def test_duplicate_email_is_refused(app):
    with app.app_context():
        create_user("a@kb.example", STAFF_PASSWORD, "writer")
        with pytest.raises(AccountError, match="already exists"):
            create_user("A@kb.example", STAFF_PASSWORD, "admin")


def test_login_redirects_to_a_local_next_page_only(client, staff):
    response = log_in(client, staff["admin"], next_url="/admin/users")
    assert response.status_code == 302 and response.location == "/admin/users"
    client.post("/admin/logout", data={"csrf_token": csrf_token(client.get("/admin/"))})
    for hostile in ("//evil.example", "https://evil.example/", "/\\evil.example", "javascript:x"):
        response = log_in(client, staff["admin"], next_url=hostile)
        assert response.location == "/admin/", hostile
        client.post("/admin/logout", data={"csrf_token": csrf_token(client.get("/admin/"))})


def test_wrong_password_is_refused_with_a_message(client, staff):
    response = log_in(client, staff["writer"], password="not the password")
    assert response.status_code == 400
    assert "Wrong e-mail address or password." in page(response).get_text()
    assert client.get("/admin/").status_code == 302


def test_logout_ends_the_session_everywhere(app, staff):
    first, second = app.test_client(), app.test_client()
    log_in(first, staff["manager"])
    log_in(second, staff["manager"])
    first.post("/admin/logout", data={"csrf_token": csrf_token(first.get("/admin/"))})
    assert first.get("/admin/").status_code == 302
    assert second.get("/admin/").status_code == 302  # the other browser is logged out too


def test_password_change_needs_the_current_password(client, staff, app):
    log_in(client, staff["writer"])
    form = client.get("/admin/password")
    data = {
        "current": "wrong password!",
        "new": "a new long password",
        "confirm": "a new long password",
    }
    response = client.post("/admin/password", data={**data, "csrf_token": csrf_token(form)})
    assert response.status_code == 400
    data["current"] = STAFF_PASSWORD
    response = client.post("/admin/password", data={**data, "csrf_token": csrf_token(form)})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200  # this session goes on
    with app.app_context():
        assert authenticate(staff["writer"], "a new long password") is not None


def test_login_is_rate_limited(tmp_path, shared_index):
    from kb import create_app

    from .conftest import app_config

    app = create_app(
        app_config(
            tmp_path,
            INDEX_DIR=str(shared_index),
            RATELIMIT_ENABLED=True,
            LOGIN_RATE_LIMIT="3 per minute",
        )
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()
    statuses = [log_in(client, "x@kb.example", "wrong password!").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]


def test_user_commands_add_list_and_change_password(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["kb", "user", "add", "sam@kb.example", "--role", "manager", "--password-stdin"],
        input=STAFF_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=["kb", "user", "add", "lee@kb.example", "--role", "writer"],
        input="a prompted password\na prompted password\n",
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["kb", "user", "list"])
    assert "lee@kb.example\twriter" in result.output and "sam@kb.example\tmanager" in result.output
    result = runner.invoke(
        args=["kb", "user", "add", "x@kb.example", "--role", "writer", "--password-stdin"],
        input="short\n",
    )
    assert result.exit_code == 1 and "10 to 1024 characters" in result.output
    result = runner.invoke(
        args=["kb", "user", "password", "sam@kb.example", "--password-stdin"],
        input="another long password\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert authenticate("sam@kb.example", "another long password") is not None
        assert [u.email for u in list_users()] == ["lee@kb.example", "sam@kb.example"]
