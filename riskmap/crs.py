"""The one CRS policy of riskmap.

- Every layer has a CRS; a file without one is a :class:`~riskmap.errors.CRSError`
  unless the user names one.
- Display is in one map CRS, CGCS2000 longitude/latitude (EPSG:4490) by default.
- Distances, areas and buffers are computed in a local metric CRS chosen from the
  data: the CGCS2000 3-degree Gauss–Krüger zone when the data sit close to its
  central meridian, otherwise a transverse Mercator centred on the data.
- GCJ-02 (AMap, Tencent) and BD-09 (Baidu) coordinates are converted to WGS84 on
  import; CGCS2000 and WGS84 are treated as identical (they differ by centimetres).
"""
from __future__ import annotations

import threading
from typing import Iterable

import numpy as np
import shapely
import pyproj.network
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as _ProjCRSError

from riskmap.errors import CRSError
from riskmap.i18n import tr

pyproj.network.set_network_enabled(False)  # offline: no PROJ CDN grids (see riskmap.offline)

MAP_CRS = CRS.from_epsg(4490)  # CGCS2000 geographic
WGS84 = CRS.from_epsg(4326)

#: Longitude offset (deg) beyond which a 3° Gauss–Krüger zone is replaced by a
#: transverse Mercator on the data's centre, keeping scale error under ~0.05 %.
GK_MAX_OFFSET_DEG = 2.0

#: pyproj CRS objects are not thread-safe: a CRS made on one thread and used on another
#: (e.g. the project's map CRS inside a render worker) can crash PROJ. Every use of a
#: possibly shared CRS object goes through this lock; transformers are cached per thread.
PROJ_LOCK = threading.RLock()
_thread_local = threading.local()

#: Names users may give for the Chinese offset coordinate systems.
OFFSET_SYSTEMS = {
    "gcj02": "gcj02", "gcj-02": "gcj02", "amap": "gcj02", "gaode": "gcj02", "高德": "gcj02",
    "tencent": "gcj02", "腾讯": "gcj02", "火星": "gcj02",
    "bd09": "bd09", "bd-09": "bd09", "baidu": "bd09", "百度": "bd09",
}


