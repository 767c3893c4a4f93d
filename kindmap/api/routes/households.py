"""Private households: only their carers and their scheme's workers (404 for everyone else, admins
included: they manage accounts, not homes); only scheme workers decide who the carers are."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kindmap.api.auth import ClockDep, CurrentUser
from kindmap.api.deps import EngineDep
from kindmap.db import read_session, write_session
from kindmap.models.audit import AuditEntryPublic
from kindmap.models.households import (
    HouseholdCreate,
    HouseholdPrivate,
    HouseholdSummary,
    HouseholdUpdate,
    LinkCreate,
    LinkPrivate,
)
from kindmap.schemas import ErrorOut
from kindmap.services.households import records as svc

router = APIRouter(prefix="/api/households", tags=["households"])

ERRORS = {401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
PRIVATE = "Private: only the household's carers and its scheme's workers; every read is audited."


@router.get("", response_model=list[HouseholdSummary], responses=ERRORS)
def list_households(user: CurrentUser, engine: EngineDep) -> list[HouseholdSummary]:
    """Households you may see, without their locations."""
    with read_session(engine) as session:
        return svc.list_households(session, user)


@router.post("", response_model=HouseholdPrivate, status_code=201, responses={**ERRORS, 403: {"model": ErrorOut}},
             description=PRIVATE + " A carer may name only themselves in `carer_ids`; scheme workers assign "
                                   "carers of their scheme.")
def create_household(body: HouseholdCreate, user: CurrentUser, engine: EngineDep, clock: ClockDep) -> HouseholdPrivate:
    """Add a household from a postcode or a point; a carer who adds it becomes its carer."""
    with write_session(engine) as session:
        return svc.create_household(session, user, body, now=clock())


@router.get("/{household_id}", response_model=HouseholdPrivate, responses=ERRORS, description=PRIVATE)
def read_household(household_id: int, user: CurrentUser, engine: EngineDep, clock: ClockDep) -> HouseholdPrivate:
    """One household, with its location."""
    with write_session(engine) as session:
        return svc.read_household(session, user, household_id, now=clock())


@router.patch("/{household_id}", response_model=HouseholdPrivate, responses={**ERRORS, 403: {"model": ErrorOut}},
              description=PRIVATE + " Only scheme workers change `carer_ids` (403 for a carer).")
def update_household(household_id: int, body: HouseholdUpdate, user: CurrentUser, engine: EngineDep,
                     clock: ClockDep) -> HouseholdPrivate:
    """Change the fields given."""
    with write_session(engine) as session:
        return svc.update_household(session, user, household_id, body, now=clock())


@router.delete("/{household_id}", status_code=204, responses={**ERRORS, 403: {"model": ErrorOut}})
def delete_household(household_id: int, user: CurrentUser, engine: EngineDep, clock: ClockDep) -> Response:
    """Remove a household, its carers, links and plan (scheme workers; the audit trail stays)."""
    with write_session(engine) as session:
        svc.delete_household(session, user, household_id, now=clock())
    return Response(status_code=204)


@router.get("/{household_id}/links", response_model=list[LinkPrivate], responses=ERRORS, description=PRIVATE)
def list_links(household_id: int, user: CurrentUser, engine: EngineDep, clock: ClockDep) -> list[LinkPrivate]:
    """The household's community links log, oldest first."""
    with write_session(engine) as session:
        return svc.list_links(session, user, household_id, now=clock())


@router.post("/{household_id}/links", response_model=LinkPrivate, status_code=201, responses=ERRORS)
def add_link(household_id: int, body: LinkCreate, user: CurrentUser, engine: EngineDep, clock: ClockDep) -> LinkPrivate:
    """Record a link: a place or opportunity, a date, and how it went (tried, enjoyed, regular, not for us)."""
    with write_session(engine) as session:
        return svc.add_link(session, user, household_id, body, now=clock())


@router.delete("/{household_id}/links/{link_id}", status_code=204, responses=ERRORS)
def delete_link(household_id: int, link_id: int, user: CurrentUser, engine: EngineDep, clock: ClockDep) -> Response:
    """Remove one entry of the links log."""
    with write_session(engine) as session:
        svc.delete_link(session, user, household_id, link_id, now=clock())
    return Response(status_code=204)


@router.get("/{household_id}/audit", response_model=list[AuditEntryPublic], responses={**ERRORS, 403: {"model": ErrorOut}})
def audit(household_id: int, user: CurrentUser, engine: EngineDep, clock: ClockDep) -> list[AuditEntryPublic]:
    """Who read or changed this household, newest first (scheme workers)."""
    with write_session(engine) as session:
        return svc.audit_trail(session, user, household_id, now=clock())
