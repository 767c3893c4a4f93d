"""Who is calling: sign-in dependencies for every router (a stable API; please keep it).

Use::

    from kindmap.api.auth import ANALYSTS, MODERATORS, CurrentUser, OptionalUser, require_roles

    @router.get("/api/me-things")
    def mine(user: CurrentUser): ...            # any signed-in user; 401 otherwise

    @router.get("/api/gaps", dependencies=[Depends(require_roles(*ANALYSTS))])
    def gaps(...): ...                          # 401 if not signed in, 403 without the role

    Moderator = Annotated[User, Depends(require_roles(*MODERATORS))]
    def decide(user: Moderator): ...            # the user, checked

- Credentials: ``Authorization: Bearer <token>`` (from ``POST /api/auth/token``), or the
  web session cookie (from ``POST /api/auth/session``). A cookie on an unsafe method
  (POST/PUT/PATCH/DELETE) must come from this site (``Origin``/``Sec-Fetch-Site``), on
  top of ``SameSite=Strict``, so another site cannot ride a signed-in browser.
- 401 with ``WWW-Authenticate: Bearer`` when missing, unknown, expired, revoked or the
  account is inactive; 403 when signed in without any of the roles.
- Roles: carer, scheme_worker, council_analyst, moderator, admin
  (``kindmap.models.accounts.Role``). ``MODERATORS`` = admin + moderator (review queue);
  ``ANALYSTS`` = admin + council_analyst (council views). Household access is not a role
  check: use ``kindmap.services.households.records.visible_household`` (404 for everyone else).
- Tests may set ``app.state.clock`` (a callable returning an aware datetime) and
  ``app.state.auth_settings`` (``AuthSettings(token_ttl_minutes=…)``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer

from kindmap.api.deps import SessionDep
from kindmap.errors import Forbidden, Unauthorized
from kindmap.models.accounts import Role, User
from kindmap.models.common import utcnow
from kindmap.services.accounts.auth import BAD_TOKEN, AuthSettings, resolve_token

MODERATORS = ("admin", "moderator")
ANALYSTS = ("admin", "council_analyst")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


def get_clock(request: Request) -> Callable[[], datetime]:
    """The app's clock (tests inject one); aware UTC datetimes."""
    return getattr(request.app.state, "clock", None) or utcnow


def get_auth_settings(request: Request) -> AuthSettings:
    """Sign-in settings, read from the environment once per app unless a test set them."""
    found = getattr(request.app.state, "auth_settings", None)
    if found is None:
        found = request.app.state.auth_settings = AuthSettings()
    return found


ClockDep = Annotated[Callable[[], datetime], Depends(get_clock)]
AuthSettingsDep = Annotated[AuthSettings, Depends(get_auth_settings)]


def unauthorized(message: str = BAD_TOKEN) -> HTTPException:
    """401 that tells clients how to authenticate."""
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def same_site(request: Request) -> bool:
    """True unless the browser says the request came from another site.

    Shared by the API's cookie check and the page forms' CSRF check, so both refuse the same requests.
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site in ("cross-site", "same-site"):
        return False
    origin = request.headers.get("origin")
    if origin is not None:
        return origin == f"{request.url.scheme}://{request.url.netloc}"
    return True


def credentials(request: Request, settings: AuthSettingsDep,
                bearer: Annotated[str | None, Depends(oauth2_scheme)] = None) -> tuple[str, str] | None:
    """(token, kind) from the Authorization header, else from the session cookie; ``None`` if neither."""
    if bearer:
        return bearer, "bearer"
    cookie = request.cookies.get(settings.session_cookie)
    if cookie:
        if request.method not in SAFE_METHODS and not same_site(request):
            raise HTTPException(status_code=403, detail="a signed-in browser request must come from this site")
        return cookie, "session"
    return None


CredentialsDep = Annotated[tuple[str, str] | None, Depends(credentials)]


def optional_user(session: SessionDep, creds: CredentialsDep, clock: ClockDep) -> User | None:
    """The signed-in user, or ``None`` for the public; a bad token is still a 401."""
    if creds is None:
        return None
    try:
        return resolve_token(session, creds[0], kind=creds[1], now=clock())
    except Unauthorized as exc:
        raise unauthorized(exc.message) from None


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    """The signed-in user; 401 when there is none."""
    if user is None:
        raise unauthorized()
    return user


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


def require_roles(*roles: str) -> Callable[[User], User]:
    """A dependency that returns the signed-in user if their role is one of ``roles`` (else 401/403)."""
    wanted = {Role(r) for r in roles}  # fails at import time on a misspelt role

    def checker(user: CurrentUser) -> User:
        if user.role not in wanted:
            raise Forbidden(f"this needs one of these roles: {', '.join(sorted(r.value for r in wanted))}")
        return user

    checker.__name__ = f"require_{'_or_'.join(sorted(r.value for r in wanted))}"
    return checker
