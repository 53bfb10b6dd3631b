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
            tr = Transformer.from_crs(a, b, always_xy=True)
            same.append((a, b, tr))
        cache[key] = tr
    return tr


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
    import numpy as np

    minx, miny, maxx, maxy = (float(v) for v in gdf.total_bounds)
    if gdf.crs is None or same_crs(gdf.crs, crs):
        return minx, miny, maxx, maxy
    t = np.linspace(0.0, 1.0, 9)
    xs = np.concatenate([minx + (maxx - minx) * t, np.full(9, maxx), maxx - (maxx - minx) * t, np.full(9, minx)])
    ys = np.concatenate([np.full(9, miny), miny + (maxy - miny) * t, np.full(9, maxy), maxy - (maxy - miny) * t])
    x, y = transform_xy(xs, ys, gdf.crs, crs)
    return float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y))
