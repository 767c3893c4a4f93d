""""My places": the carers turn the private link on or off from the plan page; the person opens
``/my/{token}`` (no account) and says "I liked it" or "Not for me" about each place."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from kindmap.api import csrf
from kindmap.api.auth import ClockDep
from kindmap.api.deps import EngineDep, SessionDep, SettingsDep
from kindmap.api.page_session import HouseholdPerson, PostedForm, RawForm, render, see_other
from kindmap.api.routes.carer_web.households import not_found
from kindmap.api.routes.carer_web.plan import plan_view
from kindmap.db import write_session
from kindmap.errors import KindmapError, NotFound
from kindmap.services.households import my_places
from kindmap.services.recommend import easy_read, plan

router = APIRouter(include_in_schema=False)
HouseholdId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Token = Annotated[str, Path(max_length=100)]


@router.post("/carer/households/{household_id}/my-places/on", response_class=HTMLResponse)
def turn_on(request: Request, household_id: HouseholdId, who: HouseholdPerson, form: PostedForm, engine: EngineDep,
            clock: ClockDep) -> Response:
    """Make a new private link (shown once, on the plan page) for the person to open."""
    try:
        with write_session(engine) as session:
            raw = my_places.turn_on(session, who.user, household_id, now=clock())
    except NotFound:
        return not_found(who)
    link = f"{str(request.base_url).rstrip('/')}/my/{raw}"
    return plan_view(who, engine, clock, household_id, notice="The My places page is on.", new_link=link)


@router.post("/carer/households/{household_id}/my-places/off")
def turn_off(household_id: HouseholdId, who: HouseholdPerson, form: PostedForm, engine: EngineDep,
             clock: ClockDep) -> Response:
    """Stop the link working."""
    try:
        with write_session(engine) as session:
            my_places.turn_off(session, who.user, household_id, now=clock())
    except NotFound:
        return not_found(who)
    return see_other(f"/carer/households/{household_id}/plan?done=off")


def _gone(request: Request) -> HTMLResponse:
    return render("my_places.html", status_code=404, private=True, title="My places", gone=my_places.GONE,
                  pages=[], said={}, token="", said_words=my_places.CHOICES)


def _person_page(request: Request, token: str, session, settings, clock, *, notice: str = "") -> HTMLResponse:
    household = my_places.household_for(session, token, now=clock())
    items = plan.person_items(session, settings, household)
    response = HTMLResponse("")
    token_csrf = csrf.pre_session_token(request, response)
    page = render("my_places.html", private=True, title="My places", pages=easy_read.easy_pages(items),
                  ids=[i.item_id for i in items], said=my_places.choices(session, household.id), token=token,
                  said_words=my_places.CHOICES, csrf_token=token_csrf, notice=notice, gone="")
    page.raw_headers.extend(h for h in response.raw_headers if h[0] == b"set-cookie")
    return page


@router.get("/my/{token}", response_class=HTMLResponse)
def my_places_page(request: Request, token: Token, session: SessionDep, settings: SettingsDep,
                   clock: ClockDep, said: bool = False) -> HTMLResponse:
    """The person's own page: their places, in easy read, with "I liked it" and "Not for me"."""
    try:
        return _person_page(request, token, session, settings, clock, notice="Thank you. Your carer will see it." if said else "")
    except NotFound:
        return _gone(request)


@router.post("/my/{token}", response_class=HTMLResponse)
def say(request: Request, token: Token, form: RawForm, engine: EngineDep, clock: ClockDep) -> Response:
    """Save the person's answer about one place."""
    if not csrf.pre_session_matches(request, form.get(csrf.FIELD)):
        return see_other(f"/my/{token}")
    try:
        item_id = int(str(form.get("item") or "0"))
    except ValueError:
        item_id = 0
    try:
        with write_session(engine) as session:
            my_places.choose(session, token, item_id if 0 < item_id < 2**63 else None, str(form.get("choice") or ""),
                             now=clock())
    except NotFound:
        return _gone(request)
    except KindmapError:
        return see_other(f"/my/{token}")
    return see_other(f"/my/{token}?said=true")
