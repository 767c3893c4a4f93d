"""Carers' tools: explained recommendations, the community-links plan (and its printable page),
the links chart, and disclosure-controlled council counts of places where links grow.

Household endpoints answer 404 for anyone who may not see the household (as in
``routes/households.py``); the council counts are for analysts and admins only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kindmap.api.auth import ANALYSTS, ClockDep, CurrentUser, require_roles
from kindmap.api.deps import EngineDep, SettingsDep
from kindmap.config import ATTRIBUTION, web_dir
from kindmap.db import read_session, write_session
from kindmap.schemas import ErrorOut
from kindmap.services.households import links_chart
from kindmap.services.households.link_counts import LinkCounts, link_counts
from kindmap.services.recommend import not_for_us, plan
from kindmap.services.recommend.recommendations import Recommendations, recommend
from kindmap.services.recommend.routes import MAX_ROUTES, HouseholdRoutes, household_routes

router = APIRouter(tags=["carers"])
ERRORS = {401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
PRIVATE = "Private: only the household's carers and its scheme's workers; every read is audited."
# Database ids are 64-bit: a larger number is refused with 422 instead of overflowing the driver (500).
HouseholdId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The household's id.")]
_env = Environment(loader=FileSystemLoader(str(web_dir() / "templates")), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)


@router.get("/api/households/{household_id}/recommendations", response_model=Recommendations, responses=ERRORS,
            description=PRIVATE + " Walk times are bands for everyone but the household's own carers.")
def recommendations(household_id: HouseholdId, user: CurrentUser, engine: EngineDep, settings: SettingsDep, clock: ClockDep,
                    limit: Annotated[int, Query(ge=1, le=200)] = 20) -> Recommendations:
    """Welcoming places, activities and support within the household's walk, open in its free times, ranked and explained."""
    with write_session(engine) as session:
        return recommend(session, settings, user, household_id, limit=limit, now=clock())


@router.get("/api/households/{household_id}/routes", response_model=HouseholdRoutes, responses=ERRORS,
            description=PRIVATE + " GeoJSON (EPSG:4326): the home, each suggestion and the walk to it along the "
                                  "region's paths (a straight line marked 'estimated' where there is no path network).")
def routes(household_id: HouseholdId, user: CurrentUser, engine: EngineDep, settings: SettingsDep, clock: ClockDep,
           limit: Annotated[int, Query(ge=1, le=MAX_ROUTES)] = 20) -> HouseholdRoutes:
    """The household's suggestions on a map: the home, their points, and the walking route from home to each."""
    with write_session(engine) as session:
        return household_routes(session, settings, user, household_id, limit=limit, now=clock())


@router.get("/api/households/{household_id}/plan", response_model=list[plan.PlanItemPublic], responses=ERRORS,
            description=PRIVATE)
def list_plan(household_id: HouseholdId, user: CurrentUser, engine: EngineDep, clock: ClockDep) -> list[plan.PlanItemPublic]:
    """The household's community-links plan."""
    with write_session(engine) as session:
        return plan.list_plan(session, user, household_id, now=clock())


@router.post("/api/households/{household_id}/plan", response_model=plan.PlanItemPublic, status_code=201,
             responses={**ERRORS, 409: {"model": ErrorOut}})
def add_to_plan(household_id: HouseholdId, body: plan.PlanItemCreate, user: CurrentUser, engine: EngineDep,
                clock: ClockDep) -> plan.PlanItemPublic:
    """Save a place, opportunity or support service (exactly one of their ids) into the plan."""
    with write_session(engine) as session:
        return plan.add_to_plan(session, user, household_id, body, now=clock())


@router.delete("/api/households/{household_id}/plan", status_code=204, responses=ERRORS)
def remove_from_plan(household_id: HouseholdId, user: CurrentUser, engine: EngineDep, clock: ClockDep,
                     item_id: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="The plan item to remove.")] = None) -> Response:
    """Remove one item from the plan."""
    with write_session(engine) as session:
        plan.remove_from_plan(session, user, household_id, item_id, now=clock())
    return Response(status_code=204)


@router.patch("/api/households/{household_id}/plan", response_model=list[plan.PlanItemPublic], responses=ERRORS)
def change_plan_item(household_id: HouseholdId, body: plan.PlanItemChange, user: CurrentUser, engine: EngineDep,
                     clock: ClockDep,
                     item_id: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="The plan item to change.")] = None,
                     ) -> list[plan.PlanItemPublic]:
    """Change one item's note, or move it one place up or down; answers the plan in its new order."""
    with write_session(engine) as session:
        return plan.change_item(session, user, household_id, item_id, body, now=clock())


