"""The sign-in page, signing out, and the one-time invite and password-reset pages.

Ordinary HTML forms (they work without JavaScript on a slow phone). Signing in sets the same
session cookie as ``POST /api/auth/session`` and counts against the same sign-in rate limits.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from kindmap.api import csrf
from kindmap.api.auth import AuthSettingsDep, ClockDep
from kindmap.api.deps import ClientDep, EngineDep, SessionDep
from kindmap.api.page_session import HOME, MaybeSignedIn, PostedForm, RawForm, render, safe_next, see_other
from kindmap.db import write_session
from kindmap.errors import InvalidQuery, NotFound, RateLimited, Unauthorized
from kindmap.models.accounts import normalise_email
from kindmap.services.accounts import links
from kindmap.services.accounts.auth import (
    MAX_EMAIL_CHARS,
    MAX_PASSWORD_CHARS,
    MIN_PASSWORD_CHARS,
    authenticate,
    issue_token,
    revoke_token,
)

router = APIRouter(include_in_schema=False)


def _login_page(request: Request, *, next_path: str | None, status_code: int = 200, error: str = "",
                email: str = "", note: str = "", who=None) -> HTMLResponse:
    response = HTMLResponse("")
    token = csrf.pre_session_token(request, response)
    page = render("carer_login.html", status_code=status_code, csrf_token=token, title="Sign in", error=error,
                  email=email, next_path=next_path or "", note=note, signed_in_as=who.user if who else None,
                  session_csrf=who.csrf if who else "")
    page.raw_headers.extend(h for h in response.raw_headers if h[0] == b"set-cookie")
    return page


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, found: MaybeSignedIn, next: Annotated[str | None, Query(max_length=300)] = None,
               signed_out: bool = False, password_set: bool = False) -> HTMLResponse:
    """The sign-in form (or, when signed in already, who you are and a way out)."""
    note = "You have signed out." if signed_out else ("Your password is set. Sign in with it now." if password_set else "")
    return _login_page(request, next_path=safe_next(next), note=note, who=found)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, form: RawForm, engine: EngineDep, client: ClientDep, settings: AuthSettingsDep,
          clock: ClockDep) -> Response:
    """Check the email and password; on success set the session cookie and go to the person's start page."""
    email = str(form.get("email") or "")[:MAX_EMAIL_CHARS]
    password = str(form.get("password") or "")
    next_path = safe_next(str(form.get("next") or ""))
    if not csrf.pre_session_matches(request, form.get(csrf.FIELD)):
        return _login_page(request, next_path=next_path, status_code=403, error=csrf.REFUSED, email=email)
    if not email.strip() or not password:
        return _login_page(request, next_path=next_path, status_code=422, email=email,
                           error="Enter your email address and your password.")
    if len(password) > MAX_PASSWORD_CHARS:
        return _login_page(request, next_path=next_path, status_code=422, email=email,
                           error="Incorrect email or password.")
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    try:
        request.app.state.login_limit.check(account=normalise_email(email), client=client)
        now = clock()
        with write_session(engine) as session:
            user = authenticate(session, email=email, password=password, now=now)
            raw, _row = issue_token(session, user, ttl=ttl, kind="session", now=now)
    except RateLimited as exc:
        return _login_page(request, next_path=next_path, status_code=429, email=email,
                           error=exc.message[:1].upper() + exc.message[1:] + ".")
    except Unauthorized:
        return _login_page(request, next_path=next_path, status_code=401, email=email,
                           error="Incorrect email or password. Check them and try again.")
    response = see_other(next_path or HOME.get(user.role, "/"))
    response.set_cookie(settings.session_cookie, raw, max_age=int(ttl.total_seconds()), httponly=True,
                        secure=request.url.scheme == "https", samesite="strict", path="/")
    response.delete_cookie(csrf.PRE_SESSION_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, form: PostedForm, engine: EngineDep, settings: AuthSettingsDep,
           clock: ClockDep) -> Response:
    """End this browser's session (the cookie's token is revoked, not just forgotten)."""
    with write_session(engine) as session:
        revoke_token(session, request.cookies.get(settings.session_cookie), now=clock())
    response = see_other("/login?signed_out=true")
    response.delete_cookie(settings.session_cookie, path="/", httponly=True, samesite="strict")
    return response


