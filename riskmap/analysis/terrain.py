"""Downstream flow paths on a DEM: D8 steepest descent with pit handling.

From a start point (a tailings dam) the path moves each step to the one of the 8
neighbouring cells with the steepest drop (elevation difference over the metric distance
between cell centres). When no neighbour is lower — a pit (sink) or a flat, common in
DEMs and on reservoir surfaces — the depression is flooded locally (a priority flood, lowest
cell first, from the stuck cell) until its **spill point** is found: the first flooded cell
with an unvisited neighbour lower than the water level. The path crosses the depression to
that cell along the flood's tree and continues down from the neighbour beyond it, so a pit
never stops the trace. Cells once on the path or flooded are never re-entered, so the
trace always ends.

Only a window around each start point is read (radius ``1.5 × max_length`` plus a margin).
Lengths are measured in the analysis' metric CRS whatever the DEM's CRS.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from riskmap import crs as crs_policy
from riskmap.analysis.popgrid import cell_size_m, pixel_to_xy, read_window_around, xy_to_pixel

#: The 8 neighbours (row offset, column offset).
OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))

#: Why a trace ended.
STOP_REASONS = {
    "length": "达到追踪长度",
    "edge": "流出DEM范围",
    "nodata": "流入无数据区（水面或DEM缺失）",
    "pit": "洼地过大，未找到溢出点",
    "outside": "起点不在DEM范围内",
}


@dataclass
class FlowTrace:
    """A downstream path from one start point.

    Attributes
    ----------
    line : shapely.LineString or None
        The path in the metric CRS, from the start point, at most ``max_length`` long.
    length_m : float
        Its length.
    pits_crossed : int
        Pits or flats crossed through their spill point.
    stop : str
        Key of :data:`STOP_REASONS`.
    """

    line: object
    length_m: float
    pits_crossed: int
    stop: str


def _spill_path(z, start, visited, max_cells):
    """Flood the depression holding ``start``; return (status, cells from start to the outlet)."""
    nrow, ncol = z.shape
    level = z[start]
    heap = [(z[start], 0, start)]
    parent = {start: None}
    counter = 1

    def path_to(cell):
        out = []
        while cell is not None and cell != start:
            out.append(cell)
            cell = parent[cell]
        return out[::-1]

    while heap:
        zp, _, p = heapq.heappop(heap)
        level = max(level, zp)
        for dr, dc in OFFSETS:
            q = (p[0] + dr, p[1] + dc)
            if not (0 <= q[0] < nrow and 0 <= q[1] < ncol):
                return "edge", path_to(p)
            if q in parent or visited[q]:
                continue
            zq = z[q]
            if not math.isfinite(zq):
                return "nodata", path_to(p)
            if zq < level:
                return "ok", path_to(p) + [q]
            parent[q] = p
            heapq.heappush(heap, (zq, counter, q))
            counter += 1
        if len(parent) > max_cells:
            break
    return "pit", []


def _trace_cells(z, start, step_m, max_length_m, max_fill_cells):
    """Cells of the D8 path from ``start`` (row, col) until ``max_length_m`` (approximate metres)."""
    nrow, ncol = z.shape
    visited = np.zeros(z.shape, dtype=bool)
    visited[start] = True
    path = [start]
    length = 0.0
    pits = 0
    stop = "length"
    r, c = start
    while length < max_length_m:
        z0 = z[r, c]
        best, best_slope, at_edge = None, 0.0, False
        for k, (dr, dc) in enumerate(OFFSETS):
            rr, cc = r + dr, c + dc
            if not (0 <= rr < nrow and 0 <= cc < ncol):
                at_edge = True
                continue
            if visited[rr, cc]:
                continue
            zz = z[rr, cc]
            if not math.isfinite(zz):
                continue
            slope = (z0 - zz) / step_m[k]
            if slope > best_slope:
                best, best_slope = (rr, cc), slope
        if best is not None:
            cells = [best]
        else:
            if at_edge:
                stop = "edge"
                break
            status, cells = _spill_path(z, (r, c), visited, max_fill_cells)
            if status != "ok":
                stop = status
                path.extend(cells)
                break
            pits += 1
            # the flooded cells of this depression are not re-entered
        for cell in cells:
            prev = path[-1]
            k = OFFSETS.index((cell[0] - prev[0], cell[1] - prev[1])) if max(abs(cell[0] - prev[0]),
                                                                            abs(cell[1] - prev[1])) == 1 else None
            length += step_m[k] if k is not None else math.hypot(cell[0] - prev[0], cell[1] - prev[1]) * step_m[1]
            visited[cell] = True
            path.append(cell)
        r, c = path[-1]
    return path, pits, stop


def trace_downstream(dem, x: float, y: float, metric_crs, max_length_m: float = 1000.0, *,
                     max_fill_cells: int = 200_000) -> FlowTrace:
    """Steepest-descent (D8) flow path from a point, crossing pits at their spill points.

    Parameters
    ----------
    dem : str, Path or rasterio dataset
        Elevation raster (metres), any CRS.
    x, y : float
        Start point in ``metric_crs``.
    metric_crs
        CRS of the start point and of the returned line (metres).
    max_length_m : float
        Path length to trace (m).
    max_fill_cells : int
        Largest depression (cells) flooded while looking for a spill point.

    Returns
    -------
    FlowTrace
    """
    if isinstance(dem, (str, Path)):
        from riskmap.io import open_raster

        with open_raster(dem) as ds:
            return trace_downstream(ds, x, y, metric_crs, max_length_m, max_fill_cells=max_fill_cells)
    ds = dem
    rcrs = crs_policy.parse_crs(ds.crs.to_wkt())
    rx, ry = crs_policy.transform_xy([x], [y], metric_crs, rcrs)
    dx_m, dy_m = cell_size_m(ds, metric_crs, at_xy=(float(rx[0]), float(ry[0])))
    reach = 1.5 * max_length_m + 3 * max(dx_m, dy_m)
    z, wt = read_window_around(ds, (x - reach, y - reach, x + reach, y + reach), metric_crs)
    if z is None:
        return FlowTrace(None, 0.0, 0, "outside")
    col, row = (float(v) for v in xy_to_pixel(wt, float(rx[0]), float(ry[0])))
    r, c = int(math.floor(row)), int(math.floor(col))
    if not (0 <= r < z.shape[0] and 0 <= c < z.shape[1]) or not math.isfinite(z[r, c]):
        return FlowTrace(None, 0.0, 0, "outside")
    step_m = [math.hypot(dr * dy_m, dc * dx_m) for dr, dc in OFFSETS]
    cells, pits, stop = _trace_cells(z, (r, c), step_m, max_length_m, max_fill_cells)
    rows = np.array([p[0] for p in cells[1:]], dtype=float)
    cols = np.array([p[1] for p in cells[1:]], dtype=float)
    cx, cy = pixel_to_xy(wt, cols + 0.5, rows + 0.5)
    mx, my = crs_policy.transform_xy(cx, cy, rcrs, metric_crs)
    xs = np.concatenate([[x], np.atleast_1d(mx)])
    ys = np.concatenate([[y], np.atleast_1d(my)])
    if len(xs) < 2:
        return FlowTrace(None, 0.0, pits, stop)
    line = shapely.LineString(np.column_stack([xs, ys]))
    if line.length > max_length_m:
        from shapely.ops import substring

        line = substring(line, 0.0, max_length_m)
        stop = "length"
    elif stop == "length":
        stop = "length" if line.length >= max_length_m - 1e-6 else stop
    return FlowTrace(line, float(line.length), pits, stop)


def azimuth_line(x: float, y: float, azimuth_deg: float, length_m: float = 1000.0):
    """A straight downstream line from (x, y) towards ``azimuth_deg`` (clockwise from grid north), metric CRS."""
    a = math.radians(float(azimuth_deg))
    return shapely.LineString([(x, y), (x + length_m * math.sin(a), y + length_m * math.cos(a))])


def trace_many(dem, xs, ys, metric_crs, max_length_m: float = 1000.0, *, max_fill_cells: int = 200_000,
               progress=None) -> list[FlowTrace]:
    """:func:`trace_downstream` for many start points, opening the DEM once (a window per point)."""
    if isinstance(dem, (str, Path)):
        from riskmap.io import open_raster

        with open_raster(dem) as ds:
            return trace_many(ds, xs, ys, metric_crs, max_length_m, max_fill_cells=max_fill_cells,
                              progress=progress)
    out = []
    n = len(xs)
    for i, (x, y) in enumerate(zip(xs, ys)):
        if progress is not None:
            progress(i / max(n, 1), "下游流向追踪")
        out.append(trace_downstream(dem, float(x), float(y), metric_crs, max_length_m,
                                    max_fill_cells=max_fill_cells))
    return out