def parse_crs(value, source: str | None = None) -> CRS:
    """Turn a user's CRS (EPSG code, 'EPSG:4490', WKT, PROJ string or CRS) into a CRS.

    Raises
    ------
    CRSError
        If the value is empty or not understood.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CRSError(tr("未指定坐标系，请指定一个，如 EPSG:4490",
                          "no coordinate reference system given; name one, e.g. EPSG:4490"), source)
    if isinstance(value, CRS):
        return value
    try:
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            return CRS.from_epsg(int(value))
        return CRS.from_user_input(value)
    except (_ProjCRSError, TypeError, ValueError) as exc:
        raise CRSError(tr(f"无法识别坐标系“{value}”，请使用如 EPSG:4490 的写法",
                          f"unknown coordinate reference system {value!r}; use e.g. EPSG:4490"), source) from exc


def crs_wkt(value) -> str:
    """WKT of a CRS given in any form; safe to call from any thread."""
    if isinstance(value, str) and value.lstrip().startswith(("GEOGCRS", "PROJCRS", "BOUNDCRS", "COMPOUNDCRS")):
        return value
    with PROJ_LOCK:
        return parse_crs(value).to_wkt()


def same_crs(a, b) -> bool:
    """True if two CRSs are the same; safe to call from any thread."""
    if a is b:
        return True
    with PROJ_LOCK:
        return parse_crs(a) == parse_crs(b)


def transformer(src, dst) -> Transformer:
    """An always-x/y (lon, lat order) transformer between two CRSs, cached per thread."""
    key = (crs_wkt(src), crs_wkt(dst))
    cache = getattr(_thread_local, "transformers", None)
    if cache is None:
        cache = _thread_local.transformers = {}
    tr = cache.get(key)
    if tr is None:
        a, b = CRS.from_wkt(key[0]), CRS.from_wkt(key[1])
        # the same CRSs written differently (a GeoTIFF's WKT, a GeoPackage's): reuse that transformer,
        # creating one searches PROJ's database (~0.05–0.1 s)
        same = getattr(_thread_local, "transformer_crs", None)
        if same is None:
            same = _thread_local.transformer_crs = []
        tr = next((t for sa, sb, t in same if sa == a and sb == b), None)
        if tr is None:
            definition = _PIPELINES.get(key)
            if definition:
                tr = Transformer.from_pipeline(definition)
            else:
                sa, sb = _cgcs2000_for_wgs84(a, b)
                tr = Transformer.from_crs(sa, sb, always_xy=True)
            same.append((a, b, tr))
        # one concrete operation (not several PROJ picks from per point): its pipeline, a string, serves
        # the other threads; building from it skips the database search
        if key not in _PIPELINES and tr.definition.startswith("proj="):
            _PIPELINES[key] = tr.definition
        cache[key] = tr
    return tr


def _cgcs2000_for_wgs84(a: CRS, b: CRS) -> tuple[CRS, CRS]:
    """The pair to ask PROJ for: WGS84 lon/lat on one side and a CGCS2000 CRS on the other become
    CGCS2000 lon/lat (EPSG:4490) and that CRS.

    riskmap treats the two datums as one (module docstring), and so does PROJ: it has no transformation
    between them and answers with a "ballpark" null shift (the same pipeline, tested) — after a search of
    its database that costs ~0.045 s for every such pair on every thread, against 0.2 ms without.
    """
    def wgs84_lonlat(crs):
        return crs.is_geographic and len(crs.axis_info) == 2 and crs.datum is not None and \
            crs.datum.name.startswith("World Geodetic System 1984")

    def cgcs2000(crs):
        return crs.datum is not None and crs.datum.name == "China 2000"

    # a fresh CRS object: CRS objects are not shared between threads
    if wgs84_lonlat(a) and cgcs2000(b):
        return CRS.from_epsg(4490), b
    if cgcs2000(a) and wgs84_lonlat(b):
        return a, CRS.from_epsg(4490)
    return a, b


#: ``{(source WKT, target WKT): PROJ pipeline}`` of the transformers made so far, shared by all threads.
_PIPELINES: dict = {}


def transform_xy(x, y, src, dst):
    """Transform coordinate arrays from ``src`` to ``dst`` (x/y order)."""
    if same_crs(src, dst):
        return np.asarray(x, float), np.asarray(y, float)
    return transformer(src, dst).transform(np.asarray(x, float), np.asarray(y, float))


#: Coordinates transformed per call of :func:`transform_geometries` (bounds its working memory to ~100 MB).
TRANSFORM_CHUNK_COORDS = 1 << 22


def transform_geometries(geoms, src, dst):
    """Transform a shapely geometry array between CRSs (whole-array, in chunks of ~4 M coordinates)."""
    if same_crs(src, dst):
        return geoms
    tr = transformer(src, dst)

    def _fn(coords):
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    arr = np.asarray(geoms)
    if arr.ndim != 1 or arr.size < 2:
        return shapely.transform(geoms, _fn)
    counts = np.cumsum(shapely.get_num_coordinates(arr))
    if counts[-1] <= TRANSFORM_CHUNK_COORDS:
        return shapely.transform(arr, _fn)
    # the coordinates, their transformed copy and the new geometries of one chunk at a time
    cuts = np.unique(np.searchsorted(counts, np.arange(TRANSFORM_CHUNK_COORDS, counts[-1], TRANSFORM_CHUNK_COORDS)))
    out = np.empty(arr.size, dtype=object)
    for lo, hi in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [arr.size]])):
        if hi > lo:
            out[lo:hi] = shapely.transform(arr[lo:hi], _fn)
    return out


#: Largest half-extent (m) of a geometry that :func:`transform_compact_geometries` maps by its local
#: second-order expansion. Measured against PROJ (3° Gauss–Krüger to lon/lat, 32–45°N, 257-vertex
#: circles): 0.01 mm at 1 km, 1.5–2.7 mm at 5 km, 1.2–2.2 cm at 10 km.
COMPACT_MAX_HALF_EXTENT_M = 5_000.0
#: A geometry whose check points miss PROJ's result by more than this (m) is transformed exactly.
COMPACT_TOLERANCE_M = 0.005
#: Vertices mapped per piece (the temporaries of a piece stay small: no fresh memory pages per array).
COMPACT_PIECE_COORDS = 1 << 15
# the 3 × 3 stencil (unit offsets, row-major in y then x) and two check points off the stencil
_STENCIL_X = np.array([-1.0, 0.0, 1.0, -1.0, 0.0, 1.0, -1.0, 0.0, 1.0, 0.6, -0.8])
_STENCIL_Y = np.array([-1.0, -1.0, -1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.8, 0.6])


def _quadratic_coefficients(f: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Coefficients ``c0, cx, cy, cxx, cyy, cxy`` (rows) of the second-order expansion of one output
    coordinate from its values ``f`` (n × 9) on the 3 × 3 stencil (central differences at ± h)."""
    h2 = h * h
    return np.stack([
        f[:, 4],
        (f[:, 5] - f[:, 3]) / (2 * h),
        (f[:, 7] - f[:, 1]) / (2 * h),
        (f[:, 5] - 2 * f[:, 4] + f[:, 3]) / (2 * h2),
        (f[:, 7] - 2 * f[:, 4] + f[:, 1]) / (2 * h2),
        (f[:, 8] - f[:, 6] - f[:, 2] + f[:, 0]) / (4 * h2),
    ])


