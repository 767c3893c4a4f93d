"""What the carers do with a suggestion from the household page: add it to the plan, or say
"not for us" (remembered). Each is an ordinary form post that calls the same service as the JSON
API and goes back to the household page with a plain-words note of what happened."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from kindmap.api.auth import ClockDep
from kindmap.api.deps import EngineDep
from kindmap.api.page_session import HouseholdPerson, PostedForm, see_other
from kindmap.api.routes.carer_pages import not_found
from kindmap.db import write_session
from kindmap.errors import Conflict, KindmapError, NotFound
from kindmap.services.recommend import not_for_us, plan

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
