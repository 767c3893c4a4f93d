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


def _same_result(whole, part):
    import numpy as np

    fin = np.isfinite(whole.point_minutes)
    assert np.array_equal(fin, np.isfinite(part.point_minutes))
    assert np.allclose(whole.point_minutes[fin], part.point_minutes[fin], rtol=0, atol=1e-9)
    assert whole.totals.keys() == part.totals.keys()
    for k, v in whole.totals.items():
        assert part.totals[k] == pytest.approx(v, abs=1e-9), k
    assert part.unknown_hours == pytest.approx(whole.unknown_hours, abs=1e-12)
    assert part.notes[:-1] == whole.notes
    for a, b in zip(whole.areas, part.areas, strict=True):
        for k in a:
            assert a[k] == pytest.approx(b[k], abs=1e-9) if isinstance(a[k], float) else a[k] == b[k], k


@pytest.mark.parametrize("slot", ["any", "weekday_evening"])
def test_rutland_partitioned_in_processes_equals_whole(rutland, slot):
    """Tiles in separate processes (Dask's processes scheduler, and a dask.distributed LocalCluster
    of two single-threaded workers) give the same result as the whole-region run, including the
    unknown-hours effect, which the tiles compute too."""
    from kindmap.services.gaps.partition import analyse_partitioned

    settings, engine, _ = rutland
    q = GapQuery(region="rutland", minutes=15, slot=slot)
    whole = analyse_gaps(engine, settings, q)
    assert whole.unknown_hours["unknown_eligible"] > 0
    for scheduler, tiles in (("processes", (2, 1)), ("distributed", (2, 2)))[: 2 if slot == "any" else 1]:
        part = analyse_partitioned(engine, settings, q, tiles=tiles, scheduler=scheduler, workers=2)
        _same_result(whole, part)
        assert scheduler in part.notes[-1]


