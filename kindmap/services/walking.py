"""Walking networks per region: build once beside the database, load lazily, reuse.

A search point is matched to the region whose boundary holds it (or lies within
``region_margin_m``); with a network the walk is routed on paths, without one it is
estimated from straight-line distance × a circuity factor and labelled as such.

A region's map data may cover only part of it (Newport's 2023 extract is its urban core). A walk
from a point outside the extract's recorded extent, or with no node of the walking network within
``MAP_DATA_RADIUS_M`` (a hole the extent's box does not show), is refused as ``NoMapData`` — "no
map data here" — rather than answered from the few paths that cross into it, or said to be outside
every region.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import Point, shape
from sqlmodel import Session, select

from kindmap.config import Settings
from kindmap.errors import InvalidQuery, NoMapData
from kindmap.geo.distance import haversine_m
from kindmap.geo.graph import Router, SnapSet
from kindmap.geo.isochrone import isochrone
from kindmap.geo.network import WalkNetwork, build_network
from kindmap.geo.prepared import load_router
from kindmap.geo.profiles import Profile, get_profile
from kindmap.geo.projection import LocalProjection
from kindmap.models import Region

NETWORK = "network"
ESTIMATED = "estimated"
# No path node this close: the map data has nothing here (the snap limit, so a point the network could
# serve is never refused; a node, not an edge, so a long way crossing a hole does not hide it).
MAP_DATA_RADIUS_M = 1000.0


def network_path(settings: Settings, region: str) -> Path:
    """Where a region's walking network is stored (an .npz beside the database)."""
    return Path(settings.state_dir) / "networks" / f"{region}.npz"


def build_region_network(settings: Settings, *, region: str, pbf: Path, locations=None,
                         source: str | None = None) -> WalkNetwork:
    """Build a region's walking network from its OSM extract and save it atomically.

    ``locations``: the node-location index of a staged extract (``kindmap.ingest.osm_stage``).
    """
    network = build_network(pbf, locations=locations, source=source)
    target = network_path(settings, region)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.stem + ".partial.npz")
    network.save(partial)
    partial.replace(target)
    # the search structures too, so no server builds them on its first query
    load_router(target, profile_for(settings, None))
    return network


def profile_for(settings: Settings, name: str | None) -> Profile:
    """A walking profile by name, with any speeds overridden in settings."""
    return get_profile(name or "walk", speeds=settings.walking_speeds or None)


@dataclass
class RegionArea:
    slug: str
    name: str
    boundary: shapely.Geometry | None
    map_extent: shapely.Geometry | None = None  # where its OpenStreetMap extract has data (None: not recorded)