def _evaluate(c, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    return c[0] + dx * (c[1] + c[3] * dx + c[5] * dy) + dy * (c[2] + c[4] * dy)


def _local_expansions(src, dst, cx, cy, h):
    """Second-order expansions of ``src → dst`` about each centre, for offsets up to ``h`` metres.

    Returns ``(cu, cv, ok)``: the coefficients of the target x and y (6 × n each) and whether each
    expansion can be used — its stencil transformed to finite values, ``h`` within
    :data:`COMPACT_MAX_HALF_EXTENT_M`, and both check points within :data:`COMPACT_TOLERANCE_M`
    of PROJ (the miss turned into metres by the local scale of the transformation).
    """
    n = len(cx)
    sx = cx[:, None] + h[:, None] * _STENCIL_X
    sy = cy[:, None] + h[:, None] * _STENCIL_Y
    with np.errstate(all="ignore"):
        tx, ty = transformer(src, dst).transform(sx.ravel(), sy.ravel())
        tx, ty = np.asarray(tx).reshape(n, -1), np.asarray(ty).reshape(n, -1)
        cu, cv = _quadratic_coefficients(tx, h), _quadratic_coefficients(ty, h)
        scale = np.sqrt(np.abs(cu[1] * cv[2] - cu[2] * cv[1]))
        miss = np.zeros(n)
        for k in (9, 10):
            dx, dy = _STENCIL_X[k] * h, _STENCIL_Y[k] * h
            miss = np.maximum(miss, np.hypot(_evaluate(cu, dx, dy) - tx[:, k], _evaluate(cv, dx, dy) - ty[:, k]))
        ok = (np.isfinite(tx).all(axis=1) & np.isfinite(ty).all(axis=1) & (scale > 0)
              & (h <= COMPACT_MAX_HALF_EXTENT_M) & (miss <= COMPACT_TOLERANCE_M * scale))
    return cu, cv, ok


def _pieces(counts: np.ndarray):
    """``(lo, hi)`` ranges of consecutive geometries holding about :data:`COMPACT_PIECE_COORDS` vertices."""
    ends = np.cumsum(counts)
    cuts = np.unique(np.searchsorted(ends, np.arange(0, ends[-1], COMPACT_PIECE_COORDS), side="right"))
    return [(lo, hi) for lo, hi in zip(cuts, [*cuts[1:], len(counts)]) if hi > lo]


def _is_metric(crs) -> bool:
    with PROJ_LOCK:
        parsed = parse_crs(crs)
        return parsed.is_projected and parsed.axis_info[0].unit_name in ("metre", "meter")


def transform_compact_geometries(geoms, src, dst):
    """Transform geometries that are small in a metric CRS (safety zones, site outlines) into another CRS.

    Each geometry's vertices are mapped by the second-order Taylor expansion of the ``src → dst``
    transformation about the centre of its bounding box, fitted by central differences on a 3 × 3
    stencil of points (at ± the half-extent) that PROJ transforms exactly: 11 PROJ points per geometry
    instead of one per vertex. The result is checked, not assumed: two more points per geometry are
    transformed exactly and compared with the expansion; a geometry that misses by more than
    :data:`COMPACT_TOLERANCE_M` (or is larger than :data:`COMPACT_MAX_HALF_EXTENT_M`, or has Z, or a
    stencil PROJ cannot transform) is transformed exactly by :func:`transform_geometries`.

    Parameters
    ----------
    geoms : array_like of shapely geometries
        In ``src``; when ``src`` is not a projected CRS in metres everything is transformed exactly.
    src, dst : CRS
        Source and target CRSs.

    Returns
    -------
    numpy.ndarray of shapely geometries
        In ``dst``; each vertex within :data:`COMPACT_TOLERANCE_M` of PROJ's own transformation.
    """
    arr = np.asarray(geoms, dtype=object)
    if same_crs(src, dst):
        return arr
    if not _is_metric(src) or arr.ndim != 1 or arr.size == 0:
        return np.asarray(transform_geometries(arr, src, dst), dtype=object)
    out = arr.copy()
    bounds = shapely.bounds(arr)
    cx, cy = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
    h = np.maximum(np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]) / 2, 1.0)
    compact = np.isfinite(bounds).all(axis=1) & (h <= COMPACT_MAX_HALF_EXTENT_M) & ~shapely.has_z(arr)
    idx = np.flatnonzero(compact)
    if idx.size:
        cu, cv, ok = _local_expansions(src, dst, cx[idx], cy[idx], h[idx])
        good = idx[ok]
        cu, cv = cu[:, ok], cv[:, ok]
        counts = shapely.get_num_coordinates(arr[good])
        for lo, hi in (_pieces(counts) if good.size else []):
            part = arr[good[lo:hi]].copy()
            coords = shapely.get_coordinates(part)
            # a geometry's vertices are contiguous: its values repeated, not gathered
            k = counts[lo:hi]
            dx = coords[:, 0] - np.repeat(cx[good[lo:hi]], k)
            dy = coords[:, 1] - np.repeat(cy[good[lo:hi]], k)
            coords[:, 0] = _evaluate([np.repeat(c[lo:hi], k) for c in cu], dx, dy)
            coords[:, 1] = _evaluate([np.repeat(c[lo:hi], k) for c in cv], dx, dy)
            out[good[lo:hi]] = shapely.set_coordinates(part, coords)
        compact[idx[~ok]] = False
    rest = np.flatnonzero(~compact & ~shapely.is_missing(arr))
    if rest.size:
        out[rest] = transform_geometries(arr[rest], src, dst)
    return out


