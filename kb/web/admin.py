"""The back office. Every route denies by default: a view must declare the role it needs."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from kb import accounts

bp = Blueprint("admin", __name__, url_prefix="/admin")


def requires(role: str) -> Callable:
    """Let users with ``role`` (or a higher one) use the view."""
    if role not in accounts.ROLES:
        raise ValueError(f"unknown role {role!r}")

    def mark(view: Callable) -> Callable:
        view.required_role = role
        return view

    return mark


ROLE_NAMES = {"writer": _l("Writer"), "manager": _l("Manager"), "admin": _l("Administrator")}


@bp.app_context_processor
def role_names() -> dict:
    return {"role_names": ROLE_NAMES}


def protect(blueprint: Blueprint) -> Blueprint:
    """Make every route of a back-office blueprint deny access unless it declares a role."""
    blueprint.before_request(deny_by_default)
    return blueprint


def deny_by_default():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    view = current_app.view_functions.get(request.endpoint)
    required = getattr(view, "required_role", None)
    if required is None or not current_user.can(required):
        abort(403)
    return None


protect(bp)


@bp.get("/")
@requires("writer")
def home():
    return render_template("admin/home.html")


@bp.get("/users")
@requires("admin")
def users():
    return render_template("admin/users.html", users=accounts.list_users())