class WalkingCache:
    """Routers per region (reloaded when the network file changes) and region boundaries; bounded.

    At most ``max_routers`` networks and ``max_snaps`` snapped catalogues are kept (least
    recently used go first): a national network is gigabytes, so a server answering for many
    regions must not hold them all. A router is loaded and its search structures built once,
    under a lock, so concurrent first queries wait for one build instead of each doing it.
    """

    def __init__(self, *, max_routers: int = 4, max_snaps: int = 16) -> None:
        self._lock = threading.Lock()
        self.max_routers, self.max_snaps = max_routers, max_snaps
        self._routers: OrderedDict[Path, tuple[float, Router]] = OrderedDict()
        self._regions: dict[str, tuple[tuple, list[RegionArea]]] = {}
        self._snaps: OrderedDict[tuple, PlaceSnaps] = OrderedDict()

    def router(self, settings: Settings, region: str) -> Router | None:
        """The region's router, or None when it has no network."""
        path = network_path(settings, region)
        if not path.is_file():
            return None
        mtime = path.stat().st_mtime
        cached = self._routers.get(path)
        if cached and cached[0] == mtime:
            self._touch(self._routers, path)
            return cached[1]
        with self._lock:
            cached = self._routers.get(path)
            if cached and cached[0] == mtime:  # another request loaded it while this one waited
                return cached[1]
            router = load_router(path, profile_for(settings, None))  # memory-mapped when stored beside it
            self._routers[path] = (mtime, router)
            self._routers.move_to_end(path)
            while len(self._routers) > self.max_routers:
                self._routers.popitem(last=False)
            self._snaps = OrderedDict((k, v) for k, v in self._snaps.items() if k[0] != path)
        return router

    @staticmethod
    def _touch(entries: OrderedDict, key) -> None:
        try:
            entries.move_to_end(key)
        except KeyError:  # evicted by another thread meanwhile
            pass

    def regions(self, session: Session) -> list[RegionArea]:
        """Regions with their boundaries, cached until the region table changes."""
        rows = session.exec(select(Region.id, Region.slug, Region.name, Region.boundary_geojson,
                                   Region.map_extent_geojson).order_by(Region.id)).all()
        key = str(session.get_bind().url)
        signature = tuple((r[0], r[1], len(r[3] or ""), r[4] or "") for r in rows)
        cached = self._regions.get(key)
        if cached and cached[0] == signature:
            return cached[1]
        areas = []
        for _, slug, name, boundary, extent in rows:
            geom, covered = (shape(json.loads(text)) if text else None for text in (boundary, extent))
            for g in (geom, covered):
                if g is not None:
                    shapely.prepare(g)
            areas.append(RegionArea(slug, name, geom, covered))
        self._regions[key] = (signature, areas)
        return areas

    def place_snaps(self, router: Router, *, path_key: Path, signature: tuple, profile: Profile,
                    lon: np.ndarray, lat: np.ndarray) -> "PlaceSnaps":
        """The catalogue's places snapped to the network (each once, when first needed) per (catalogue, profile)."""
        key = (path_key, signature, profile.name, profile.speed_kmh)
        snaps = self._snaps.get(key)
        if snaps is not None:
            self._touch(self._snaps, key)
        else:
            snaps = PlaceSnaps(router, lon, lat, profile=profile)
            with self._lock:
                self._snaps[key] = snaps
                while len(self._snaps) > self.max_snaps:
                    self._snaps.popitem(last=False)
        return snaps


class PlaceSnaps:
    """Catalogue places snapped to a network as searches first need them.

    A walking search looks at the places within its straight-line reach only, so it snaps only
    those: snapping the whole catalogue on the first walking search cost ~3 s at 10⁶ places.
    A place's snap does not depend on which others are snapped with it, so the answers are the
    same as snapping every place at once.
    """

    FIELDS = ("edge", "u", "v", "along_u", "along_v", "offset_m", "x", "y")

    def __init__(self, router: Router, lon: np.ndarray, lat: np.ndarray, *, profile: Profile) -> None:
        n = len(lon)
        self._router, self._lon, self._lat, self._profile = router, lon, lat, profile
        self._done = np.zeros(n, dtype=bool)
        self._arrays = {name: np.full(n, -1, dtype=np.int64) if name in ("edge", "u", "v") else np.full(n, np.nan)
                        for name in self.FIELDS}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return int(self._done.size)

    def take(self, idx) -> SnapSet:
        """The snaps of the places at positions ``idx`` (snapping those not snapped yet)."""
        idx = np.asarray(idx, dtype=np.int64)
        todo = np.unique(idx[~self._done[idx]])
        if todo.size:
            got = self._router.snap_many(self._lon[todo], self._lat[todo], profile=self._profile)
            with self._lock:  # the values first, then the flags: a reader that sees a flag sees its values
                for name in self.FIELDS:
                    self._arrays[name][todo] = getattr(got, name)
                self._done[todo] = True
        return SnapSet(*(self._arrays[name][idx] for name in self.FIELDS), avoid_key=self._profile.avoid_key)


DEFAULT_WALKING = WalkingCache()


def warm_networks(settings: Settings, *, cache: WalkingCache = DEFAULT_WALKING) -> list[str]:
    """Load the regions' walking networks and build their search structures now (a server's start-up),
    so no visitor's first walking search waits for it (~2.5 s CPU at 10^6 nodes); at most the cache's bound."""
    folder = Path(settings.state_dir) / "networks"
    slugs = sorted(p.stem for p in folder.glob("*.npz") if not p.stem.endswith(".partial")) if folder.is_dir() else []
    loaded = []
    for slug in slugs[: cache.max_routers]:
        if cache.router(settings, slug) is not None:
            loaded.append(slug)
    return loaded


