"""Who is asking: session cookies, roles and CSRF tokens on forms (the brake on password
guessing is in `throttle.py`).

The session cookie holds a random token (HttpOnly, SameSite=Lax); the warehouse holds only its
SHA-256 (`services.access.users`). Sessions slide: each visit pushes the expiry 12 hours ahead,
written at most every few minutes so that browsing does not queue a write per page.

Forms carry a double-submit CSRF token: a random value in a cookie that must come back, hashed
with the session token, in the form's hidden field. Another site can make a browser send the
cookies, but cannot read them to put the token in the form.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import parse_qsl, quote

from fastapi import Depends, Request
from starlette.responses import Response

from cxhub.services.access import users
from cxhub.services.access.users import User
from cxhub.warehouse import Warehouse

SESSION_COOKIE = "cxhub_session"
CSRF_COOKIE = "cxhub_csrf"
CSRF_FIELD = "csrf_token"
SESSION_TTL = timedelta(hours=12)
SLIDE_EVERY = timedelta(minutes=5)
MAX_FORM_BYTES = 64 * 1024


class LoginRequired(Exception):
    """No valid session: the handler sends the browser to the login page."""

    def __init__(self, next_url: str = "/app") -> None:
        self.next_url = next_url


class Forbidden(Exception):
    """Logged in, but the role does not allow this page or action."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def _warehouse(request: Request) -> Warehouse:
    return request.app.state.warehouse  # type: ignore[no-any-return]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def current_user(request: Request) -> User:
    """The logged-in user; sends anyone else to the login page."""
    token = request.cookies.get(SESSION_COOKIE)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token:
        raise LoginRequired(path)
    wh = _warehouse(request)
    session = users.session_user(wh, token)
    if session is None:
        raise LoginRequired(path)
    if session.expires_at < _now() + SESSION_TTL - SLIDE_EVERY:
        users.extend_session(wh, token, ttl=SESSION_TTL)
    request.state.user = session.user
    return session.user


CurrentUser = Annotated[User, Depends(current_user)]


def require(permission: str):  # type: ignore[no-untyped-def]
    """A dependency giving the user when their role has `permission`, else a 403 page."""

    def check(user: CurrentUser) -> User:
        if not user.can(permission):
            raise Forbidden(f"Your role ({user.role}) does not give access to this page.")
        return user

    return Depends(check)


# --- CSRF ---------------------------------------------------------------------------------

def csrf_token(request: Request) -> str:
    """The token forms on this page must carry (the cookie's value is made now if the browser
    has none), bound to the session: see `_bound`."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return _bound(existing, request)
    made = getattr(request.state, "new_csrf", None)
    if made is None:
        made = secrets.token_urlsafe(32)
        request.state.new_csrf = made
    return _bound(made, request)


def _bound(cookie: str, request: Request) -> str:
    """The form's token: the CSRF cookie's value hashed with the session's secret. A site
    that manages to plant a CSRF cookie of its choosing (from a sibling subdomain, say) still
    cannot make a valid form: it would need the HttpOnly session token too."""
    session = request.cookies.get(SESSION_COOKIE)
    if not session:
        return cookie  # the login form: there is no session to bind to yet
    return hashlib.sha256(f"{cookie}|{session}".encode()).hexdigest()


def set_csrf_cookie(request: Request, response: Response) -> None:
    made = getattr(request.state, "new_csrf", None)
    if made:
        response.set_cookie(CSRF_COOKIE, made, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https", path="/app")


async def read_form(request: Request) -> dict[str, str]:
    """A URL-encoded form (what every dashboard form posts), checked for its CSRF token."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if body and (content_type != "application/x-www-form-urlencoded"
                 or len(body) > MAX_FORM_BYTES):
        raise Forbidden("This form could not be read; reload the page and try again.", 400)
    form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD, "")
    expected = _bound(cookie, request) if cookie else ""
    if not expected or not sent or not secrets.compare_digest(expected.encode(), sent.encode()):
        raise Forbidden("The form's security token is missing or stale; reload the page and "
                        "send it again.")
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin.split("://")[-1] != request.headers.get("host"):
        raise Forbidden("This form was sent from another site.")
    return form


CheckedForm = Annotated[dict[str, str], Depends(read_form)]


# --- sessions -----------------------------------------------------------------------------

def log_in(request: Request, response: Response, user: User) -> None:
    token = users.start_session(_warehouse(request), user, ttl=SESSION_TTL)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/app",
                        max_age=int(SESSION_TTL.total_seconds()))


def log_out(request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        users.end_session(_warehouse(request), token)
    response.delete_cookie(SESSION_COOKIE, path="/app")


def login_url(next_url: str) -> str:
    return "/app/login?next=" + quote(safe_next(next_url), safe="/")


def safe_next(next_url: str | None) -> str:
    """Only paths inside the dashboard: a login link must not send anyone to another site."""
    if not next_url or not next_url.startswith("/app") or next_url.startswith("//"):
        return "/app"
    return next_url
