"""What the carers do with suggestions and the plan: add a suggestion to the plan or say "not for us"
(remembered); on the plan page reorder, note and remove items; download the plan as PDF; read it in
easy read. Each form post calls the same service as the JSON API and goes back to its page with a
plain-words note of what happened."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response

from kindmap.api.auth import ClockDep
from kindmap.api.deps import EngineDep, SettingsDep
from kindmap.api.page_session import PRIVATE_PAGE, HouseholdPerson, PageUser, PostedForm, env, render, see_other
from kindmap.api.routes.carer_web.households import not_found
from kindmap.config import ATTRIBUTION, web_dir
from kindmap.db import write_session
from kindmap.errors import Conflict, KindmapError, NotFound
from kindmap.services.households import my_places
from kindmap.services.households import records as svc
from kindmap.services.recommend import easy_read, not_for_us, plan, printing

router = APIRouter(include_in_schema=False)
HouseholdId = Annotated[int, Path(ge=1, le=2**63 - 1)]
KINDS = {"place": "place_id", "opportunity": "opportunity_id", "support": "support_id"}


def _target(form) -> tuple[str | None, int | None]:
    kind = str(form.get("kind") or "")
    try:
        target = int(str(form.get("id") or ""))
    except ValueError:
        target = None
    return (kind if kind in KINDS else None), (target if target and 0 < target < 2**63 else None)


def _back(household_id: int, done: str) -> Response:
    return see_other(f"/carer/households/{household_id}?done={done}#suggestions")


@router.post("/carer/households/{household_id}/plan/add")
def add_to_plan(household_id: HouseholdId, who: HouseholdPerson, form: PostedForm, engine: EngineDep,
                clock: ClockDep) -> Response:
    """Add one suggestion to the household's plan."""
    kind, target = _target(form)
    body = plan.PlanItemCreate(**({KINDS[kind]: target} if kind and target else {}))
    try:
        with write_session(engine) as session:
            plan.add_to_plan(session, who.user, household_id, body, now=clock())
    except NotFound:
        return not_found(who)
    except Conflict:
        return _back(household_id, "already")
    except KindmapError as exc:
        return not_found(who) if exc.status_code == 404 else see_other(f"/carer/households/{household_id}")
    return _back(household_id, "added")


@router.post("/carer/households/{household_id}/not-for-us")
def turn_down(household_id: HouseholdId, who: HouseholdPerson, form: PostedForm, engine: EngineDep,
              clock: ClockDep) -> Response:
    """Say "not for us" to one suggestion: it is not suggested again."""
    kind, target = _target(form)
    try:
        with write_session(engine) as session:
            not_for_us.turn_down(session, who.user, household_id, not_for_us.NotForUsCreate(kind=kind, id=target),
                                 now=clock())
    except NotFound:
        return not_found(who)
    except KindmapError:
        return see_other(f"/carer/households/{household_id}")
    return _back(household_id, "not_for_us")


@router.post("/carer/households/{household_id}/not-for-us/clear")
def forget_not_for_us(household_id: HouseholdId, who: HouseholdPerson, form: PostedForm, engine: EngineDep,
                      clock: ClockDep) -> Response:
    """Suggest everything again."""
    try:
        with write_session(engine) as session:
            not_for_us.forget_all(session, who.user, household_id, now=clock())
    except NotFound:
        return not_found(who)
    return _back(household_id, "again")


# --------------------------------------------------------------------------- the plan page


@router.get("/carer/households/{household_id}/plan", response_class=HTMLResponse)
def plan_page(household_id: HouseholdId, who: HouseholdPerson, engine: EngineDep, clock: ClockDep,
              done: Annotated[str | None, Query(max_length=20)] = None) -> HTMLResponse:
    """The plan: its order, a note per item, and the printable, PDF and easy-read versions."""
    return plan_view(who, engine, clock, household_id, notice=PLAN_DONE.get(done or ""))