def region_for_point(session: Session, lon: float, lat: float, *, margin_m: float,
                     cache: WalkingCache = DEFAULT_WALKING) -> RegionArea:
    """The region holding a point (or within ``margin_m`` of its boundary), else ``InvalidQuery``."""
    regions = cache.regions(session)
    point = Point(lon, lat)
    best, best_m = None, float("inf")
    for region in regions:
        if region.boundary is None:
            continue
        if region.boundary.contains(point):
            return region
        nearest = shapely.ops.nearest_points(region.boundary, point)[0]
        metres = float(haversine_m(lon, lat, nearest.x, nearest.y))
        if metres < best_m:
            best, best_m = region, metres
    if best is not None and best_m <= margin_m:
        return best
    names = ", ".join(r.name for r in regions) or "none yet"
    where = f"{best_m / 1000:.1f} km from the nearest region ({best.name})" if best else "outside every region"
    raise InvalidQuery(
        f"this point is {where}; walking times are only available in the regions kindmap holds ({names}). "
        "Search by distance (radius_m) instead, or choose a point inside a region."
    )


def check_map_data(region: RegionArea, router: Router | None, lon: float, lat: float) -> None:
    """``NoMapData`` when the region's map data does not cover an EPSG:4326 point: outside its extract's
    recorded extent, or no node of its walking network within ``MAP_DATA_RADIUS_M``."""
    outside = region.map_extent is not None and not region.map_extent.covers(Point(lon, lat))
    if not outside and router is not None:
        x, y = router.net.projection.forward(np.array([lon], float), np.array([lat], float))
        outside = router.grid.near(np.atleast_1d(x), np.atleast_1d(y), MAP_DATA_RADIUS_M).size == 0
    if outside:
        raise NoMapData(
            f"No map data here: this point is in {region.name}, but {region.name}'s map data (its OpenStreetMap "
            "extract) does not cover it, so walking times cannot be worked out from here. Search by distance "
            "instead of walking time, or choose a point in the part the map data covers. To cover all of "
            f"{region.name}, import an extract that does: kindmap import osm EXTRACT --region {region.slug}"
        )


def walking_region(session: Session, settings: Settings, lon: float, lat: float, *,
                   cache: WalkingCache = DEFAULT_WALKING) -> tuple[RegionArea, Router | None]:
    """The region holding a point and its router (None: estimated walks), after checking its map data covers
    the point (``InvalidQuery`` outside every region, ``NoMapData`` outside the map data)."""
    region = region_for_point(session, lon, lat, margin_m=settings.region_margin_m, cache=cache)
    router = cache.router(settings, region.slug)
    check_map_data(region, router, lon, lat)
    return region, router


def reachable_area(session: Session, settings: Settings, *, lon: float, lat: float, minutes: float,
                   profile_name: str | None, cache: WalkingCache = DEFAULT_WALKING) -> tuple[shapely.Geometry, str, str, str]:
    """The area reachable on foot (EPSG:4326), how it was measured, the profile and the region slug.

    With a network: reached path edges buffered by 50 m and unioned (see ``kindmap.geo.isochrone``).
    Without: a circle of the estimated reach (straight-line speed ÷ circuity), labelled estimated.
    """
    if not (math.isfinite(minutes) and 0 < minutes <= 180):
        raise InvalidQuery("minutes must be more than 0 and at most 180")
    profile = profile_for(settings, profile_name)
    region, router = walking_region(session, settings, lon, lat, cache=cache)
    if router is not None:
        return isochrone(router, lon, lat, minutes=minutes, profile=profile), NETWORK, profile.name, region.slug
    reach_m = minutes * profile.metres_per_minute / settings.circuity
    projection = LocalProjection.centred_on(lon, lat)
    x, y = projection.forward(lon, lat)
    circle = Point(float(x), float(y)).buffer(reach_m, quad_segs=32)
    xs, ys = np.asarray(circle.exterior.coords).T
    plon, plat = projection.inverse(xs, ys)
    return shapely.Polygon(np.column_stack((plon, plat))), ESTIMATED, profile.name, region.slug


import shapely.ops  # noqa: E402  (nearest_points lives in shapely.ops)
