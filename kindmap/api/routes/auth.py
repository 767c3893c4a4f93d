"""Sign in (OAuth2 password flow → bearer token, or a web session cookie), sign out, who am I."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from pydantic import BaseModel, Field

from kindmap.api.auth import (
    AuthSettingsDep,
    ClockDep,
    CredentialsDep,
    CurrentUser,
    unauthorized,
)
from kindmap.api.deps import ClientDep, EngineDep
from kindmap.db import write_session
from kindmap.errors import InvalidQuery, Unauthorized
from kindmap.models.accounts import User, UserPublic, normalise_email
from kindmap.schemas import ErrorOut
from kindmap.services.accounts.auth import (
    MAX_EMAIL_CHARS,
    MAX_PASSWORD_CHARS,
    authenticate,
    issue_token,
    revoke_token,
)

router = APIRouter(prefix="/api/auth", tags=["auth"])

ERRORS = {401: {"model": ErrorOut}, 422: {"model": ErrorOut}}


@dataclass(frozen=True)
class SignInForm:
    """The one email and password of a sign-in, as counted by the rate limits and checked."""

    email: str
    password: str


async def sign_in_form(
    request: Request,
    client: ClientDep,
    username: Annotated[str, Form(max_length=MAX_EMAIL_CHARS, description="The account's email address")],
    password: Annotated[str, Form(max_length=MAX_PASSWORD_CHARS, json_schema_extra={"format": "password"})],
) -> SignInForm:
    """Read the sign-in form (urlencoded or multipart, the OAuth2 password flow's ``username`` and
    ``password``) and count the attempt, before any password is checked.

    The limits count exactly the account that is then checked: the email normalised as
    ``authenticate`` does, and a field given twice is refused, since a limiter reading one copy
    and a check reading the other was a way round the lockout."""
    form = await request.form()  # the FormData FastAPI parsed for the fields above (cached), not a second parse
    repeated = [name for name in ("username", "password") if len(form.getlist(name)) > 1]
    if repeated:
        raise InvalidQuery(f"give {' and '.join(repeated)} once only; the form had more than one")
    email = normalise_email(username)
    request.app.state.login_limit.check(account=email, client=client)
    return SignInForm(email=email, password=password)


FormDep = Annotated[SignInForm, Depends(sign_in_form)]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


def user_public(user: User) -> UserPublic:
    """The account as the API shows it (no password hash)."""
    return UserPublic(id=user.id, email=user.email, display_name=user.display_name, role=user.role,
                      scheme_id=user.scheme_id, active=user.active)


def _sign_in(engine, form: SignInForm, *, kind: str, ttl: timedelta, clock) -> tuple[str, User]:
    now = clock()
    try:
        with write_session(engine) as session:
            user = authenticate(session, email=form.email, password=form.password, now=now)
            raw, _row = issue_token(session, user, ttl=ttl, kind=kind, now=now)
    except Unauthorized as exc:
        raise unauthorized(exc.message) from None
    return raw, user


@router.post("/token", response_model=TokenOut, responses=ERRORS)
def token(form: FormDep, engine: EngineDep, settings: AuthSettingsDep, clock: ClockDep) -> TokenOut:
    """OAuth2 password flow: form fields ``username`` (the email) and ``password`` → a bearer token."""
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    raw, _user = _sign_in(engine, form, kind="bearer", ttl=ttl, clock=clock)
    return TokenOut(access_token=raw, expires_in=int(ttl.total_seconds()))


@router.post("/session", response_model=UserPublic, responses=ERRORS)
def session_login(form: FormDep, request: Request, response: Response, engine: EngineDep,
                  settings: AuthSettingsDep, clock: ClockDep) -> UserPublic:
    """Sign a web page in: sets an HttpOnly, SameSite=Strict session cookie (Secure over https)."""
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    raw, user = _sign_in(engine, form, kind="session", ttl=ttl, clock=clock)
    response.set_cookie(settings.session_cookie, raw, max_age=int(ttl.total_seconds()), httponly=True,
                        secure=request.url.scheme == "https", samesite="strict", path="/")
    return user_public(user)


@router.post("/logout", status_code=204, responses=ERRORS)
def logout(user: CurrentUser, creds: CredentialsDep, response: Response, engine: EngineDep,
           settings: AuthSettingsDep, clock: ClockDep) -> Response:
    """Revoke the token (or session cookie) this request was made with."""
    with write_session(engine) as session:
        revoke_token(session, creds[0] if creds else None, now=clock())
    response.status_code = 204
    if creds and creds[1] == "session":
        response.delete_cookie(settings.session_cookie, path="/", httponly=True, samesite="strict")
    return response


@router.get("/me", response_model=UserPublic, responses=ERRORS)
def me(user: CurrentUser) -> UserPublic:
    """The signed-in account."""
    return user_public(user)
