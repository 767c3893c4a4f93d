"""Gap analysis walk times (minutes): on the region's path network, or straight line × circuity when it has none.

With a network, households are snapped once; one capped multi-source search from the open places
gives each household's nearest, and E2SFCA's pairs come from searches bounded by each catchment.
Without one, minutes are straight-line metres (local metric projection) × circuity at the
profile's pace, labelled ``estimated``.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from kindmap.config import Settings
from kindmap.geo.catchment import pairs_within
from kindmap.geo.graph import Router, SnapSet
from kindmap.geo.profiles import Profile
from kindmap.geo.projection import LocalProjection
from kindmap.services.gaps.inputs import Demand
from kindmap.services.walking import DEFAULT_WALKING, ESTIMATED, NETWORK


class NetworkTimes:
    """Walk minutes on a region's network; demand points snapped once per profile."""

    method = NETWORK

    def __init__(self, router: Router, profile: Profile, lon: np.ndarray, lat: np.ndarray) -> None:
        self.router, self.profile = router, profile
        self.targets = router.snap_many(lon, lat, profile=profile)

    @property
    def off_network(self) -> int:
        """Demand points farther than the snap limit from any path (they count as out of reach)."""
        return int((~self.targets.ok).sum())

    def _sources(self, lon: np.ndarray, lat: np.ndarray) -> SnapSet:
        return self.router.snap_many(lon, lat, profile=self.profile)

    def nearest(self, lon: np.ndarray, lat: np.ndarray, *, horizon: float) -> np.ndarray:
        """Minutes from each demand point to its nearest place (inf beyond ``horizon``); one multi-source search."""
        if len(lon) == 0:
            return np.full(len(self.targets), np.inf)
        minutes, _ = self.router.nearest_source_for_snapped(self._sources(lon, lat), self.targets,
                                                            profile=self.profile, max_minutes=horizon)
        return minutes

    def pairs(self, lon: np.ndarray, lat: np.ndarray, *, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(point, place, minutes) for every pair within ``threshold``.

        Places are searched in groups of nearby places, each only over the nodes and points
        within its catchment (``kindmap.geo.catchment``): the work grows with places × catchment,
        not places × region, and the answers equal one whole-network search per place.
        """
        if len(lon) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        return pairs_within(self.router, self._sources(lon, lat), self.targets, profile=self.profile,
                            max_minutes=threshold)


class EstimatedTimes:
    """Straight-line distance × circuity at the profile's pace, for regions without a network (labelled estimated)."""

    method = ESTIMATED
    off_network = 0

    def __init__(self, profile: Profile, lon: np.ndarray, lat: np.ndarray, *, circuity: float,
                 projection: LocalProjection | None = None) -> None:
        self.profile, self.circuity = profile, circuity
        self.proj = projection or LocalProjection.centred_on(lon, lat)
        self.xy = np.column_stack(self.proj.forward(lon, lat))
        self.tree = cKDTree(self.xy)

    def _minutes(self, metres: np.ndarray) -> np.ndarray:
        return metres * self.circuity / self.profile.metres_per_minute

    def nearest(self, lon: np.ndarray, lat: np.ndarray, *, horizon: float) -> np.ndarray:
        """Estimated minutes from each demand point to its nearest place (inf beyond ``horizon``)."""
        if len(lon) == 0:
            return np.full(self.xy.shape[0], np.inf)
        d, _ = cKDTree(np.column_stack(self.proj.forward(lon, lat))).query(self.xy, k=1)
        m = self._minutes(d)
        return np.where(m <= horizon, m, np.inf)

    def pairs(self, lon: np.ndarray, lat: np.ndarray, *, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(point, place, estimated minutes) for every pair within ``threshold``."""
        if len(lon) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        places = cKDTree(np.column_stack(self.proj.forward(lon, lat)))
        radius = threshold * self.profile.metres_per_minute / self.circuity
        found = self.tree.sparse_distance_matrix(places, radius, output_type="ndarray")
        return found["i"].astype(np.int64), found["j"].astype(np.int64), self._minutes(found["v"])


def walk_times(settings: Settings, region: str, profile: Profile, demand: Demand):
    """Network walk times when the region has a network, else straight-line estimates."""
    router = DEFAULT_WALKING.router(settings, region)
    if router is not None:
        return NetworkTimes(router, profile, demand.lon, demand.lat)
    return EstimatedTimes(profile, demand.lon, demand.lat, circuity=settings.circuity)
