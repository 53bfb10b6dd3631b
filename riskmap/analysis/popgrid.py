"""Population raster sampled as weighted sub-cell points near a geometry.

Corridor sums along pipelines and downstream of tailings dams need the people inside
buffers a few cells wide, where counting whole cells by their centre is badly off
(a 100 m cell against a 200 m half-width). Each raster cell near the geometry is split
into k×k sub-cells of about ``subcell_m`` metres carrying 1/k² of its value; the
sub-cell centres, in the analysis' metric CRS, can then be tested against polygons or
assigned to the nearest stretch of a line with whole-array shapely calls. Only the
raster window around the geometry is read.
"""
from __future__ import annotations

import math

import numpy as np
import shapely

from riskmap import crs as crs_policy
from riskmap.errors import CRSError
from riskmap.i18n import tr


def pixel_to_xy(t, cols, rows):
    """Raster coordinates of pixel positions (column, row; 0.5 = cell centre) under affine ``t``."""
    cols = np.asarray(cols, dtype=float)
    rows = np.asarray(rows, dtype=float)
    return t.c + t.a * cols + t.b * rows, t.f + t.d * cols + t.e * rows


def xy_to_pixel(t, x, y):
    """Inverse of :func:`pixel_to_xy`: (column, row) of raster coordinates."""
    return pixel_to_xy(~t, x, y)


def _raster_crs(ds):
    if ds.crs is None:
        raise CRSError(tr("栅格没有坐标系，请为其添加坐标系", "the raster has no coordinate reference system; add one"),
                       getattr(ds, "name", None))
    return crs_policy.parse_crs(ds.crs.to_wkt())


def cell_size_m(ds, metric_crs, at_xy=None) -> tuple[float, float]:
    """Width and height (m) of a raster cell near ``at_xy`` (raster CRS; the raster centre by default)."""
    t = ds.transform
    if at_xy is None:
        cx, cy = (float(v) for v in pixel_to_xy(t, ds.width / 2.0, ds.height / 2.0))
    else:
        cx, cy = at_xy
    xs = np.array([cx, cx + t.a, cx + t.b])
    ys = np.array([cy, cy + t.d, cy + t.e])
    mx, my = crs_policy.transform_xy(xs, ys, _raster_crs(ds), metric_crs)
    return float(math.hypot(mx[1] - mx[0], my[1] - my[0])), float(math.hypot(mx[2] - mx[0], my[2] - my[0]))


def read_window_around(ds, bounds_metric, metric_crs, band: int = 1):
    """Read the raster window covering ``bounds_metric`` (minx, miny, maxx, maxy in the metric CRS).

    Returns
    -------
    (data, window_transform) or (None, None)
        ``data`` is a float64 array with NaN for nodata; None when the bounds miss the raster.
    """
    from rasterio.windows import Window, from_bounds

    rcrs = _raster_crs(ds)
    if rcrs == crs_policy.parse_crs(metric_crs):
        rb = bounds_metric
    else:
        rb = crs_policy.transformer(metric_crs, rcrs).transform_bounds(*bounds_metric, densify_pts=11)
    win = from_bounds(*rb, transform=ds.transform)
    col0 = max(int(math.floor(win.col_off)), 0)
    row0 = max(int(math.floor(win.row_off)), 0)
    col1 = min(int(math.ceil(win.col_off + win.width)), ds.width)
    row1 = min(int(math.ceil(win.row_off + win.height)), ds.height)
    if col1 <= col0 or row1 <= row0:
        return None, None
    window = Window(col0, row0, col1 - col0, row1 - row0)
    data = ds.read(band, window=window, masked=True).astype("float64").filled(np.nan)
    return data, ds.window_transform(window)


def subcells_near(ds, geom_metric, metric_crs, distance_m: float, subcell_m: float = 20.0, *,
                  return_cells: bool = False):
    """Population sub-cell points within reach of a geometry.

    Parameters
    ----------
    ds : rasterio dataset
        Population raster (persons per cell; nodata and negatives count as 0).
    geom_metric : shapely geometry
        Line(s) or polygon(s) in ``metric_crs``.
    metric_crs
        The analysis' metric CRS.
    distance_m : float
        Cells whose centre lies within this distance plus half a cell diagonal are split.
    subcell_m : float
        Target sub-cell size (m).
    return_cells : bool
        Also return the centres of the split cells and, per sub-cell, the index of its cell.

    Returns
    -------
    xy : ndarray (N, 2)
        Sub-cell centres in the metric CRS.
    weight : ndarray (N,)
        Persons carried by each sub-cell.
    cell_xy : ndarray (M, 2), cell_of : ndarray (N,)
        Only with ``return_cells``.
    """
    empty = (np.zeros((0, 2)), np.zeros(0))
    if return_cells:
        empty = empty + (np.zeros((0, 2)), np.zeros(0, dtype=np.int64))
    if geom_metric is None or shapely.is_empty(geom_metric):
        return empty
    dx_m, dy_m = cell_size_m(ds, metric_crs)
    half_diag = 0.5 * math.hypot(dx_m, dy_m)
    reach = distance_m + half_diag
    minx, miny, maxx, maxy = shapely.bounds(geom_metric)
    data, wt = read_window_around(ds, (minx - reach - dx_m, miny - reach - dy_m, maxx + reach + dx_m,
                                       maxy + reach + dy_m), metric_crs)
    if data is None:
        return empty
    data = np.where(np.isfinite(data) & (data > 0), data, 0.0)
    rows, cols = np.nonzero(data)
    if rows.size == 0:
        return empty
    rcrs = _raster_crs(ds)
    cx, cy = pixel_to_xy(wt, cols + 0.5, rows + 0.5)
    mx, my = crs_policy.transform_xy(cx, cy, rcrs, metric_crs)
    shapely.prepare(geom_metric)
    near = shapely.dwithin(geom_metric, shapely.points(mx, my), reach)
    rows, cols, mx, my = rows[near], cols[near], mx[near], my[near]
    if rows.size == 0:
        return empty
    k = max(1, int(math.ceil(max(dx_m, dy_m) / subcell_m)))
    offsets = (np.arange(k) + 0.5) / k
    oc, orow = np.meshgrid(offsets, offsets)
    sub_c = (cols[:, None] + oc.ravel()[None, :]).ravel()
    sub_r = (rows[:, None] + orow.ravel()[None, :]).ravel()
    sx, sy = pixel_to_xy(wt, sub_c, sub_r)
    sx, sy = crs_policy.transform_xy(sx, sy, rcrs, metric_crs)
    weight = np.repeat(data[rows, cols] / (k * k), k * k)
    if return_cells:
        return np.column_stack([sx, sy]), weight, np.column_stack([mx, my]), np.repeat(np.arange(rows.size), k * k)
    return np.column_stack([sx, sy]), weight


def polygon_population(ds, polygons_metric, metric_crs, subcell_m: float = 10.0, progress=None) -> np.ndarray:
    """People inside each polygon (metric CRS), from sub-cell sampling of the population raster.

    Each polygon reads only its own raster window. Returns an array of sums (0 for empty
    or missing polygons).
    """
    polys = np.asarray(polygons_metric, dtype=object)
    sums = np.zeros(len(polys))
    for i, poly in enumerate(polys):
        if progress is not None:
            progress(i / max(len(polys), 1), tr("人口统计", "population"))
        if poly is None or shapely.is_empty(poly):
            continue
        xy, w = subcells_near(ds, poly, metric_crs, 0.0, subcell_m)
        if w.size:
            inside = shapely.intersects_xy(poly, xy[:, 0], xy[:, 1])
            sums[i] = float(w[inside].sum())
    return sums
