"""The scheme worker's pages: the scheme's households at a glance, where links grow, who cares for
which household (and adding or removing a carer: scheme workers only, audited), the scheme's carers,
invitations and password-reset links.

A link is shown once, on the page that made it, for the worker to copy and pass on (no email
server is needed); only its hash is kept.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from kindmap.api.auth import ClockDep
from kindmap.api.deps import EngineDep
from kindmap.api.page_session import PRIVATE_PAGE, PageUser, PostedForm, SignedIn, render, see_other
from kindmap.db import read_session, write_session
from kindmap.errors import KindmapError, NotFound
from kindmap.models.accounts import Role
from kindmap.services.accounts import links
from kindmap.services.households.scheme.carers import change_carer, who_cares
from kindmap.services.households.scheme.overview import MAX_QUIET_WEEKS, overview, overview_csv
from kindmap.services.households.scheme.places import places_growing_links

router = APIRouter(include_in_schema=False)


def scheme_worker(found: SignedIn) -> PageUser:
    """A scheme worker (the scheme pages are theirs alone)."""
    if found.user.role != Role.scheme_worker:
        raise HTTPException(status_code=403, detail="this page is for Shared Lives scheme workers")
    return found


Worker = Annotated[PageUser, Depends(scheme_worker)]


QuietWeeks = Annotated[int, Query(ge=1, le=MAX_QUIET_WEEKS, description="Flag households with no new link for this many weeks.")]


def _page(request: Request, who: PageUser, engine, *, status_code: int = 200, weeks: int = 4, clock=None,
          **extra) -> HTMLResponse:
    now = clock() if clock else None
    with read_session(engine) as session:
        carers = links.scheme_carers(session, who.user)
        households = overview(session, who.user, quiet_weeks=weeks, now=now)
        growing = places_growing_links(session, who.user, now=now)
        cared = who_cares(session, who.user)
    base = str(request.base_url).rstrip("/")
    return render("scheme_dashboard.html", status_code=status_code, who=who, title="Your scheme", carers=carers,
                  households=households, growing=growing, cared=cared, weeks=weeks, base=base,
                  errors=extra.pop("errors", {}), **extra)


DONE = {"carer_added": "Saved: the carer was added to the household.",
        "carer_removed": "Saved: the carer was taken off the household."}


@router.get("/scheme", response_class=HTMLResponse)
def scheme_page(request: Request, who: Worker, engine: EngineDep, clock: ClockDep, weeks: QuietWeeks = 4,
                done: Annotated[str | None, Query(max_length=20)] = None) -> HTMLResponse:
    """The scheme's households (labels, last visit, links in 8 weeks, a gentle flag), where links grow,
    who cares for which household, and carers, with invitations and reset links."""
    return _page(request, who, engine, weeks=weeks, clock=clock, notice=DONE.get(done or ""))


@router.post("/scheme/households/{household_id}/carers", response_class=HTMLResponse)
def change_carers(request: Request, household_id: Annotated[int, Path(ge=1, le=2**63 - 1)], who: Worker,
                  form: PostedForm, engine: EngineDep, clock: ClockDep) -> Response:
    """Add a carer to a household of the scheme, or take one off (``carer`` and ``change`` = add or remove)."""
    raw, change = str(form.get("carer") or ""), str(form.get("change") or "")
    carer_id = int(raw) if raw.isdigit() and len(raw) < 19 else 0
    try:
        with write_session(engine) as session:
            change_carer(session, who.user, household_id, carer_id, change=change, now=clock())
    except NotFound:
        return _page(request, who, engine, status_code=404, clock=clock,
                     errors={"carers": "That household is not one of your scheme's."})
    except KindmapError as exc:
        return _page(request, who, engine, status_code=exc.status_code, clock=clock,
                     errors={"carers": exc.message.split(": ", 1)[-1]})
    return see_other(f"/scheme?done=carer_{'added' if change == 'add' else 'removed'}#who-cares")


@router.get("/scheme/households.csv")
def scheme_csv(who: Worker, engine: EngineDep, clock: ClockDep, weeks: QuietWeeks = 4) -> Response:
    """The overview as CSV (labels and counts; no location)."""
    with read_session(engine) as session:
        rows = overview(session, who.user, quiet_weeks=weeks, now=clock())
    return Response(overview_csv(rows), media_type="text/csv; charset=utf-8", headers={
        **PRIVATE_PAGE, "Content-Disposition": 'attachment; filename="scheme-households.csv"'})


@router.post("/scheme/invite", response_class=HTMLResponse)
def invite(request: Request, who: Worker, form: PostedForm, engine: EngineDep, clock: ClockDep) -> HTMLResponse:
    """Invite a carer: a new account and a one-time link (shown once) that sets its password."""
    email, name = str(form.get("email") or "")[:320], str(form.get("display_name") or "")[:120]
    try:
        with write_session(engine) as session:
            user, raw = links.invite_carer(session, who.user, email=email, display_name=name, now=clock())
    except KindmapError as exc:
        return _page(request, who, engine, status_code=exc.status_code,
                     errors={"email": exc.message[:1].upper() + exc.message[1:] + "."}, email=email, display_name=name)
    return _page(request, who, engine, new_link={"email": user.email, "path": f"/invite/{raw}", "kind": "invite"})


@router.post("/scheme/carers/{user_id}/reset", response_class=HTMLResponse)
def reset_link(request: Request, user_id: Annotated[int, Path(ge=1, le=2**63 - 1)], who: Worker, form: PostedForm,
               engine: EngineDep, clock: ClockDep) -> HTMLResponse:
    """A new one-time link for one of the scheme's carers (a reset, or a fresh invite if never taken up)."""
    try:
        with write_session(engine) as session:
            user, raw = links.issue_reset(session, who.user, user_id, now=clock())
            kind = "invite" if not user.active else "reset"
    except KindmapError as exc:
        return _page(request, who, engine, status_code=exc.status_code, errors={"form": exc.message})
    return _page(request, who, engine, new_link={"email": user.email, "path": f"/{kind}/{raw}", "kind": kind})
