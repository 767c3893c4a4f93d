"""Gap analysis through its real entry point: the catchment-bounded E2SFCA step gives the same
results as the straightforward one (one whole-network search per place), on the real Rutland data."""

from __future__ import annotations

import pytest

from kindmap.services.gaps.analysis import GapQuery, analyse_gaps
from kindmap.services.gaps.times import NetworkTimes
from tests.geo.test_catchment import straightforward_pairs


def _straightforward(self, lon, lat, *, threshold):
    return straightforward_pairs(self.router, self._sources(lon, lat), self.targets, self.profile.name, threshold)


@pytest.mark.parametrize("minutes, decay, slot", [(15, "gaussian", "any"), (30, "stepped", "weekday_daytime")])
def test_rutland_e2sfca_equals_one_search_per_place(rutland, monkeypatch, minutes, decay, slot):
    settings, engine, _ = rutland
    q = GapQuery(region="rutland", minutes=minutes, decay=decay, slot=slot)
    fast = analyse_gaps(engine, settings, q)
    assert fast.method == "network" and any(a["e2sfca_score"] > 0 for a in fast.areas)
    monkeypatch.setattr(NetworkTimes, "pairs", _straightforward)
    slow = analyse_gaps(engine, settings, q)
    assert fast.totals == slow.totals
    for a, b in zip(fast.areas, slow.areas, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == pytest.approx(b[k], rel=1e-12, abs=1e-12) if isinstance(a[k], float) else a[k] == b[k], k


def test_rutland_partitioned_on_processes_equals_whole(rutland):
    """The Dask processes scheduler (tiles in separate processes, so searches use every core) gives the same result."""
    import numpy as np

    from kindmap.errors import InvalidQuery
    from kindmap.services.gaps.partition import analyse_partitioned

    settings, engine, _ = rutland
    q = GapQuery(region="rutland", minutes=15)
    whole = analyse_gaps(engine, settings, q)
    part = analyse_partitioned(engine, settings, q, tiles=(2, 1), scheduler="processes")
    fin = np.isfinite(whole.point_minutes)
    assert np.array_equal(fin, np.isfinite(part.point_minutes))
    assert np.allclose(whole.point_minutes[fin], part.point_minutes[fin], rtol=0, atol=1e-9)
    for a, b in zip(whole.areas, part.areas, strict=True):
        for k in a:
            assert a[k] == pytest.approx(b[k], abs=1e-9) if isinstance(a[k], float) else a[k] == b[k], k
    assert "processes" in part.notes[-1]
    with pytest.raises(InvalidQuery, match="scheduler"):
        analyse_partitioned(engine, settings, q, tiles=(2, 1), scheduler="cluster-of-potatoes")
