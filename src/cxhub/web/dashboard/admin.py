"""Managing dashboard users (admins only): create, change role, reset password, disable."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cxhub.services.access import users
from cxhub.services.access.users import ROLES, User, UserError
from cxhub.web.dashboard import downloads
from cxhub.web.dashboard.auth import CheckedForm, Forbidden, require
from cxhub.web.dashboard.pages import redirect, render

router = APIRouter(prefix="/app/users", include_in_schema=False)
Admin = Annotated[User, require("users")]


def _page(request: Request, *, message: str | None = None, error: str | None = None,
          status: int = 200) -> Response:
    return render(request, "app/users.html", {
        "users": users.list_users(request.app.state.warehouse), "roles": ROLES,
        "message": message, "error": error,
    }, status=status)


@router.get("")
def user_list(request: Request, admin: Admin, message: str | None = None) -> Response:
    return _page(request, message=message)


@router.get("/export.{fmt}")
def user_list_file(request: Request, fmt: str, admin: Admin) -> Response:
    """The users as listed (never a password hash or a session)."""
    downloads.check_format(fmt)
    rows = [{"username": u.username, "role": u.role, "created_at": u.created_at,
             "disabled_at": u.disabled_at}
            for u in users.list_users(request.app.state.warehouse)]
    return downloads.respond(fmt, "users", downloads.table(
        rows, ("username", "role", "created_at", "disabled_at")))


def _done(message: str) -> Response:
    return redirect("/app/users?message=" + quote(message))


@router.post("")
def create(request: Request, admin: Admin, form: CheckedForm) -> Response:
    try:
        made = users.create_user(request.app.state.warehouse, username=form.get("username", ""),
                                 password=form.get("password", ""), role=form.get("role", ""))
    except UserError as exc:
        return _page(request, error=str(exc), status=400)
    return _done(f"User {made.username} created ({made.role}).")


def _not_self(admin: User, username: str, what: str) -> None:
    # An admin who disables or demotes themselves could leave nobody able to manage users.
    if username.strip().lower() == admin.username:
        raise Forbidden(f"You cannot {what} your own account; ask another admin.", 400)


@router.post("/{username}/disable")
def disable(request: Request, username: str, admin: Admin, form: CheckedForm) -> Response:
    _not_self(admin, username, "disable")
    if not users.disable_user(request.app.state.warehouse, username):
        raise Forbidden(f"There is no user {username!r}.", 404)
    return _done(f"User {username} disabled; their sessions are ended.")


@router.post("/{username}/enable")
def enable(request: Request, username: str, admin: Admin, form: CheckedForm) -> Response:
    if not users.enable_user(request.app.state.warehouse, username):
        raise Forbidden(f"There is no user {username!r}.", 404)
    return _done(f"User {username} enabled.")


@router.post("/{username}/role")
def change_role(request: Request, username: str, admin: Admin, form: CheckedForm) -> Response:
    _not_self(admin, username, "change the role of")
    try:
        found = users.set_role(request.app.state.warehouse, username, form.get("role", ""))
    except UserError as exc:
        return _page(request, error=str(exc), status=400)
    if not found:
        raise Forbidden(f"There is no user {username!r}.", 404)
    return _done(f"{username} is now {form.get('role')}.")


@router.post("/{username}/password")
def reset_password(request: Request, username: str, admin: Admin,
                   form: CheckedForm) -> Response:
    try:
        found = users.set_password(request.app.state.warehouse, username,
                                   form.get("password", ""))
    except UserError as exc:
        return _page(request, error=str(exc), status=400)
    if not found:
        raise Forbidden(f"There is no user {username!r}.", 404)
    request.app.state.dashboard_throttle.forgive(username.strip().lower())
    return _done(f"Password of {username} changed; their sessions are ended.")
