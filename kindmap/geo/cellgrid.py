"""Points in quadtree (Morton) order of Web Mercator cells, with per-level cell summaries, so the
points in a lon/lat box, and the screen-grid clusters of a map view, cost what is in view and not
what is indexed. Pure numpy; EPSG:4326 degrees in.

A cell of level ``k`` is a 1/2^k square of the Web Mercator world; the map's 64-pixel cluster
cells at zoom ``z`` are exactly the cells of level ``z + 2`` (``clusters.grid_clusters`` computes
``floor(x / 64)`` of the same floats scaled by a power of two). Points are sorted by their level-24
Morton key, so every cell of every level is one run of that order; for the coarse levels (while
they have at most a quarter as many cells as points) each cell's count, coordinate sums and
bounding box are kept. A box is answered by descending from the root: cells wholly outside are
dropped, cells wholly inside are taken whole (their summary, or their run of points), and only
cells the box's edge crosses are split further; at the finest kept level those are checked point
by point. Work: about the cells along the box's edge per level plus the points taken, never the
whole index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kindmap.errors import InvalidQuery
from kindmap.geo.clusters import CELL_PX, GridCluster, grid_clusters, mercator_px

FINE = 24  # level of the finest key: the 64-px cells at zoom 22, the map's deepest zoom
MARGIN = 1e-12  # in Mercator units (the world is 1): far above rounding of sin/log, far below a level-24 cell (6e-8)


def unit_xy(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator in world units (0..1, y down): ``mercator_px`` at zoom -8, so the same floats."""
    return mercator_px(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64), -8)


def _spread(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.uint64) & np.uint64(0xFFFFFFFF)
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF), (4, 0x0F0F0F0F0F0F0F0F),
                        (2, 0x3333333333333333), (1, 0x5555555555555555)):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def _compact(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.uint64) & np.uint64(0x5555555555555555)
    for shift, mask in ((1, 0x3333333333333333), (2, 0x0F0F0F0F0F0F0F0F), (4, 0x00FF00FF00FF00FF),
                        (8, 0x0000FFFF0000FFFF), (16, 0x00000000FFFFFFFF)):
        v = (v | (v >> np.uint64(shift))) & np.uint64(mask)
    return v.astype(np.int64)


def morton(cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """Interleaved bits of cell columns and rows (x in the even bits): a cell's children are keys 4k..4k+3."""
    return _spread(cx) | (_spread(cy) << np.uint64(1))


def cell_xy(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column and row of Morton ``keys``."""
    return _compact(keys), _compact(keys >> np.uint64(1))


@dataclass
class Level:
    """The non-empty cells of one level: Morton keys (sorted), where each cell's run starts in the point
    order (one more entry: the end), and each cell's coordinate sums and box (minlon, minlat, maxlon, maxlat)."""

    keys: np.ndarray
    start: np.ndarray
    sum_lon: np.ndarray
    sum_lat: np.ndarray
    box: np.ndarray

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.keys, self.start, self.sum_lon, self.sum_lat, self.box))


