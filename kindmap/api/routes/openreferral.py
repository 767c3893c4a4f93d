"""Open Referral UK (HSDS 3.0 UK profile) API over the published catalogue."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from kindmap.api.deps import SessionDep
from kindmap.schemas import ErrorOut
from kindmap.services.standards.oruk import documents as oruk
from kindmap.services.standards.oruk import filters as oruk_filters
from kindmap.services.standards.oruk import queries as oruk_queries
from kindmap.services.standards.oruk import taxonomy as oruk_taxonomy

router = APIRouter(prefix="/openreferral", tags=["open referral uk"])
ERRORS = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
# Every ORUK id is a UUID (anything else is a 422 saying so): documented as one.
Uuid = Annotated[str, Path(json_schema_extra={"format": "uuid"}, description="A UUID")]
Paging = Annotated[int, Query(ge=1, description="Page number, from 1")]
PerPage = Annotated[int, Query(ge=1, le=oruk.MAX_PER_PAGE, description="Items per page")]


@router.get("/")
def api_info(request: Request) -> dict[str, str]:
    """What this API is: HSDS version, profile, and where its OpenAPI description is."""
    return {"version": oruk.HSDS_VERSION, "profile": oruk.PROFILE_URL,
            "openapi_url": str(request.url_for("openapi"))}


CLOCK = r"^\d{2}:\d{2}(:\d{2})?$"


@router.get("/services", responses={**ERRORS, 400: {"model": ErrorOut}})
def services(
    session: SessionDep,
    page: Paging = 1,
    per_page: PerPage = 50,
    search: Annotated[str | None, Query(max_length=200, description="Words that must all appear in the name, "
                                        "description or taxonomy terms")] = None,
    taxonomy_term_id: Annotated[str | None, Query(max_length=64, description="Only services with this taxonomy term "
                                                  "(see /openreferral/taxonomy_terms)")] = None,
    taxonomy_id: Annotated[str | None, Query(max_length=64, description="Only services with a term of this taxonomy")] = None,
    minimum_age: Annotated[float | None, Query(ge=0, le=150, allow_inf_nan=False, description="Only services whose minimum age is at least this (services "
                                                  "without an age limit are left out)")] = None,
    maximum_age: Annotated[float | None, Query(ge=0, le=150, allow_inf_nan=False, description="Only services whose maximum age is at most this")] = None,
    start_time: Annotated[str | None, Query(pattern=CLOCK, description="Only services with a weekly schedule opening at or after this "
                                                   "time of day (HH:MM)")] = None,
    end_time: Annotated[str | None, Query(pattern=CLOCK, description="… and closing at or before this time of day (HH:MM)")] = None,
    day: Annotated[Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"] | None,
                   Query(description="Only services with a weekly schedule on this day (iCal code)")] = None,
    modified_after: Annotated[str | None, Query(max_length=40, json_schema_extra={"format": "date-time"},
                                                description="Only services modified at or after this RFC 3339 "
                                                            "date-time")] = None,
    organization_id: Annotated[str | None, Query(max_length=64, description="Only services this organisation provides")] = None,
    minimal: Annotated[bool, Query(description="Only each service's id and last_modified")] = False,
    format: Annotated[Literal["json"] | None, Query(description="json only (ndjson is not offered)")] = None,  # noqa: A002
) -> dict[str, Any]:
    """Published places, then opportunities and support services, as ORUK services (one-to-one fields), paged,
    filtered by the profile's parameters (all given ones must hold)."""
    filters = oruk_filters.parse(search=search, taxonomy_term_id=taxonomy_term_id, taxonomy_id=taxonomy_id,
                                 minimum_age=minimum_age, maximum_age=maximum_age, day=day, start_time=start_time,
                                 end_time=end_time, modified_after=modified_after, organization_id=organization_id,
                                 output_format=format)
    return oruk_queries.list_services(session, page=page, per_page=per_page, filters=filters, minimal=minimal).as_dict()


@router.get("/services/{service_id}", responses=ERRORS)
def service(service_id: Uuid, session: SessionDep) -> dict[str, Any]:
    """One fully nested ORUK service."""
    return oruk_queries.get_service(session, service_id)


@router.get("/service_at_locations", responses=ERRORS)
def service_at_locations(
    session: SessionDep,
    page: Paging = 1,
    per_page: PerPage = 50,
    postcode: Annotated[str | None, Query(max_length=10, description="A UK postcode, e.g. LE15 6HP")] = None,
    proximity: Annotated[float | None, Query(gt=0, allow_inf_nan=False, description="Metres from the postcode centroid")] = None,
) -> dict[str, Any]:
    """Service-at-locations, paged; with ``postcode`` (and ``proximity`` in metres) nearest first."""
    return oruk_queries.list_service_at_locations(session, page=page, per_page=per_page, postcode=postcode,
                                          proximity_m=proximity).as_dict()


@router.get("/service_at_locations/{sal_id}", responses=ERRORS)
def service_at_location(sal_id: Uuid, session: SessionDep) -> dict[str, Any]:
    """One fully nested ORUK service_at_location."""
    return oruk_queries.get_service_at_location(session, sal_id)


@router.get("/taxonomies", responses=ERRORS)
def taxonomies(page: Paging = 1, per_page: PerPage = 50) -> dict[str, Any]:
    """kindmap's taxonomies (categories, attributes, interests, support kinds), paged."""
    return oruk_taxonomy.list_taxonomies(page=page, per_page=per_page).as_dict()


@router.get("/taxonomies/{taxonomy_id}", responses=ERRORS)
def taxonomy(taxonomy_id: Uuid) -> dict[str, Any]:
    """One taxonomy with its terms."""
    return oruk_taxonomy.get_taxonomy(taxonomy_id)


@router.get("/taxonomy_terms", responses=ERRORS)
def taxonomy_terms(page: Paging = 1, per_page: PerPage = 50) -> dict[str, Any]:
    """Every taxonomy term that exported services' attributes refer to, paged."""
    return oruk_taxonomy.list_taxonomy_terms(page=page, per_page=per_page).as_dict()


@router.get("/taxonomy_terms/{term_id}", responses=ERRORS)
def taxonomy_term(term_id: Uuid) -> dict[str, Any]:
    """One taxonomy term."""
    return oruk_taxonomy.get_taxonomy_term(term_id)
