"""What is reachable on foot from a point or postcode."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kindmap.api.deps import SessionDep, SettingsDep
from kindmap.api.limits import MAX_WALK_MINUTES
from kindmap.errors import InvalidQuery
from kindmap.geo import rfc7946
from kindmap.schemas import ErrorOut, IsochroneFeature, IsochroneProperties
from kindmap.services.catalogue.search import check_point, locate_postcode
from kindmap.services.walking import NETWORK, reachable_area

router = APIRouter(prefix="/api", tags=["walking"])

METHODS = {
    NETWORK: "path edges reached within the time (partial edges cut at the remaining distance), buffered by 50 m and unioned",
    "estimated": "a circle of straight-line reach (speed × minutes ÷ circuity); this region has no path network",
}


@router.get("/isochrone", response_model=IsochroneFeature, responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def isochrone(
    session: SessionDep,
    settings: SettingsDep,
    lon: Annotated[float | None, Query(ge=-180, le=180, allow_inf_nan=False)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, allow_inf_nan=False)] = None,
    postcode: Annotated[str | None, Query(max_length=10)] = None,
    minutes: Annotated[float, Query(gt=0, le=MAX_WALK_MINUTES, allow_inf_nan=False,
                                    description=f"Walking minutes, at most {MAX_WALK_MINUTES}")] = 15,
    profile: Annotated[str | None, Query(max_length=20, description="walk, slow or step_free")] = None,
) -> IsochroneFeature:
    """The area reachable on foot within ``minutes``, as a GeoJSON polygon. Costly: each client has a
    budget for these (see Limits); past it 429 with ``Retry-After``."""
    if postcode:
        if lon is not None or lat is not None:
            raise InvalidQuery("give either a postcode or lon and lat, not both")
        row = locate_postcode(session, postcode)
        lon, lat = row.lon, row.lat
    elif lon is None or lat is None:
        raise InvalidQuery("give a postcode, or lon and lat")
    check_point(lon, lat)
    area, travel, profile_name, region = reachable_area(session, settings, lon=lon, lat=lat, minutes=minutes,
                                                        profile_name=profile)
    return IsochroneFeature(
        geometry=rfc7946.geometry(area),
        properties=IsochroneProperties(minutes=minutes, profile=profile_name, travel=travel, region=region,
                                       method=METHODS[travel]),
    )