@router.post("/api/households/{household_id}/not-for-us", response_model=int, responses=ERRORS)
def turn_down(household_id: HouseholdId, body: not_for_us.NotForUsCreate, user: CurrentUser, engine: EngineDep,
              clock: ClockDep) -> int:
    """Say "not for us" to one suggestion (``kind`` and ``id``): it is left out of the household's suggestions
    from now on. Answers how many the household has turned down."""
    with write_session(engine) as session:
        return not_for_us.turn_down(session, user, household_id, body, now=clock())


@router.delete("/api/households/{household_id}/not-for-us", status_code=204, responses=ERRORS)
def forget_not_for_us(household_id: HouseholdId, user: CurrentUser, engine: EngineDep, clock: ClockDep) -> Response:
    """Suggest everything again (forget every "not for us")."""
    with write_session(engine) as session:
        not_for_us.forget_all(session, user, household_id, now=clock())
    return Response(status_code=204)


def _chart(household_id: HouseholdId, fmt: str, user, engine, clock) -> Response:
    with write_session(engine) as session:
        body = links_chart.links_chart(session, user, household_id, fmt=fmt, now=clock())
    return Response(body, media_type=links_chart.FORMATS[fmt], headers={"Cache-Control": "private, no-store"})


CHART = {200: {"content": {"image/png": {}}}, **ERRORS}


@router.get("/api/households/{household_id}/links/chart.png", response_class=Response, responses=CHART,
            description=PRIVATE)
def chart_png(household_id: HouseholdId, user: CurrentUser, engine: EngineDep, clock: ClockDep) -> Response:
    """Community links over time, by outcome (PNG)."""
    return _chart(household_id, "png", user, engine, clock)


@router.get("/api/households/{household_id}/links/chart.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}, **ERRORS}, description=PRIVATE)
def chart_svg(household_id: HouseholdId, user: CurrentUser, engine: EngineDep, clock: ClockDep) -> Response:
    """Community links over time, by outcome (SVG)."""
    return _chart(household_id, "svg", user, engine, clock)


@router.get("/api/link-counts", response_model=LinkCounts, responses={**ERRORS, 403: {"model": ErrorOut}},
            tags=["councils"])
def counts(engine: EngineDep, settings: SettingsDep, clock: ClockDep,
           user: Annotated[object, Depends(require_roles(*ANALYSTS))],
           region: Annotated[str, Query(min_length=1, max_length=64, description="Region slug, e.g. 'rutland'.")]) -> LinkCounts:
    """Places where links grow, per small area and per category, under disclosure control (see ``definition``):
    cells under 10 households — or none — withheld alike, counts rounded."""
    with read_session(engine) as session:
        return link_counts(session, region=region, now=clock(), min_age_days=settings.link_counts_min_age_days,
                           min_carers=settings.link_counts_min_carers, rounding=settings.link_counts_rounding)


# Under /api/households/ so it sits in the household authorisation grid, and so logs that scrub
# household ids there (tests/test_privacy.py) cover it too.
# The page itself is HTML, but refusals are the usual JSON {"detail"}: with response_class=Response
# (no media type of its own) FastAPI documents ERRORS as application/json, not as text/html.
PAGE = {200: {"description": "The printable page.", "content": {"text/html": {"schema": {"type": "string"}}}}, **ERRORS}


@router.get("/api/households/{household_id}/plan/print", response_class=Response, responses=PAGE,
            tags=["pages"], description=PRIVATE + " A web page: the bearer token or the web session cookie. "
            "Refusals (401 signed out, 404 not visible or missing, 422 bad id) are JSON.")
def plan_page(household_id: HouseholdId, user: CurrentUser, engine: EngineDep, settings: SettingsDep,
              clock: ClockDep) -> HTMLResponse:
    """The printable one-page plan (large type, easy-read words, a sketch map without the home)."""
    with write_session(engine) as session:
        label, items = plan.printable(session, settings, user, household_id, now=clock())
        dots, streets = plan.sketch(session, settings, items)
    page = _env.get_template("plan.html").render(label=label, items=items, dots=dots, streets=streets,
                                                 attribution=ATTRIBUTION)
    return HTMLResponse(page, headers={"Cache-Control": "private, no-store"})
