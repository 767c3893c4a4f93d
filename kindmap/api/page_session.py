"""Signed-in web pages: who is signed in (the session cookie), form posts checked for CSRF, and
rendering the carers' and scheme workers' templates.

Pages read only the session cookie (never a bearer header), so a page is what a browser sees.
Signed out, a page redirects to ``/login?next=…``; a signed-in form post must carry the CSRF
token of its session (``csrf.py``) and come from this site.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData

from kindmap.api import csrf
from kindmap.api.auth import SAFE_METHODS, AuthSettingsDep, ClockDep, same_site
from kindmap.api.deps import SessionDep
from kindmap.api.nav import nav_context
from kindmap.config import ATTRIBUTION, web_dir
from kindmap.errors import Unauthorized
from kindmap.models.accounts import Role, User
from kindmap.services.accounts.auth import resolve_token

PRIVATE_PAGE = {"Cache-Control": "private, no-store"}
# Where each role starts after signing in.
HOME = {Role.carer: "/carer", Role.scheme_worker: "/scheme", Role.admin: "/council", Role.council_analyst: "/council",
        Role.moderator: "/moderate"}
# Who may use the carers' pages (households are visible to these roles only).
HOUSEHOLD_ROLES = frozenset({Role.carer, Role.scheme_worker})  # admins manage accounts, not homes

env = Environment(loader=FileSystemLoader(str(web_dir() / "templates")), autoescape=select_autoescape(default=True),
                  trim_blocks=True, lstrip_blocks=True)
# {{ slugs|map('label_of', words.interests) }}: the words for a vocabulary slug (the slug itself if unknown).
env.filters["label_of"] = lambda slug, table: table.get(slug, slug)


def http_url(value: str | None) -> str | None:
    """The address if it is http(s) (``javascript:`` and friends are never linked)."""
    candidate = (value or "").strip()
    if candidate.lower().startswith("www."):
        candidate = "https://" + candidate
    parts = urlsplit(candidate)
    return candidate if parts.scheme in ("http", "https") and parts.netloc and " " not in candidate else None


env.filters["http_url"] = http_url
env.filters["long_date"] = lambda value: f"{value.day} {value:%B %Y}" if value else ""


@dataclass(frozen=True)
class PageUser:
    """The signed-in account and its session cookie (the CSRF token derives from the cookie)."""

    user: User
    cookie: str

    @property
    def csrf(self) -> str:
        return csrf.token_for(self.cookie)


def page_user(request: Request, session: SessionDep, settings: AuthSettingsDep, clock: ClockDep) -> PageUser | None:
    """The account signed in by this browser's session cookie, or ``None`` (signed out or expired)."""
    cookie = request.cookies.get(settings.session_cookie)
    if not cookie:
        return None
    try:
        return PageUser(resolve_token(session, cookie, kind="session", now=clock()), cookie)
    except Unauthorized:
        return None


MaybeSignedIn = Annotated[PageUser | None, Depends(page_user)]


def safe_next(value: str | None) -> str | None:
    """A path on this site to go back to after signing in (never another site's address)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 300:
        return None
    return value


def _to_login(request: Request) -> HTTPException:
    # A 303 with a Location is followed by every browser whatever its body says.
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    where = f"/login?next={quote(target, safe='/')}" if request.method in SAFE_METHODS else "/login"
    return HTTPException(status_code=303, detail="sign in first", headers={"Location": where})


def signed_in(request: Request, found: MaybeSignedIn) -> PageUser:
    """The signed-in account, or a redirect to the sign-in page."""
    if found is None:
        raise _to_login(request)
    return found


SignedIn = Annotated[PageUser, Depends(signed_in)]


class NotForYourAccount(HTTPException):
    """A signed-in page another role may not use: answered with the plain "not for your account"
    page (403, no forms, the navigation of what this account can use), not a JSON body."""

    def __init__(self, user: User, *, page_name: str, who_for: str) -> None:
        super().__init__(status_code=403, detail=f"{page_name} is for {who_for}")
        self.user, self.page_name, self.who_for = user, page_name, who_for

    def response(self) -> HTMLResponse:
        html = env.get_template("not_for_you.html").render(
            title=self.page_name, page_name=self.page_name, who_for=self.who_for, attribution=ATTRIBUTION,
            **nav_context(self.user))
        return HTMLResponse(html, status_code=403, headers=PRIVATE_PAGE)


def household_people(request: Request, found: SignedIn) -> PageUser:
    """A carer or scheme worker (who may see households); others are told the pages are not theirs."""
    if found.user.role not in HOUSEHOLD_ROLES:
        raise NotForYourAccount(found.user, page_name="Households",
                                who_for="Shared Lives carers and scheme workers")
    return found


HouseholdPerson = Annotated[PageUser, Depends(household_people)]


async def posted_form(request: Request, found: MaybeSignedIn) -> FormData:
    """A signed-in form post: from this site and carrying its session's CSRF token (else 403)."""
    if found is None:
        raise _to_login(request)
    form = await request.form()
    if not same_site(request) or not csrf.matches(found.cookie, form.get(csrf.FIELD)):
        raise HTTPException(status_code=403, detail=csrf.REFUSED)
    return form


PostedForm = Annotated[FormData, Depends(posted_form)]


async def read_form(request: Request) -> FormData:
    """A signed-out form post, read before the (blocking) handler runs; its CSRF check is the handler's."""
    return await request.form()


RawForm = Annotated[FormData, Depends(read_form)]


def render(name: str, *, status_code: int = 200, who: PageUser | None = None, private: bool = True,
           headers: dict | None = None, **context) -> HTMLResponse:
    """A page from ``web/templates`` (autoescaped); signed-in pages are never cached."""
    # Signed in, the site navigation is this account's (its pages, who is signed in, Sign out).
    nav = nav_context(who.user, current=context.pop("nav_current", None)) if who else {}
    html = env.get_template(name).render(attribution=ATTRIBUTION, who=who.user if who else None,
                                         csrf_token=who.csrf if who else context.pop("csrf_token", ""),
                                         **{**nav, **context})
    return HTMLResponse(html, status_code=status_code, headers={**(PRIVATE_PAGE if private else {}), **(headers or {})})


def see_other(path: str) -> RedirectResponse:
    """After a successful post, go to a page (303, so a reload does not post again)."""
    return RedirectResponse(path, status_code=303, headers=PRIVATE_PAGE)
