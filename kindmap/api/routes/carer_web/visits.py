"""Logging a visit in three taps — where; what happened; how it felt — as one ordinary form that goes to
the same links-log service as ``POST /api/households/{id}/links``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from kindmap.api.auth import ClockDep
from kindmap.api.deps import EngineDep, SettingsDep
from kindmap.api.page_session import HouseholdPerson, PageUser, PostedForm, render, see_other
from kindmap.api.routes.carer_web.households import not_found
from kindmap.db import write_session
from kindmap.errors import KindmapError, NotFound
from kindmap.hours import to_local_naive
from kindmap.models.households import FEELING_WORDS, WHAT_WORDS, LinkCreate
from kindmap.services.households import records as svc
from kindmap.services.recommend import plan

router = APIRouter(include_in_schema=False)
HouseholdId = Annotated[int, Path(ge=1, le=2**63 - 1)]
# How it felt, as the links log's outcome (the API's older field) — a face is how a person says it.
OUTCOME = {"good": "enjoyed", "okay": "tried", "not_good": "not_for_us"}


def _page(who: PageUser, household_id: int, label: str, items, *, errors: dict | None = None,
          status_code: int = 200, chosen: dict | None = None) -> HTMLResponse:
    places = [i for i in items if i.kind in ("place", "opportunity")]
    return render("carer_visit.html", status_code=status_code, who=who, title=f"Log a visit — {label}", label=label,
                  household_id=household_id, places=places, what_words=WHAT_WORDS, feeling_words=FEELING_WORDS,
                  errors=errors or {}, chosen=chosen or {})


@router.get("/carer/households/{household_id}/visit", response_class=HTMLResponse)
def visit_page(household_id: HouseholdId, who: HouseholdPerson, engine: EngineDep, clock: ClockDep) -> HTMLResponse:
    """Where they went (from the plan), what happened, how it felt."""
    try:
        with write_session(engine) as session:
            household = svc.visible_household(session, who.user, household_id)
            items = plan.list_plan(session, who.user, household_id, now=clock())
    except NotFound:
        return not_found(who)
    return _page(who, household_id, household.label, items)


@router.post("/carer/households/{household_id}/visit", response_class=HTMLResponse)
def log_visit(household_id: HouseholdId, who: HouseholdPerson, form: PostedForm, engine: EngineDep,
              settings: SettingsDep, clock: ClockDep) -> Response:
    """Save the visit to the links log (today, local time); a missing answer is asked for again, nothing saved."""
    where, what, feeling = (str(form.get(k) or "") for k in ("where", "what", "feeling"))
    kind, _sep, target = where.partition(":")
    errors = {}
    if kind not in ("place", "opportunity") or not target.isdigit() or len(target) > 19:
        errors["where"] = "Choose where you went."
    if what not in WHAT_WORDS:
        errors["what"] = "Choose what happened."
    if feeling not in FEELING_WORDS:
        errors["feeling"] = "Choose how it felt."
    today = to_local_naive(clock(), tz=settings.timezone).date()
    try:
        if errors:
            raise ValueError
        body = LinkCreate(on=today, outcome=OUTCOME[feeling], what=what, feeling=feeling,
                          **{f"{kind}_id": int(target)})
        with write_session(engine) as session:
            svc.add_link(session, who.user, household_id, body, now=clock())
    except NotFound:
        return not_found(who)
    except (ValueError, ValidationError, KindmapError):
        errors = errors or {"where": "Choose where you went."}
        try:
            with write_session(engine) as session:
                household = svc.visible_household(session, who.user, household_id)
                items = plan.list_plan(session, who.user, household_id, now=clock())
        except NotFound:
            return not_found(who)
        return _page(who, household_id, household.label, items, errors=errors, status_code=422,
                     chosen={"where": where, "what": what, "feeling": feeling})
    return see_other(f"/carer/households/{household_id}?done=visit#links")
