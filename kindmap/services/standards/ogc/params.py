"""OGC API query parameters: unknown, repeated or malformed ones are 400 ``InvalidParameter`` saying what to fix.

bbox is CRS84 degrees (minlon,minlat,maxlon,maxlat); datetime is RFC 3339, compared in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone

import numpy as np

from kindmap.errors import KindmapError
from kindmap.services.standards.ogc.registry import CRS84, GEOJSON, JSON

F_VALUES = {"json", "geojson", JSON, GEOJSON}
# crs/bbox-crs (Part 2) are accepted for CRS84 only: newer GDAL sends crs=CRS84 when a collection lists its crs.
CRS_PARAMS = ("crs", "bbox-crs")
CRS84_NAMES = {CRS84, "[OGC:CRS84]", "OGC:CRS84"}
ITEM_PARAMS = ("limit", "offset", "bbox", "datetime", "f", *CRS_PARAMS)
MAX_OFFSET = 10**9  # past any catalogue; larger numbers overflowed the database's integer (a 422, not a 400)


class InvalidParameter(KindmapError):
    """An OGC API query parameter is unknown or malformed (the standard says 400, not 422)."""

    status_code = 400
    ogc_code = "InvalidParameterValue"


def check_params(pairs: Iterable[tuple[str, str]], allowed: Iterable[str]) -> dict[str, str]:
    """The query as a dict; unknown or repeated parameters and an f other than JSON are 400."""
    allowed = set(allowed)
    seen: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            raise InvalidParameter(f"unknown query parameter {name!r}; allowed here: {', '.join(sorted(allowed))}")
        if name in seen:
            raise InvalidParameter(f"query parameter {name!r} is given more than once; give it once")
        seen[name] = value
    if "f" in seen and seen["f"] not in F_VALUES:
        raise InvalidParameter(f"f={seen['f']!r} is not offered; this API serves JSON only (f=json)")
    for name in CRS_PARAMS:
        if name in seen and seen[name] not in CRS84_NAMES:
            raise InvalidParameter(f"{name}={seen[name]!r} is not offered; coordinates are in {CRS84} only")
    return seen


def parse_int(name: str, text: str, *, low: int) -> int:
    """A whole number of at least ``low``, or InvalidParameter naming the parameter."""
    if not text.strip().isdigit() or int(text) < low:
        raise InvalidParameter(f"{name} must be a whole number of at least {low}, not {text!r}")
    return int(text)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """'minlon,minlat,maxlon,maxlat' (or with heights, 'minlon,minlat,minh,maxlon,maxlat,maxh', as OGC API –
    Features allows) in CRS84 degrees → the 2D tuple, or InvalidParameter. Heights are checked and then
    ignored: every feature here lies on the ground."""
    try:
        parts = tuple(float(v) for v in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) not in (4, 6) or not all(np.isfinite(parts)):
        raise InvalidParameter("bbox must be four numbers, minlon,minlat,maxlon,maxlat, or six with heights, "
                               "minlon,minlat,minheight,maxlon,maxlat,maxheight (CRS84 degrees)")
    if len(parts) == 6:
        if parts[2] > parts[5]:
            raise InvalidParameter("bbox minimum height is above its maximum height")
        parts = (parts[0], parts[1], parts[3], parts[4])
    minx, miny, maxx, maxy = parts
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidParameter("bbox is out of range: longitudes -180..180, latitudes -90..90 with minlat ≤ maxlat")
    return parts  # type: ignore[return-value]


def _instant(text: str, *, end: bool) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time.min, tzinfo=timezone.utc)
            return moment + timedelta(days=1, microseconds=-1) if end else moment
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(f"datetime {text!r} is not an RFC 3339 date-time, e.g. 2022-01-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise InvalidParameter(f"datetime {text!r} needs a time zone: add Z or an offset such as +01:00")
    return moment.astimezone(timezone.utc)


def parse_datetime(text: str) -> tuple[datetime | None, datetime | None]:
    """An instant, a date, or an interval 'start/end' with '..' or '' for an open end → UTC bounds."""
    if "/" not in text:
        return _instant(text, end=False), _instant(text, end=True)
    parts = text.split("/")
    if len(parts) != 2:
        raise InvalidParameter("datetime interval is start/end, e.g. 2022-01-01T00:00:00Z/..")
    start = None if parts[0] in ("", "..") else _instant(parts[0], end=False)
    stop = None if parts[1] in ("", "..") else _instant(parts[1], end=True)
    if start is None and stop is None:
        raise InvalidParameter("datetime interval must have at least one end")
    if start and stop and start > stop:
        raise InvalidParameter("datetime interval starts after it ends")
    return start, stop