# --------------------------------------------------------------------------- invite and reset links

PASSWORD_HINT = f"At least {MIN_PASSWORD_CHARS} characters. A few words you will remember works well."


def _password_page(request: Request, kind: str, token: str, *, status_code: int = 200, errors: dict | None = None,
                   email: str = "", dead: bool = False) -> HTMLResponse:
    response = HTMLResponse("")
    csrf_value = csrf.pre_session_token(request, response)
    title = "Set your password" if kind == "invite" else "Choose a new password"
    page = render("carer_set_password.html", status_code=status_code, csrf_token=csrf_value, title=title, kind=kind,
                  token=token, errors=errors or {}, email=email, dead=dead, dead_message=links.DEAD_LINK,
                  hint=PASSWORD_HINT, min_chars=MIN_PASSWORD_CHARS, max_chars=MAX_PASSWORD_CHARS)
    page.raw_headers.extend(h for h in response.raw_headers if h[0] == b"set-cookie")
    return page


def _link_page(request: Request, kind: str, token: str, session, clock) -> HTMLResponse:
    try:
        link, user = links.live_link(session, token, now=clock())
    except NotFound:
        return _password_page(request, kind, "", status_code=404, dead=True)
    if link.purpose != kind:
        return _password_page(request, kind, "", status_code=404, dead=True)
    return _password_page(request, kind, token, email=user.email)


def _use_link(request: Request, form, kind: str, token: str, engine, clock) -> Response:
    if not csrf.pre_session_matches(request, form.get(csrf.FIELD)):
        return _password_page(request, kind, token, status_code=403, errors={"form": csrf.REFUSED})
    password, confirm = str(form.get("password") or ""), str(form.get("confirm") or "")
    try:
        with write_session(engine) as session:
            link, _user = links.live_link(session, token, now=clock())
            if link.purpose != kind:
                raise NotFound(links.DEAD_LINK)
            links.redeem(session, token, password=password, confirm=confirm, now=clock())
    except NotFound:
        return _password_page(request, kind, "", status_code=404, dead=True)
    except InvalidQuery as exc:
        field = "confirm" if exc.message.startswith("confirm:") else "password"
        words = exc.message.removeprefix("confirm: ")
        return _password_page(request, kind, token, status_code=422, errors={field: words[:1].upper() + words[1:] + "."})
    return see_other("/login?password_set=true")


@router.get("/invite/{token}", response_class=HTMLResponse)
def invite_page(request: Request, token: str, session: SessionDep, clock: ClockDep) -> HTMLResponse:
    """Set the password of an invited carer's new account."""
    return _link_page(request, "invite", token, session, clock)


@router.post("/invite/{token}", response_class=HTMLResponse)
def use_invite(request: Request, token: str, form: RawForm, engine: EngineDep, clock: ClockDep) -> Response:
    """Take up an invitation: the password is set and the account switched on (once only)."""
    return _use_link(request, form, "invite", token, engine, clock)


@router.get("/reset/{token}", response_class=HTMLResponse)
def reset_page(request: Request, token: str, session: SessionDep, clock: ClockDep) -> HTMLResponse:
    """Choose a new password with a reset link."""
    return _link_page(request, "reset", token, session, clock)


@router.post("/reset/{token}", response_class=HTMLResponse)
def use_reset(request: Request, token: str, form: RawForm, engine: EngineDep, clock: ClockDep) -> Response:
    """Use a reset link: the new password is set and every other sign-in of the account ends."""
    return _use_link(request, form, "reset", token, engine, clock)
