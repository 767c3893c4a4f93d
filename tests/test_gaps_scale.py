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
