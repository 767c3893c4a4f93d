"""People who sign in, the Shared Lives schemes they belong to, and their sign-in tokens.

Roles (the public needs no account):

- ``carer``: a Shared Lives carer; sees only the households they are a carer of.
- ``scheme_worker``: staff of one scheme; sees every household of that scheme.
- ``council_analyst``: council staff; aggregates only, never a household.
- ``moderator``: reviews resident suggestions and imports (the review queue); sees no
  household and no analysis. A separate role so volunteers can moderate without council access.
- ``admin``: everything, including every household (audited).

Tokens are opaque random strings; only their sha256 is stored, so a database leak
does not hand out sessions.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from kindmap.models.common import utcnow


class Role(str, Enum):
    carer = "carer"
    scheme_worker = "scheme_worker"
    council_analyst = "council_analyst"
    moderator = "moderator"
    admin = "admin"


# Roles that belong to a scheme (and must name one).
SCHEME_ROLES = frozenset({Role.carer, Role.scheme_worker})


def normalise_email(value: str) -> str:
    """Trimmed and lower-cased, so 'Ann@X.org ' and 'ann@x.org' are one account."""
    return (value or "").strip().lower()


class SchemeBase(SQLModel):
    name: str = Field(max_length=200, index=True, unique=True, description="e.g. 'Rutland Shared Lives'.")
    region: str | None = Field(default=None, max_length=64, description="Region slug the scheme serves.")


class Scheme(SchemeBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class SchemePublic(SchemeBase):
    id: int


class UserBase(SQLModel):
    email: str = Field(max_length=254, index=True, unique=True)
    display_name: str = Field(default="", max_length=120)
    role: Role = Field(index=True)
    scheme_id: int | None = Field(default=None, foreign_key="scheme.id", index=True)
    active: bool = True

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = normalise_email(value)
        local, at, domain = value.partition("@")
        if not (local and at and "." in domain) or any(c.isspace() for c in value):
            raise ValueError("an email address looks like name@example.org")
        return value


class User(UserBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=400)
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None


class UserPublic(SQLModel):
    """What the API says about an account: never the password hash."""

    id: int
    email: str
    display_name: str
    role: Role
    scheme_id: int | None
    active: bool


class Token(SQLModel, table=True):
    """A sign-in: ``kind`` is 'bearer' (API header) or 'session' (web cookie)."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, index=True, unique=True, description="sha256 hex of the token.")
    user_id: int = Field(foreign_key="user.id", index=True)
    kind: str = Field(default="bearer", max_length=10)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None


class AccountLink(SQLModel, table=True):
    """A one-time link that sets a password: ``purpose`` is 'invite' (a new account) or 'reset'.

    Only the sha256 of the link's token is stored, as for sign-in tokens; a link works once,
    until ``expires_at``, and issuing a new one for the same account and purpose ends the old.
    """

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, index=True, unique=True, description="sha256 hex of the link's token.")
    user_id: int = Field(foreign_key="user.id", index=True)
    purpose: str = Field(max_length=10)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