def plan_view(who: PageUser, engine, clock, household_id: int, *, notice: str | None = None,
              new_link: str | None = None) -> HTMLResponse:
    """The plan page, with what the person said on their "My places" page and whether it is on."""
    try:
        with write_session(engine) as session:
            household = svc.visible_household(session, who.user, household_id)
            items = plan.list_plan(session, who.user, household_id, now=clock())
            link = my_places.state(session, who.user, household_id, now=clock())
            said = my_places.choices(session, household_id)
    except NotFound:
        return not_found(who)
    return render("carer_plan.html", who=who, title=f"Plan for {household.label}", label=household.label,
                  household_id=household_id, items=items, notice=notice, my_places=link, said=said,
                  said_words=my_places.CHOICES, new_link=new_link)


PLAN_DONE = {"note": "Note saved.", "moved": "Moved.", "removed": "Removed from the plan.",
             "off": "The My places page is off: its link no longer works."}


def _item_id(value) -> int | None:
    try:
        found = int(str(value or ""))
    except ValueError:
        return None
    return found if 0 < found < 2**63 else None


def _plan_back(household_id: int, done: str, item_id: int | None = None) -> Response:
    return see_other(f"/carer/households/{household_id}/plan?done={done}" + (f"#item-{item_id}" if item_id else ""))


@router.post("/carer/households/{household_id}/plan/change")
def change_item(household_id: HouseholdId, who: HouseholdPerson, form: PostedForm, engine: EngineDep,
                clock: ClockDep) -> Response:
    """Save an item's note, or move it up or down."""
    item_id = _item_id(form.get("item_id"))
    move = form.get("move")
    change = plan.PlanItemChange(move=move) if move in ("up", "down") else \
        plan.PlanItemChange(note=str(form.get("note") or "")[:plan.MAX_NOTE_CHARS])
    try:
        with write_session(engine) as session:
            plan.change_item(session, who.user, household_id, item_id, change, now=clock())
    except NotFound:
        return not_found(who)
    except KindmapError:
        return _plan_back(household_id, "")
    return _plan_back(household_id, "moved" if move in ("up", "down") else "note", item_id)


@router.post("/carer/households/{household_id}/plan/remove")
def remove_item(household_id: HouseholdId, who: HouseholdPerson, form: PostedForm, engine: EngineDep,
                clock: ClockDep) -> Response:
    """Take an item out of the plan."""
    try:
        with write_session(engine) as session:
            plan.remove_from_plan(session, who.user, household_id, _item_id(form.get("item_id")), now=clock())
    except NotFound:
        return not_found(who)
    except KindmapError:
        return _plan_back(household_id, "")
    return _plan_back(household_id, "removed")


def _printable(engine, settings, who: PageUser, household_id: int, clock):
    with write_session(engine) as session:
        label, items = plan.printable(session, settings, who.user, household_id, now=clock())
        return label, items, plan.sketch(session, settings, items)


@router.get("/carer/households/{household_id}/plan/pdf")
def plan_pdf(household_id: HouseholdId, who: HouseholdPerson, engine: EngineDep, settings: SettingsDep,
             clock: ClockDep) -> Response:
    """The one-page plan as a PDF to download (the same page as the print view; no home, no coordinates)."""
    try:
        label, items, (dots, streets) = _printable(engine, settings, who, household_id, clock)
    except NotFound:
        return not_found(who)
    html = env.get_template("plan.html").render(label=label, items=items, dots=dots, streets=streets,
                                                 attribution=ATTRIBUTION)
    body = printing.to_pdf(html, css=(web_dir() / "plan.css").read_text(encoding="utf-8"))
    return Response(body, media_type="application/pdf", headers={
        **PRIVATE_PAGE, "Content-Disposition": 'attachment; filename="our-places-plan.pdf"'})


@router.get("/carer/households/{household_id}/plan/easy-read", response_class=HTMLResponse)
def easy_read_page(household_id: HouseholdId, who: HouseholdPerson, engine: EngineDep, settings: SettingsDep,
                   clock: ClockDep) -> HTMLResponse:
    """The plan in easy read: one place per page, large type, a symbol for each kind of place."""
    try:
        label, items, _sketch = _printable(engine, settings, who, household_id, clock)
    except NotFound:
        return not_found(who)
    return render("carer_easy_read.html", who=who, title="My places to go", label=label,
                  pages=easy_read.easy_pages(items), household_id=household_id)