def _gather(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Indices of all the runs [start, stop), in order."""
    lengths = stops - starts
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total, dtype=np.int64)


class CellGrid:
    """Box and map-view queries over EPSG:4326 points; positions are indices into ``lon``/``lat``."""

    def __init__(self, lon: np.ndarray, lat: np.ndarray, *, cells_per_point: float = 0.25) -> None:
        self.lon, self.lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        n = self.lon.size
        ux, uy = unit_xy(self.lon, self.lat)
        side = float(1 << FINE)
        with np.errstate(invalid="ignore"):
            cx, cy = np.floor(ux * side), np.floor(uy * side)
            fits = (cx >= 0) & (cx < side) & (cy >= 0) & (cy < side)
        inside = np.flatnonzero(fits)
        # Off the Mercator square (lat past ±85.05°, lon exactly 180, not finite): checked one by one, always.
        self.odd = np.flatnonzero(~fits)
        keys = morton(cx[inside].astype(np.int64), cy[inside].astype(np.int64))
        del ux, uy, cx, cy, fits
        sort = np.argsort(keys, kind="stable")  # equal keys keep position order
        dtype = np.int32 if n < 2**31 else np.int64
        self.order = inside[sort].astype(dtype)
        self.keys = keys[sort]
        del keys, sort, inside
        self.levels: list[Level] = self._summaries(max(64, int(n * cells_per_point)))
        with np.errstate(invalid="ignore"):
            finite = bool(np.isfinite(self.lon).all() and np.isfinite(self.lat).all())
        # every point's box: a view holding all of them (a country zoomed out) needs no cells at all
        self.extent = ((float(self.lon.min()), float(self.lat.min()), float(self.lon.max()), float(self.lat.max()))
                       if n and finite else None)

    @property
    def finest(self) -> int:
        """The finest level with cell summaries."""
        return len(self.levels) - 1

    @property
    def nbytes(self) -> int:
        return self.order.nbytes + self.keys.nbytes + self.odd.nbytes + sum(lv.nbytes for lv in self.levels)

    def _prefix(self, level: int) -> np.ndarray:
        return self.keys >> np.uint64(2 * (FINE - level))

    def _cells(self, level: int) -> int:
        if self.keys.size == 0:
            return 0
        p = self._prefix(level)
        return int(np.count_nonzero(p[1:] != p[:-1])) + 1

    def _summaries(self, budget: int) -> list[Level]:
        # the finest level with at most ``budget`` cells (cell counts only grow with the level)
        lo, hi = 0, FINE
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._cells(mid) <= budget:
                lo = mid
            else:
                hi = mid - 1
        m = self.keys.size
        if m == 0:
            return [Level(np.empty(0, dtype=np.uint64), np.zeros(1, dtype=np.int64), np.empty(0), np.empty(0),
                          np.empty((0, 4)))]
        finest = lo
        p = self._prefix(finest)
        starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
        lon, lat = self.lon[self.order], self.lat[self.order]
        levels = [Level(p[starts], np.r_[starts, m].astype(np.int64), np.add.reduceat(lon, starts),
                        np.add.reduceat(lat, starts),
                        np.column_stack([np.minimum.reduceat(lon, starts), np.minimum.reduceat(lat, starts),
                                         np.maximum.reduceat(lon, starts), np.maximum.reduceat(lat, starts)]))]
        del lon, lat, p
        for _ in range(finest):  # each coarser level from the one below it
            child = levels[-1]
            parent = child.keys >> np.uint64(2)
            g = np.flatnonzero(np.r_[True, parent[1:] != parent[:-1]])
            box = np.column_stack([np.minimum.reduceat(child.box[:, 0], g), np.minimum.reduceat(child.box[:, 1], g),
                                   np.maximum.reduceat(child.box[:, 2], g), np.maximum.reduceat(child.box[:, 3], g)])
            levels.append(Level(parent[g], np.r_[child.start[g], child.start[-1]], np.add.reduceat(child.sum_lon, g),
                                np.add.reduceat(child.sum_lat, g), box))
        return levels[::-1]

    # ------------------------------------------------------------------ queries

    def _descend(self, bbox: tuple[float, float, float, float], *, min_level: int, summaries: bool,
                 max_points: int, too_many: str) -> tuple[list[tuple[int, np.ndarray]], np.ndarray, np.ndarray]:
        """Cells wholly inside ``bbox`` at ``min_level`` or finer (as (level, cell indices), when ``summaries``),
        and the runs of points to look at one by one (starts, stops into ``order``)."""
        minx, miny, maxx, maxy = bbox
        (ux0, ux1), (uy0, uy1) = unit_xy(np.array([minx, maxx]), np.array([maxy, miny]))  # y grows southward
        whole: list[tuple[int, np.ndarray]] = []
        runs_start, runs_stop = [], []
        k, idx = self._first_cells(ux0, ux1, uy0, uy1)
        while idx.size:
            lv = self.levels[k]
            cx, cy = cell_xy(lv.keys[idx])
            size = 1.0 / (1 << k)
            x0, y0 = cx * size, cy * size
            x1, y1 = x0 + size, y0 + size
            out = (x1 <= ux0 - MARGIN) | (x0 > ux1 + MARGIN) | (y1 <= uy0 - MARGIN) | (y0 > uy1 + MARGIN)
            inner = (x0 > ux0 + MARGIN) & (x1 < ux1 - MARGIN) & (y0 > uy0 + MARGIN) & (y1 < uy1 - MARGIN)
            done = inner & (k >= min_level)
            split = ~out & ~done
            if done.any():
                cells = idx[done]
                if summaries:
                    whole.append((k, cells))
                else:
                    runs_start.append(lv.start[cells]), runs_stop.append(lv.start[cells + 1])
            if k == self.finest:
                cells = idx[split]
                runs_start.append(lv.start[cells]), runs_stop.append(lv.start[cells + 1])
                break
            nxt = self.levels[k + 1]
            parents = lv.keys[idx[split]] << np.uint64(2)
            lo = np.searchsorted(nxt.keys, parents)
            hi = np.searchsorted(nxt.keys, parents + np.uint64(4))
            idx = _gather(lo, hi)
            k += 1
        starts = np.concatenate(runs_start) if runs_start else np.empty(0, dtype=np.int64)
        stops = np.concatenate(runs_stop) if runs_stop else np.empty(0, dtype=np.int64)
        looked = int((stops - starts).sum()) + self.odd.size
        if looked > max_points:
            raise InvalidQuery(f"this view holds about {looked:,} places, more than the {max_points:,} a request may "
                               f"look at one by one; {too_many}")
        return whole, starts, stops

    def _first_cells(self, ux0: float, ux1: float, uy0: float, uy1: float) -> tuple[int, np.ndarray]:
        """The coarsest useful start: the level where the box spans at most about two cells a side
        (a town view skips the ten or so levels above it), and the non-empty cells there it touches."""
        span = max(ux1 - ux0, uy1 - uy0) + 2 * MARGIN
        k = int(min(self.finest, max(0, np.floor(-np.log2(span))))) if span < 1 else 0
        side = 1 << k
        xs = np.arange(max(0, int(np.floor((ux0 - MARGIN) * side))), min(side - 1, int(np.floor((ux1 + MARGIN) * side))) + 1)
        ys = np.arange(max(0, int(np.floor((uy0 - MARGIN) * side))), min(side - 1, int(np.floor((uy1 + MARGIN) * side))) + 1)
        keys = morton(np.repeat(xs, ys.size), np.tile(ys, xs.size))
        lv = self.levels[k]
        idx = np.searchsorted(lv.keys, keys)
        found = idx < lv.keys.size
        found[found] = lv.keys[idx[found]] == keys[found]
        return k, idx[found]

    def _holds_all(self, bbox, *, max_points: int, too_many: str) -> bool:
        """Whether every point lies in ``bbox`` (then ``InvalidQuery`` past ``max_points``)."""
        if self.extent is None:
            return False
        x0, y0, x1, y1 = self.extent
        minx, miny, maxx, maxy = bbox
        if not (minx <= x0 and x1 <= maxx and miny <= y0 and y1 <= maxy):
            return False
        if self.lon.size > max_points:
            raise InvalidQuery(f"this view holds {self.lon.size:,} places, more than the {max_points:,} a request may "
                               f"look at one by one; {too_many}")
        return True

    def in_box(self, bbox: tuple[float, float, float, float], *, max_points: int,
               too_many: str = "zoom in") -> np.ndarray:
        """Positions of the points inside ``bbox`` (edges included); ``InvalidQuery`` past ``max_points``."""
        if self._holds_all(bbox, max_points=max_points, too_many=too_many):
            return np.arange(self.lon.size)
        _whole, starts, stops = self._descend(bbox, min_level=0, summaries=False, max_points=max_points,
                                              too_many=too_many)
        if self._most(starts, stops):
            return np.flatnonzero(self._inside(bbox))
        pos = np.concatenate([self.order[_gather(starts, stops)], self.odd])
        return pos[self._inside(bbox, pos)]

    def _most(self, starts: np.ndarray, stops: np.ndarray) -> bool:
        # A view holding more than an eighth of the points: one pass over them all in position order
        # reads memory in sequence, faster than gathering that many in cell order, and costs at most 8x the view.
        return int((stops - starts).sum()) * 8 > self.lon.size

    def _inside(self, bbox, positions=slice(None)) -> np.ndarray:
        minx, miny, maxx, maxy = bbox
        lon, lat = self.lon[positions], self.lat[positions]
        return (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)

    def clusters(self, bbox: tuple[float, float, float, float], *, zoom: int, ids: np.ndarray, keep=None,
                 max_points: int, too_many: str = "zoom in") -> tuple[int, list[GridCluster]]:
        """The points inside ``bbox`` grouped as ``grid_clusters`` groups them at ``zoom``, and how many there are:
        the same cells, counts, ids and boxes; the same means too, except that a cell answered from summaries
        adds its coordinates in another order (a difference far below the 6 decimals a mean is rounded to).

        ``keep`` (positions, or ``slice(None)`` for all → bool) filters points one by one; without it, cells
        wholly inside the view answer from their summaries, so a view costs its cells, not its points.
        """
        level = zoom + 2  # 64-px cells: 256·2^zoom px / 64 = 2^(zoom + 2) cells across the world
        assert CELL_PX == 64
        if keep is not None and self._holds_all(bbox, max_points=max_points, too_many=too_many):
            pos = np.flatnonzero(keep(slice(None)))
            return int(pos.size), grid_clusters(self.lon[pos], self.lat[pos], ids[pos], zoom=zoom)
        # with a filter, cells wholly in view are runs of places to check, so they need not be split to the view's cells
        whole, starts, stops = self._descend(bbox, min_level=level if keep is None else 0, summaries=keep is None,
                                             max_points=max_points, too_many=too_many)
        if not whole and self._most(starts, stops):
            mask = self._inside(bbox)
            if keep is not None:  # filters over every place as slices: faster than gathering most of them
                mask &= keep(slice(None))
            pos = np.flatnonzero(mask)
        else:
            pos = np.concatenate([self.order[_gather(starts, stops)], self.odd])
            pos = pos[self._inside(bbox, pos)]
            if keep is not None:
                pos = pos[keep(pos)]
            pos.sort()  # position order, as the straightforward path sums each cell's coordinates
        if not whole:  # every place taken one by one: the straightforward clustering of exactly those
            return int(pos.size), grid_clusters(self.lon[pos], self.lat[pos], ids[pos], zoom=zoom)
        lon, lat = self.lon[pos], self.lat[pos]
        cx, cy = _px_cells(lon, lat, zoom)
        parts = [(cx, cy, np.ones(pos.size, dtype=np.int64), lon, lat, np.column_stack([lon, lat, lon, lat]), pos)]
        for k, cells in whole:
            lv = self.levels[k]
            wx, wy = cell_xy(lv.keys[cells] >> np.uint64(2 * (k - level)))
            parts.append((wx, wy, lv.start[cells + 1] - lv.start[cells], lv.sum_lon[cells], lv.sum_lat[cells],
                          lv.box[cells], self.order[lv.start[cells]].astype(np.int64)))
        cx, cy, count, sx, sy, box, first = (np.concatenate([p[i] for p in parts]) for i in range(7))
        if count.size == 0:
            return 0, []
        keys = cx * (1 << 32) + cy
        order = np.argsort(keys, kind="stable")
        keys, count, sx, sy, box, first = keys[order], count[order], sx[order], sy[order], box[order], first[order]
        g = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        n = np.add.reduceat(count, g)
        mean_lon, mean_lat = np.add.reduceat(sx, g) / n, np.add.reduceat(sy, g) / n
        boxes = np.column_stack([np.minimum.reduceat(box[:, 0], g), np.minimum.reduceat(box[:, 1], g),
                                 np.maximum.reduceat(box[:, 2], g), np.maximum.reduceat(box[:, 3], g)])
        single = ids[first[g]].tolist()
        return int(n.sum()), [  # Python lists: one object per cluster is the cost here, so no numpy scalars
            GridCluster(lon=round(x, 6), lat=round(y, 6), count=c, id=i if c == 1 else None,
                        bbox=(round(b[0], 6), round(b[1], 6), round(b[2], 6), round(b[3], 6)))
            for x, y, c, i, b in zip(mean_lon.tolist(), mean_lat.tolist(), n.tolist(), single, boxes.tolist())]


def _px_cells(lon: np.ndarray, lat: np.ndarray, zoom: int) -> tuple[np.ndarray, np.ndarray]:
    x, y = mercator_px(lon, lat, zoom)
    return np.floor(x / CELL_PX).astype(np.int64), np.floor(y / CELL_PX).astype(np.int64)