def circles_in_crs(x, y, radius, src, dst, quad_segs: int = 64) -> np.ndarray:
    """Circles of ``radius`` metres about points of a metric CRS, as polygons in another CRS.

    The same polygons as ``shapely.buffer(points, radius, quad_segs)`` followed by
    :func:`transform_compact_geometries` (``4·quad_segs + 1`` vertices from angle 0 clockwise, as GEOS
    makes them), without building the metric polygons: each vertex is placed by the circle's local
    second-order expansion of the transformation (within :data:`COMPACT_TOLERANCE_M` of PROJ, checked per
    circle); circles the expansion does not serve are buffered and transformed exactly.

    Parameters
    ----------
    x, y : array_like
        Centres in ``src`` (a projected CRS in metres).
    radius : float or array_like
        Radius per circle (m), > 0.
    src, dst : CRS
        Source and target CRSs.
    quad_segs : int
        Segments per quarter circle.

    Returns
    -------
    numpy.ndarray of shapely Polygons
        In ``dst``.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    r = np.broadcast_to(np.asarray(radius, float), x.shape).astype(float)
    n = x.size
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    angles = -np.arange(4 * quad_segs + 1) * (np.pi / (2 * quad_segs))
    unit_x, unit_y = np.cos(angles), np.sin(angles)
    unit_x[-1], unit_y[-1] = unit_x[0], unit_y[0]
    if same_crs(src, dst) or not _is_metric(src):
        ok = np.zeros(n, bool)
    else:
        cu, cv, ok = _local_expansions(src, dst, x, y, np.maximum(r, 1.0))
        ok &= np.isfinite(x) & np.isfinite(y) & (r > 0)
    good = np.flatnonzero(ok)
    step = max(1, COMPACT_PIECE_COORDS // unit_x.size)
    for lo in range(0, good.size, step):
        sel = good[lo:lo + step]
        dx, dy = r[sel, None] * unit_x, r[sel, None] * unit_y
        ring = np.empty(dx.shape + (2,))
        ring[..., 0] = _evaluate([c[sel, None] for c in cu], dx, dy)
        ring[..., 1] = _evaluate([c[sel, None] for c in cv], dx, dy)
        out[sel] = shapely.polygons(ring)
    rest = np.flatnonzero(~ok)
    if rest.size:
        metric = shapely.buffer(shapely.points(x[rest], y[rest]), r[rest], quad_segs=quad_segs)
        out[rest] = transform_geometries(metric, src, dst)
    return out


def is_geographic(crs) -> bool:
    """True if the CRS has angular (degree) coordinates; safe to call from any thread."""
    with PROJ_LOCK:
        return parse_crs(crs).is_geographic


def gauss_kruger_zone_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3° Gauss–Krüger CRS (CM, no zone prefix) for a longitude.

    EPSG:4534 is CM 75°E, increasing by one per 3° up to EPSG:4554 at CM 135°E.
    """
    cm = int(round(lon / 3.0)) * 3
    cm = min(max(cm, 75), 135)
    return 4534 + (cm - 75) // 3