def test_scheduler_names_and_addresses_are_checked(rutland, monkeypatch):
    from kindmap.errors import InvalidQuery
    from kindmap.services.gaps import partition

    settings, engine, _ = rutland
    q = GapQuery(region="rutland", minutes=15)
    for bad in ("cluster-of-potatoes", "tcp://", "http://127.0.0.1:8786", "127.0.0.1:port", "tcp://127.0.0.1:8786/x"):
        with pytest.raises(InvalidQuery, match="scheduler"):
            partition.analyse_partitioned(engine, settings, q, tiles=(2, 1), scheduler=bad)
    for good in ("tcp://127.0.0.1:8786", "127.0.0.1:8786", "tls://sched.example.org:8786", "distributed"):
        partition.check_scheduler(good)
    monkeypatch.setattr(partition, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(InvalidQuery, match="could not reach a Dask scheduler at tcp://127.0.0.1:9"):
        partition.analyse_partitioned(engine, settings, q, tiles=(2, 1), scheduler="tcp://127.0.0.1:9")


def test_demand_read_in_blocks_equals_one_row_per_postcode(rutland, monkeypatch):
    """The demand points read as blocks of floats plus counts per area are exactly the postcodes
    read one ORM row at a time (same areas, points and weights), in blocks of any size."""
    import numpy as np
    from sqlmodel import select

    from kindmap.db import read_session
    from kindmap.models import Area, Postcode, Region
    from kindmap.services.gaps import inputs

    settings, engine, _ = rutland
    with read_session(engine) as s:
        region = s.exec(select(Region).where(Region.slug == "rutland")).one()
        codes = s.exec(select(Area.code).where(Area.region_id == region.id).order_by(Area.code)).all()
        want = sorted((codes.index(p.area_code), p.lon, p.lat)
                      for p in s.exec(select(Postcode).where(Postcode.area_code.in_(codes))).all())
        for block in (5000, 7):
            monkeypatch.setattr(inputs, "CODES_PER_READ", block)
            d = inputs.load_demand(s, region.id, region_name=region.name)
            n = len(want)
            assert sorted(zip(d.area[:n].tolist(), d.lon[:n].tolist(), d.lat[:n].tolist())) == want
            assert np.array_equal(d.weight, d.households[d.area] / np.bincount(d.area, minlength=len(codes))[d.area])


def test_unknown_hours_effect_reuses_the_nearest_search_only_when_the_places_are_the_same(rutland, monkeypatch):
    from kindmap.services.gaps import analysis
    from kindmap.services.gaps.measure import measure

    settings, engine, _ = rutland
    for slot in ("any", "weekday_evening"):
        ctx = analysis.prepare(engine, settings, GapQuery(region="rutland", minutes=15, slot=slot))
        m = measure(ctx.demand, ctx.supply, ctx.times, ctx.query)
        searches = []
        real = type(ctx.times).nearest
        monkeypatch.setattr(type(ctx.times), "nearest", lambda self, *a, **k: searches.append(1) or real(self, *a, **k))
        reused = analysis.unknown_hours_effect(ctx, ctx.supply, m["minutes"])
        n_reused = len(searches)
        assert reused == analysis.unknown_hours_effect(ctx, ctx.supply)  # two searches, as before
        assert reused["unknown_eligible"] > 0
        # the counted places are always one of the two sets (unknown hours counted as open or not)
        assert n_reused == 1
        monkeypatch.undo()


def test_workers_without_the_network_file_are_sent_each_subnetwork(rutland, monkeypatch):
    """At a scheduler's address, workers that cannot see the network file (another machine) get
    each tile's subnetwork cut by this process; the result is the same."""
    import threading

    from distributed import Client

    from kindmap.services.gaps import partition, tiles

    settings, engine, _ = rutland
    q = GapQuery(region="rutland", minutes=15)
    whole = analyse_gaps(engine, settings, q)
    cut_here = []
    real = tiles.Cut.network
    monkeypatch.setattr(tiles.Cut, "network", lambda self, *box: cut_here.append(
        threading.current_thread() is threading.main_thread()) or real(self, *box))
    with Client(processes=False, protocol="tcp", host="127.0.0.1", n_workers=1, threads_per_worker=1,
                dashboard_address=":0") as client:
        address = client.scheduler.address
        monkeypatch.setattr(partition, "_stamp", lambda path: None)  # as on a machine without the file
        _same_result(whole, partition.analyse_partitioned(engine, settings, q, tiles=(2, 1), scheduler=address))
        assert cut_here == [True, True]
        cut_here.clear()
        monkeypatch.undo()
        monkeypatch.setattr(tiles.Cut, "network", lambda self, *box: cut_here.append(
            threading.current_thread() is threading.main_thread()) or real(self, *box))
        _same_result(whole, partition.analyse_partitioned(engine, settings, q, tiles=(2, 1), scheduler=address))
        assert cut_here == [False, False]  # the worker saw the file and cut its own


def test_tiles_are_whole_areas_of_equal_households_and_go_back_in_region_order(rutland):
    """Tiles are whole small areas with about equal households; the points each tile reads for its
    areas, put back by ``region_order``, are exactly the whole region's demand (same order, so
    every per-point figure lines up), including areas without postcodes (kept at their centroids)."""
    import numpy as np
    from sqlmodel import select

    from kindmap.db import read_session
    from kindmap.models import Region
    from kindmap.services.gaps import inputs, partition
    from kindmap.services.gaps.tiles import Households

    settings, engine, _ = rutland
    with read_session(engine) as s:
        region = s.exec(select(Region).where(Region.slug == "rutland")).one()
        areas = inputs.load_areas(s, region.id, region_name=region.name)
        whole = inputs.load_demand(s, region.id, region_name=region.name)
    groups = partition._tiles(np.column_stack([areas.centroid_lon, areas.centroid_lat]), areas.households, 2, 2)
    assert len(groups) == 4 and np.array_equal(np.sort(np.concatenate(groups)), np.arange(len(areas.code)))
    per_tile = [areas.households[g].sum() for g in groups]
    assert max(per_tile) - min(per_tile) <= areas.households.max()  # a cut falls between two areas
    # two made-up areas with no postcodes, between real ones: they keep their households at their centroids
    n = len(areas.code)
    fake = {3: "ZZ000001", 17: "ZZ000002"}
    idx = [i for i in range(n + len(fake))]
    codes, old = [], iter(range(n))
    mapping = {}
    for i in idx:
        if i in fake:
            codes.append(fake[i])
        else:
            mapping[i] = next(old)
            codes.append(areas.code[mapping[i]])
    clon = np.array([areas.centroid_lon[mapping[i]] if i in mapping else -0.7 - i / 100 for i in idx])
    clat = np.array([areas.centroid_lat[mapping[i]] if i in mapping else 52.6 for i in idx])
    with engine.connect() as conn:
        want = inputs.demand_points(conn, codes, np.arange(len(idx)), clon, clat)
    assert want[3] == whole.lon.size and want[0].size == want[3] + 2  # the two fake areas come last, at their centroids
    rng = np.random.default_rng(1)
    for _ in range(3):
        label = rng.integers(0, 3, len(idx))
        parts = []
        for t in range(3):
            k = np.flatnonzero(label == t)
            recipe = Households("", [codes[i] for i in k], k, clon[k], clat[k])
            parts.append(recipe.points(engine))
        order = partition.region_order(parts, len(idx))
        for got, expected in zip((np.concatenate([getattr(p, f) for p in parts])[order] for f in ("area", "lon", "lat")),
                                 want[:3]):
            assert np.array_equal(got, expected)
    assert np.array_equal(want[1][: want[3]], whole.lon) and np.array_equal(want[2][: want[3]], whole.lat)


def test_workers_that_cannot_open_the_database_are_sent_each_tiles_points(rutland, monkeypatch):
    """At a scheduler's address, workers that can open the database read their own tiles' postcode
    points; workers that cannot (another machine, a different database there) are sent them by
    this process. The result is the same either way."""
    import threading

    from distributed import Client

    from kindmap.services.gaps import partition, tiles

    settings, engine, _ = rutland
    q = GapQuery(region="rutland", minutes=15)
    whole = analyse_gaps(engine, settings, q)
    read_here = []
    real = tiles.Households.points

    def spy(self, engine=None):
        read_here.append(threading.current_thread() is threading.main_thread())
        return real(self, engine)

    with Client(processes=False, protocol="tcp", host="127.0.0.1", n_workers=1, threads_per_worker=1,
                dashboard_address=":0") as client:
        address = client.scheduler.address
        monkeypatch.setattr(tiles.Households, "points", spy)
        _same_result(whole, partition.analyse_partitioned(engine, settings, q, tiles=(2, 1), scheduler=address))
        assert read_here == [False, False]  # each worker read its own tile's points
        read_here.clear()
        monkeypatch.setattr(partition, "_opens", lambda url, code: (0, 0))  # a different database there
        _same_result(whole, partition.analyse_partitioned(engine, settings, q, tiles=(2, 1), scheduler=address))
        assert read_here == [True, True]
        read_here.clear()
        monkeypatch.undo()
        monkeypatch.setattr(tiles.Households, "points", spy)
        monkeypatch.setattr(partition, "shareable_url", lambda engine: None)  # e.g. an address with a password
        _same_result(whole, partition.analyse_partitioned(engine, settings, q, tiles=(2, 1), scheduler=address))
        assert read_here == [True, True]


def test_only_addresses_without_a_secret_are_given_to_workers():
    from sqlalchemy import create_engine

    from kindmap.services.gaps.partition import shareable_url

    assert shareable_url(create_engine("sqlite:////tmp/x/kindmap.sqlite3")) == "sqlite:////tmp/x/kindmap.sqlite3"
    assert shareable_url(create_engine("sqlite://")) is None
    assert shareable_url(create_engine("sqlite:///:memory:")) is None
    assert shareable_url(create_engine("postgresql+psycopg://kindmap:s3cret@db.example.org/kindmap")) is None
    assert shareable_url(create_engine("postgresql+psycopg://kindmap@db.example.org:5433/kindmap")) == \
        "postgresql+psycopg://kindmap@db.example.org:5433/kindmap"


def test_edge_extents_are_stored_once_per_network_version(tmp_path, rutland):
    """Each edge's extent is the min and max of its vertices; stored beside the network file, it is
    read back by the next process, and a new version of the file gets its own (the old one goes)."""
    import os
    import shutil

    import numpy as np

    from kindmap.geo.network import WalkNetwork
    from kindmap.services.gaps import tiles
    from kindmap.services.walking import network_path

    settings, _, _ = rutland
    path = tmp_path / "rutland.npz"
    shutil.copyfile(network_path(settings, "rutland"), path)
    net = WalkNetwork.load(path)
    want_lo = np.array([net.edge_xy(e).min(axis=0) for e in range(net.n_edges)])
    want_hi = np.array([net.edge_xy(e).max(axis=0) for e in range(net.n_edges)])
    lo, hi = tiles.edge_extents(str(path), net)
    assert np.array_equal(lo, want_lo) and np.array_equal(hi, want_hi)
    stored = list((tmp_path / "prepared").glob("rutland.edge-extents.*.npy"))
    assert len(stored) == 1
    lo2, hi2 = tiles.edge_extents(str(path), net)
    assert isinstance(lo2.base, np.memmap) or isinstance(lo2, np.memmap)  # read back, not computed again
    assert np.array_equal(lo2, want_lo) and np.array_equal(hi2, want_hi)
    os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 10**9))  # a new version of the network file
    tiles.edge_extents(str(path), net)
    again = list((tmp_path / "prepared").glob("rutland.edge-extents.*.npy"))
    assert len(again) == 1 and again != stored
