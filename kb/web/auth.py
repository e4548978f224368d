"""Back-office login, logout and password change."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from kb import accounts
from kb.extensions import limiter
from kb.web.forms import LoginForm, PasswordForm

bp = Blueprint("auth", __name__, url_prefix="/admin")


def login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def login():
    form = LoginForm()
    target = safe_next(request.args.get("next")) or url_for("admin.home")
    if current_user.is_authenticated:
        return redirect(target)
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            session.clear()  # nothing from before the login survives into the new session
            login_user(user)
            return redirect(target)
        form.password.errors.append(_("Wrong e-mail address or password."))
    return render_template("admin/login.html", form=form), 200 if not form.errors else 400


@bp.post("/logout")
@login_required
def logout():
    accounts.rotate_login_token(current_user.id)  # ends this user's sessions everywhere
    logout_user()
    session.clear()
    flash(_("You are logged out."))
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        if accounts.authenticate(current_user.email, form.current.data) is None:
            form.current.errors.append(_("This is not your current password."))
        else:
            try:
                user = accounts.change_password(current_user.id, form.new.data)
            except accounts.AccountError as error:
                form.new.errors.append(str(error))
            else:
                session.clear()
                login_user(user)  # this session continues with the new token
                flash(_("Your password was changed. Other sessions were logged out."))
                return redirect(url_for("admin.home"))
    return render_template("admin/password.html", form=form), 200 if not form.errors else 400


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects).

    Browsers read "\\" as "/" and drop tabs and newlines, so "/\\evil.example" and
    "/\t/evil.example" mean "//evil.example": any of them, or control characters, refuse the
    target, and so does a target that only becomes one of these once percent-decoded again.
    """
    if not target or len(target) > 2000:
        return None
    for candidate in (target, unquote(target)):
        if any(char == "\\" or ord(char) < 0x20 or ord(char) == 0x7F for char in candidate):
            return None
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return None
        if not candidate.startswith("/") or candidate.startswith("//"):
            return None
    return target
