"""Accounts, schemes, password checks and opaque sign-in tokens.

Passwords are hashed with pwdlib's recommended hasher (argon2). A failed sign-in takes
the same path whether the email is unknown or the password wrong (a dummy hash is
verified), and says the same thing. Tokens are 32 random bytes, URL-safe; only their
sha256 is stored. Nothing here logs a password or a token.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from pwdlib import PasswordHash
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlmodel import Session, select

from kindmap.errors import Conflict, InvalidQuery, NotFound, Unauthorized
from kindmap.models.accounts import (
    SCHEME_ROLES,
    Role,
    Scheme,
    Token,
    User,
    UserBase,
    normalise_email,
)
from kindmap.models.common import utcnow

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
MAX_EMAIL_CHARS = 320  # read from a sign-in form: a stored email is at most 254, plus room for stray spaces
BAD_LOGIN = "incorrect email or password"
BAD_TOKEN = "not signed in, or the sign-in has expired; sign in again"

_hasher = PasswordHash.recommended()
# Verified when the email is unknown, so that path costs the same as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

Clock = Callable[[], datetime]


class AuthSettings(BaseSettings):
    """Sign-in settings (``KINDMAP_TOKEN_TTL_MINUTES``, ``KINDMAP_SESSION_COOKIE``)."""

    model_config = SettingsConfigDict(env_prefix="KINDMAP_", extra="ignore")

    token_ttl_minutes: float = Field(default=480, gt=0, description="How long a token lasts (default 8 hours).")
    session_cookie: str = Field(default="kindmap_session", pattern=r"^[A-Za-z0-9_\-]+$")


def as_utc(when: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were written in UTC."""
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when


def hash_password(password: str) -> str:
    """An argon2 hash of ``password`` after checking its length."""
    if not MIN_PASSWORD_CHARS <= len(password or "") <= MAX_PASSWORD_CHARS:
        raise InvalidQuery(f"a password is {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters long")
    return _hasher.hash(password)


def token_digest(raw: str) -> str:
    """The stored form of a token: sha256 hex."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


# --------------------------------------------------------------------------- schemes and users


def add_scheme(session: Session, *, name: str, region: str | None = None) -> Scheme:
    """A new Shared Lives scheme; names are unique (case-insensitive)."""
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise InvalidQuery("a scheme name is 1 to 200 characters")
    if find_scheme(session, name, missing_ok=True):
        raise Conflict(f"scheme {name!r} already exists")
    scheme = Scheme(name=name, region=(region or None) and region.strip().lower())
    session.add(scheme)
    session.flush()
    return scheme


def find_scheme(session: Session, name: str, *, missing_ok: bool = False) -> Scheme | None:
    """A scheme by name (case-insensitive), or ``NotFound`` listing the known ones."""
    wanted = " ".join((name or "").split()).lower()
    for scheme in session.exec(select(Scheme)).all():
        if scheme.name.lower() == wanted:
            return scheme
    if missing_ok:
        return None
    known = ", ".join(s.name for s in session.exec(select(Scheme).order_by(Scheme.name)).all()) or "none yet"
    raise NotFound(f"no scheme called {name!r} (known: {known}); add it with: kindmap scheme add NAME")


def add_user(session: Session, *, email: str, password: str, role: Role | str, display_name: str = "",
             scheme_id: int | None = None) -> User:
    """A new account; carers and scheme workers must belong to a scheme, others must not."""
    try:
        role = Role(role)
    except ValueError:
        raise InvalidQuery(f"unknown role {role!r}; use one of: {', '.join(r.value for r in Role)}") from None
    if role in SCHEME_ROLES and scheme_id is None:
        raise InvalidQuery(f"a {role.value} belongs to a scheme; give --scheme NAME")
    if role not in SCHEME_ROLES and scheme_id is not None:
        raise InvalidQuery(f"a {role.value} does not belong to a scheme; leave --scheme out")
    if scheme_id is not None and session.get(Scheme, scheme_id) is None:
        raise NotFound(f"no scheme with id {scheme_id}")
    try:
        fields = UserBase.model_validate({"email": email, "display_name": display_name or "", "role": role,
                                          "scheme_id": scheme_id})
    except ValidationError as exc:
        raise InvalidQuery("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from None
    if session.exec(select(User).where(User.email == fields.email)).first():
        raise Conflict(f"an account for {fields.email} already exists")
    user = User(**fields.model_dump(), password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Replace a password and revoke every sign-in of that account."""
    user.password_hash = hash_password(password)
    session.add(user)
    revoke_all(session, user.id)


# --------------------------------------------------------------------------- sign-in


def authenticate(session: Session, *, email: str, password: str, now: datetime | None = None) -> User:
    """The active user with this email and password, or ``Unauthorized`` (one message for every failure)."""
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    stored = user.password_hash if user is not None else _DUMMY_HASH
    try:
        ok, new_hash = _hasher.verify_and_update(password or "", stored)
    except Exception:  # noqa: BLE001  (a malformed stored hash must fail like a wrong password)
        ok, new_hash = False, None
    if user is None or not ok or not user.active:
        raise Unauthorized(BAD_LOGIN)
    if new_hash:  # the recommended parameters changed since this hash was made
        user.password_hash = new_hash
    user.last_login_at = now or utcnow()
    session.add(user)
    return user


def issue_token(session: Session, user: User, *, ttl: timedelta, kind: str = "bearer",
                now: datetime | None = None) -> tuple[str, Token]:
    """A new opaque token for ``user``; returns (the token to hand out once, its stored row)."""
    raw = secrets.token_urlsafe(32)
    issued = now or utcnow()
    row = Token(token_hash=token_digest(raw), user_id=user.id, kind=kind, created_at=issued, expires_at=issued + ttl)
    session.add(row)
    session.flush()
    return raw, row


def resolve_token(session: Session, raw: str | None, *, kind: str = "bearer", now: datetime | None = None) -> User:
    """The user a live token belongs to, or ``Unauthorized`` (missing, unknown, expired, revoked, inactive)."""
    if not raw or len(raw) > 200:
        raise Unauthorized(BAD_TOKEN)
    row = session.exec(select(Token).where(Token.token_hash == token_digest(raw))).first()
    now = now or utcnow()
    if row is None or row.kind != kind or row.revoked_at is not None or as_utc(row.expires_at) <= now:
        raise Unauthorized(BAD_TOKEN)
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise Unauthorized(BAD_TOKEN)
    return user


def revoke_token(session: Session, raw: str | None, *, now: datetime | None = None) -> bool:
    """Revoke one token; ``False`` when it was not live."""
    if not raw:
        return False
    row = session.exec(select(Token).where(Token.token_hash == token_digest(raw))).first()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now or utcnow()
    session.add(row)
    return True


def revoke_all(session: Session, user_id: int, *, now: datetime | None = None) -> int:
    """Revoke every live token of a user (password change, deactivation)."""
    rows = session.exec(select(Token).where(Token.user_id == user_id, Token.revoked_at.is_(None))).all()
    for row in rows:
        row.revoked_at = now or utcnow()
        session.add(row)
    return len(rows)


def get_user(session: Session, user_id: int) -> User:
    """A user by id, or ``NotFound``."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user
