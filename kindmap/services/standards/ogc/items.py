"""OGC API features: a filtered page of a collection's items with next/prev links, and one item by id.

Coordinates are CRS84; ``root`` is the server's base URL without a trailing slash.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

from sqlalchemy import func
from sqlmodel import Session, select

from kindmap.errors import NotFound
from kindmap.services.standards.ogc.params import (
    ITEM_PARAMS,
    MAX_OFFSET,
    InvalidParameter,
    check_params,
    parse_bbox,
    parse_datetime,
    parse_int,
)
from kindmap.services.standards.ogc.registry import (
    DEFAULT_LIMIT,
    GEOJSON,
    JSON,
    MAX_LIMIT,
    get_collection,
    link,
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def items(session: Session, collection_id: str, *, root: str, params: Iterable[tuple[str, str]] = ()) -> dict:
    """A page of features as a GeoJSON FeatureCollection with numberMatched/numberReturned and next/prev links."""
    coll = get_collection(collection_id)
    given = check_params(params, (*ITEM_PARAMS, *coll.filters))
    limit = min(parse_int("limit", given["limit"], low=1), MAX_LIMIT) if "limit" in given else DEFAULT_LIMIT
    offset = parse_int("offset", given["offset"], low=0) if "offset" in given else 0
    if offset > MAX_OFFSET:
        raise InvalidParameter(f"offset must be at most {MAX_OFFSET}")
    clauses = list(coll.public)
    if "bbox" in given:
        clauses.append(coll.bbox(session, parse_bbox(given["bbox"])))
    if "datetime" in given:
        if coll.temporal is None:
            raise InvalidParameter(f"collection {coll.id!r} has no time property; leave out datetime")
        start, stop = parse_datetime(given["datetime"])
        clauses += [coll.temporal >= start] if start else []  # the column type stores and compares UTC
        clauses += [coll.temporal <= stop] if stop else []
    for name, flt in coll.filters.items():
        if name in given:
            try:
                clauses.append(flt.clause(flt.parse(given[name])))
            except ValueError as exc:
                raise InvalidParameter(f"{name}={given[name]!r}: {exc}") from None
    matched = session.exec(select(func.count()).select_from(coll.table).where(*clauses)).one()
    rows = session.exec(select(coll.table).where(*clauses).order_by(coll.key).offset(offset).limit(limit)).all()
    context = coll.context(session)
    base = f"{root}/ogc/collections/{coll.id}/items"
    keep = {k: v for k, v in given.items() if k not in ("limit", "offset")}

    def page(at: int) -> str:
        return f"{base}?{urlencode({**keep, 'limit': limit, 'offset': at})}"

    links = [link(page(offset), "self", GEOJSON, "This page"),
             link(f"{root}/ogc/collections/{coll.id}", "collection", JSON, coll.title)]
    if offset + len(rows) < matched:
        links.append(link(page(offset + limit), "next", GEOJSON, "Next page"))
    if offset > 0:
        links.append(link(page(max(offset - limit, 0)), "prev", GEOJSON, "Previous page"))
    return {"type": "FeatureCollection", "features": [coll.feature(r, context) for r in rows], "links": links,
            "numberMatched": int(matched), "numberReturned": len(rows), "timeStamp": _now()}


def item(session: Session, collection_id: str, feature_id: str, *, root: str,
         params: Iterable[tuple[str, str]] = ()) -> dict:
    """One feature by id (404 when it does not exist or is not public)."""
    coll = get_collection(collection_id)
    check_params(params, {"f", "crs"})
    try:
        clause = coll.fid(feature_id)
    except ValueError:
        clause = None
    row = session.exec(select(coll.table).where(clause, *coll.public)).first() if clause is not None else None
    if row is None:
        raise NotFound(f"no feature {feature_id!r} in collection {coll.id!r}")
    feature = coll.feature(row, coll.context(session))
    base = f"{root}/ogc/collections/{coll.id}"
    feature["links"] = [link(f"{base}/items/{quote(feature_id, safe='')}", "self", GEOJSON, "This feature"),
                        link(base, "collection", JSON, coll.title)]
    return feature
