"""Who is looking at a page, and the site navigation they get.

Pages (HTML) know their visitor from the web session cookie only. Unlike the API's
``optional_user`` an unknown or expired cookie is not an error here: the page is shown as to
anyone signed out (with "Sign in"), since a 401 JSON body is no answer to a person.

Each role sees links to what it can use and nothing it cannot (the pages check the same roles).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from kindmap.api.auth import ANALYSTS, MODERATORS, AuthSettingsDep, ClockDep
from kindmap.api.deps import SessionDep
from kindmap.config import ATTRIBUTION
from kindmap.errors import Unauthorized
from kindmap.models.accounts import User
from kindmap.services.accounts.auth import resolve_token

PUBLIC_LINKS = (("/", "Map of places"), ("/suggest", "Suggest a place"))
# Role → the signed-in pages it can use, in the order shown (the same start pages as
# kindmap.api.page_session.HOME). Admins also use the households, council and moderation pages.
ROLE_LINKS: dict[str, tuple[tuple[str, str], ...]] = {
    "carer": (("/carer", "My households"),),
    "scheme_worker": (("/scheme", "Scheme households"),),
    "council_analyst": (("/council", "Council view"),),
    "moderator": (("/moderate", "Review queue"),),
    "admin": (("/council", "Council view"), ("/moderate", "Review queue")),
}
SIGN_IN = "/login"


def role_of(user: User | None) -> str | None:
    return None if user is None else getattr(user.role, "value", user.role)


def page_user(request: Request, session: SessionDep, settings: AuthSettingsDep, clock: ClockDep) -> User | None:
    """The account signed in with the session cookie, or ``None`` (also for a stale or unknown cookie)."""
    cookie = request.cookies.get(settings.session_cookie)
    if not cookie:
        return None
    try:
        return resolve_token(session, cookie, kind="session", now=clock())
    except Unauthorized:
        return None


PageUser = Annotated[User | None, Depends(page_user)]


def can_use(user: User | None, roles: tuple[str, ...]) -> bool:
    return role_of(user) in roles


def nav_context(user: User | None, current: str | None = None) -> dict:
    """What base.html needs for the navigation: links, who is signed in, where "Sign in" goes."""
    links = list(PUBLIC_LINKS) + list(ROLE_LINKS.get(role_of(user) or "", ()))
    return {"nav_links": links, "nav_current": current, "signed_in": user is not None,
            "signed_in_as": (user.display_name or user.email) if user is not None else None,
            "sign_in_url": SIGN_IN + (f"?next={current}" if current and current.startswith("/") else "")}


COUNCIL_ROLES = ANALYSTS
MODERATION_ROLES = MODERATORS
PRIVATE = {"Cache-Control": "private, no-store"}


def staff_page(env, template: str, user: User | None, *, path: str, roles: tuple[str, ...], page_name: str,
               who_for: str, **context) -> HTMLResponse:
    """``template`` for the roles that may use it; a plain "not for your account" page (403, no forms)
    for any other account; signed out, the template with ``signed_out`` set (it shows a sign-in form)."""
    nav = nav_context(user, current=path)
    if user is not None and not can_use(user, roles):
        html = env.get_template("not_for_you.html").render(title=page_name, page_name=page_name, who_for=who_for,
                                                           attribution=ATTRIBUTION, **nav)
        return HTMLResponse(html, status_code=403, headers=PRIVATE)
    html = env.get_template(template).render(attribution=ATTRIBUTION, signed_out=user is None, **nav, **context)
    return HTMLResponse(html, headers=PRIVATE)