def metric_crs_for_bounds(bounds: Iterable[float], crs=MAP_CRS) -> CRS:
    """Local metric CRS for data with ``bounds`` (minx, miny, maxx, maxy) in ``crs``.

    The 3° Gauss–Krüger zone of CGCS2000 when the whole extent lies within
    :data:`GK_MAX_OFFSET_DEG` of its central meridian, else a transverse Mercator
    on the GRS80 ellipsoid centred on the data. Either keeps distances within 0.1 % of
    geodesic ones for a city- or province-sized area anywhere in China.
    """
    crs = parse_crs(crs)
    minx, miny, maxx, maxy = [float(v) for v in bounds]
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        raise CRSError(tr("范围为空或含无效数值，无法选定米制坐标系",
                          "cannot choose a metric CRS for empty or non-finite bounds"))
    if not crs.is_geographic:
        if crs.axis_info and crs.axis_info[0].unit_name in ("metre", "meter"):
            return crs
        xs, ys = transform_xy([minx, maxx, minx, maxx], [miny, miny, maxy, maxy], crs, MAP_CRS)
        minx, maxx, miny, maxy = min(xs), max(xs), min(ys), max(ys)
    lon_c = (minx + maxx) / 2.0
    epsg = gauss_kruger_zone_epsg(lon_c)
    cm = 75 + (epsg - 4534) * 3
    if max(abs(minx - cm), abs(maxx - cm)) <= GK_MAX_OFFSET_DEG:
        return CRS.from_epsg(epsg)
    return CRS.from_proj4(
        f"+proj=tmerc +lat_0=0 +lon_0={lon_c:.4f} +k=1 +x_0=500000 +y_0=0 "
        f"+ellps=GRS80 +units=m +no_defs +type=crs"
    )


def metric_crs_for(gdf) -> CRS:
    """Local metric CRS for a GeoDataFrame/GeoSeries (see :func:`metric_crs_for_bounds`)."""
    if gdf.crs is None:
        raise CRSError(tr("图层没有坐标系，请指定一个，如 EPSG:4490",
                          "layer has no coordinate reference system; name one, e.g. EPSG:4490"))
    return metric_crs_for_bounds(gdf.total_bounds, gdf.crs)


def to_metric(gdf, metric_crs=None):
    """Return ``(gdf_in_metric_crs, metric_crs)``; the CRS is chosen from the data if not given."""
    metric_crs = metric_crs or metric_crs_for(gdf)
    return gdf.to_crs(metric_crs), metric_crs


# ---------------------------------------------------------------------------
# GCJ-02 / BD-09 ("Mars" coordinates used by AMap, Tencent and Baidu maps)
# ---------------------------------------------------------------------------
_GCJ_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 obfuscation
_GCJ_EE = 0.00669342162296594323
_BD_XPI = np.pi * 3000.0 / 180.0


def _outside_china(lon, lat):
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def inside_china(lon, lat):
    """Whether lon/lat points lie in the box where GCJ-02 shifts coordinates (array of bool)."""
    return ~_outside_china(np.asarray(lon, float), np.asarray(lat, float))


def _gcj_delta(lon, lat):
    x = lon - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = _outside_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon, lat):
    """Forward GCJ-02 obfuscation of WGS84 lon/lat arrays (no shift outside China)."""
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat, tol_deg: float = 1e-9, max_iter: int = 30):
    """Invert GCJ-02 to WGS84 by fixed-point iteration (accurate to about 0.1 mm)."""
    glon = np.asarray(lon, float)
    glat = np.asarray(lat, float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = flon - glon, flat - glat
        wlon = wlon - elon
        wlat = wlat - elat
        if np.all(np.abs(elon) < tol_deg) and np.all(np.abs(elat) < tol_deg):
            break
    return wlon, wlat


def gcj02_to_bd09(lon, lat):
    """GCJ-02 to Baidu BD-09."""
    x = np.asarray(lon, float)
    y = np.asarray(lat, float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _BD_XPI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_XPI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat, tol_deg: float = 1e-10, max_iter: int = 30):
    """Baidu BD-09 to GCJ-02 (closed-form start, refined by iteration)."""
    blon = np.asarray(lon, float)
    blat = np.asarray(lat, float)
    x = blon - 0.0065
    y = blat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_XPI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_XPI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(max_iter):
        flon, flat = gcj02_to_bd09(glon, glat)
        elon, elat = flon - blon, flat - blat
        glon, glat = glon - elon, glat - elat
        if np.all(np.abs(elon) < tol_deg) and np.all(np.abs(elat) < tol_deg):
            break
    return glon, glat


def wgs84_to_bd09(lon, lat):
    """WGS84 to Baidu BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """Baidu BD-09 to WGS84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def normalise_offset_system(name: str | None) -> str | None:
    """'AMap', '高德', 'GCJ-02' → 'gcj02'; 'Baidu', 'BD-09' → 'bd09'; other → None."""
    if not name:
        return None
    return OFFSET_SYSTEMS.get(str(name).strip().lower())


def _offset_fn(system: str, inverse: bool):
    system = normalise_offset_system(system) or system
    table = {
        ("gcj02", False): wgs84_to_gcj02, ("gcj02", True): gcj02_to_wgs84,
        ("bd09", False): wgs84_to_bd09, ("bd09", True): bd09_to_wgs84,
    }
    if (system, inverse) not in table:
        raise CRSError(tr(f"未知的偏移坐标系“{system}”，请使用 gcj02 或 bd09",
                          f"unknown offset coordinate system {system!r}; use gcj02 or bd09"))
    return table[(system, inverse)]


def offset_system_from_pairs(lon, lat, ref_lon, ref_lat, tolerance_m: float = 30.0):
    """Which offset system puts points (lon, lat) onto the same features' known WGS84 positions.

    GCJ-02's shift is not constant, but at any place it has one size and direction (300–700 m in
    central China), so one pair can tell: the points are GCJ-02 (or BD-09) when their raw distance
    to the references is over 100 m and shifting them back brings the median distance under
    ``tolerance_m``.

    Returns
    -------
    (system or None, raw median m, shifted median m)
    """
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    ref_lon, ref_lat = np.asarray(ref_lon, float), np.asarray(ref_lat, float)
    if lon.size == 0:
        return None, float("nan"), float("nan")
    g = geod()
    raw = float(np.median(g.inv(lon, lat, ref_lon, ref_lat)[2]))
    best, best_d = None, float("inf")
    for system in ("gcj02", "bd09"):
        x, y = _offset_fn(system, inverse=True)(lon, lat)
        d = float(np.median(g.inv(x, y, ref_lon, ref_lat)[2]))
        if d < best_d:
            best, best_d = system, d
    if raw > 100.0 and best_d <= tolerance_m:
        return best, raw, best_d
    return None, raw, best_d


def offset_geometries_to_wgs84(geoms, system: str):
    """Convert a geometry array in GCJ-02 or BD-09 lon/lat to WGS84 (whole-array)."""
    fn = _offset_fn(system, inverse=True)
    return shapely.transform(geoms, lambda c: np.column_stack(fn(c[:, 0], c[:, 1])))


def wgs84_geometries_to_offset(geoms, system: str):
    """Shift WGS84 lon/lat geometries into GCJ-02 or BD-09 (e.g. to overlay AMap tiles)."""
    fn = _offset_fn(system, inverse=False)
    return shapely.transform(geoms, lambda c: np.column_stack(fn(c[:, 0], c[:, 1])))


# ---------------------------------------------------------------------------------------
# geodesy: ground distances on the CGCS2000 ellipsoid
# ---------------------------------------------------------------------------------------
_geod_lock = threading.Lock()
_geod = None


def geod():
    """The CGCS2000 ellipsoid as a ``pyproj.Geod`` (GRS80: differs by 0.1 mm in the semi-minor axis)."""
    global _geod
    with _geod_lock:
        if _geod is None:
            from pyproj import Geod

            _geod = Geod(ellps="GRS80")
        return _geod


def metres_per_pixel(extent, width: int, map_crs=MAP_CRS, geographic: bool | None = None) -> float:
    """Ground metres per device pixel along the parallel through the view centre (geodesic).

    ``extent`` is in ``map_crs`` and drawn ``width`` pixels wide; ``geographic=True`` says
    the map CRS is longitude/latitude already (no transform).
    """
    minx, miny, maxx, maxy = extent
    cy = (miny + maxy) / 2.0
    cx = (minx + maxx) / 2.0
    half = (maxx - minx) / 4.0
    xs = np.array([cx - half, cx + half])
    ys = np.array([cy, cy])
    if geographic is None:
        geographic = is_geographic(map_crs)
    if geographic:
        lon, lat = xs, ys
    else:
        lon, lat = transform_xy(xs, ys, map_crs, MAP_CRS)
    _, _, dist = geod().inv(lon[0], lat[0], lon[1], lat[1])
    return float(dist) / max(width / 2.0, 1e-9)


def format_distance(metres: float, *, round_length: bool = False) -> str:
    """A distance for people: metres below a kilometre, kilometres from one up.

    Measured distances keep their precision, ``"850.0 m"``, ``"12.346 km"``; a
    ``round_length`` (a scale bar's 1, 2 or 5 × 10ⁿ m) drops trailing zeros: ``"500 m"``,
    ``"1.2 km"``, ``"20 km"``.
    """
    km = metres >= 1000
    value = metres / 1000.0 if km else metres
    if round_length:
        number = f"{value:g}"
    else:
        number = f"{value:,.3f}" if km else f"{value:,.1f}"
    return f"{number} {'km' if km else 'm'}"


def bounds_in_crs(gdf, crs) -> tuple[float, float, float, float]:
    """Bounds of a GeoDataFrame in ``crs``: its envelope, densified (9 points per side), transformed.

    A curved graticule (lon/lat to Gauss–Krüger and back) bends the envelope's sides, so its
    corners alone would cut off the frame; nine points per side keep it within a pixel at map scale.
    """
    if gdf.crs is None:
        return tuple(float(v) for v in gdf.total_bounds)
    return box_in_crs(gdf.total_bounds, gdf.crs, crs)


def box_in_crs(box, src, dst) -> tuple[float, float, float, float]:
    """Bounds in ``dst`` of the box ``(minx, miny, maxx, maxy)`` of ``src``: its sides densified (9 points
    each) and transformed, so a curved graticule does not cut it off (see :func:`bounds_in_crs`)."""
    minx, miny, maxx, maxy = (float(v) for v in box)
    if same_crs(src, dst):
        return minx, miny, maxx, maxy
    t = np.linspace(0.0, 1.0, 9)
    xs = np.concatenate([minx + (maxx - minx) * t, np.full(9, maxx), maxx - (maxx - minx) * t, np.full(9, minx)])
    ys = np.concatenate([np.full(9, miny), miny + (maxy - miny) * t, np.full(9, maxy), maxy - (maxy - miny) * t])
    x, y = transform_xy(xs, ys, src, dst)
    return float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y))
