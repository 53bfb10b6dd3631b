"""Search the project: a feature by (part of) its name, a 桩号 on a road, or a coordinate.

The window's search box calls :func:`search`; it is Qt-free so the CLI and the tests use the same
code. Three kinds of text are understood, tried in this order:

- a coordinate: ``114.07,32.12`` (either order: China's longitudes and latitudes do not overlap),
  ``32°07'N 114°04'E``, ``北纬32°07′12″ 东经114°04′30″``; as copied from 高德 / 腾讯 (GCJ-02) or
  百度 (BD-09) maps it is shifted back to WGS84 (≈ CGCS2000 at map scale) when the caller says so;
- a chainage: ``G107 K12+300`` or ``天台寨路K1+250`` — the road by its name or code, the 桩号 from
  the road's start station (``起点桩号`` / ``start_station`` field, K0+000 when absent);
- a name: every vector layer's name-like fields (``name``, ``名称``, ``企业名称``, ``code`` …),
  exact, prefix, part, then fuzzy matches (difflib ratio), best first.
"""
from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import shapely

from riskmap import crs as crs_policy
from riskmap.analysis import linear
from riskmap.errors import ParameterError
from riskmap.i18n import tr

#: Fields searched for names, in order of preference.
NAME_FIELDS = ("name", "名称", "企业名称", "单位名称", "road", "道路名称", "code", "编号", "路线编号", "NAME", "Name")
#: Fields that give a road's start station (起点桩号).
START_FIELDS = ("start_station", "起点桩号", "start_km", "起点")
#: Coordinate systems a typed coordinate may be in.
SYSTEMS = {"wgs84": ("WGS84 / CGCS2000", "WGS84 / CGCS2000"), "gcj02": ("GCJ-02（高德、腾讯）", "GCJ-02 (AMap, Tencent)"),
           "bd09": ("BD-09（百度）", "BD-09 (Baidu)")}
_LON_RANGE, _LAT_RANGE = (73.0, 136.0), (3.0, 54.0)  # China's extent: the two ranges do not overlap
_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_PAIR_RE = re.compile(rf"^\s*({_NUMBER})\s*[,，;；\s]\s*({_NUMBER})\s*$")
_DMS_RE = re.compile(r"(北纬|南纬|东经|西经)?\s*(\d+(?:\.\d+)?)\s*[°度]\s*(?:(\d+(?:\.\d+)?)\s*['′分])?\s*"
                     r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|′′|''|秒))?\s*([NSEWnsew])?")  # NFKC turns ″ into ′′
_CHAINAGE_RE = re.compile(r"^(?P<road>.*?)\s*(?P<km>[Kk]\s*\d+\s*\+\s*\d+(?:\.\d+)?)\s*$")


@dataclass
class Hit:
    """One search result; ``x, y`` (a point) or ``bbox`` are in the project's map CRS."""

    kind: str  # "coordinate", "chainage" or "feature"
    label: str
    score: float
    x: float = math.nan
    y: float = math.nan
    bbox: tuple | None = None
    layer: object = None
    index: int | None = None


def _norm(text) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip().lower()


def parse_coordinate(text: str):
    """``(lon, lat)`` of a typed coordinate (decimal pair or degrees-minutes-seconds), or None.

    Raises
    ------
    ParameterError
        When the text looks like a coordinate but is outside any plausible range.
    """
    s = unicodedata.normalize("NFKC", str(text)).strip()
    match = _PAIR_RE.match(s)
    if match:
        a, b = float(match.group(1)), float(match.group(2))
        return _order(a, b, text)
    if "°" in s or "度" in s:
        values = {}
        for m in _DMS_RE.finditer(s):
            if not m.group(2):
                continue
            deg = float(m.group(2)) + float(m.group(3) or 0) / 60.0 + float(m.group(4) or 0) / 3600.0
            hemi = (m.group(5) or "").upper() or {"北纬": "N", "南纬": "S", "东经": "E", "西经": "W"}.get(m.group(1) or "", "")
            if hemi in ("S", "W"):
                deg = -deg
            values.setdefault("lat" if hemi in ("N", "S") else "lon" if hemi in ("E", "W") else f"v{len(values)}", deg)
        if "lat" in values and "lon" in values:
            return values["lon"], values["lat"]
        plain = [v for k, v in values.items() if k.startswith("v")] + [values[k] for k in ("lon", "lat") if k in values]
        if len(plain) == 2:
            return _order(plain[0], plain[1], text)
    return None


def _order(a: float, b: float, text):
    def lon_ok(v):
        return _LON_RANGE[0] <= v <= _LON_RANGE[1]

    def lat_ok(v):
        return _LAT_RANGE[0] <= v <= _LAT_RANGE[1]

    if lon_ok(a) and lat_ok(b):
        return a, b
    if lat_ok(a) and lon_ok(b):
        return b, a
    if -180 <= a <= 180 and -90 <= b <= 90:
        return a, b
    raise ParameterError(tr(f"“{text}”不是经纬度坐标（如 114.07,32.12）",
                            f"{text!r}: not a longitude/latitude pair (e.g. 114.07,32.12)"))


def to_wgs84(lon: float, lat: float, system: str = "wgs84"):
    """A coordinate read off a map in ``system`` (wgs84 / gcj02 / bd09) as WGS84 lon/lat."""
    system = (system or "wgs84").lower().replace("-", "")
    if system == "gcj02":
        x, y = crs_policy.gcj02_to_wgs84(np.array([lon]), np.array([lat]))
    elif system == "bd09":
        x, y = crs_policy.bd09_to_wgs84(np.array([lon]), np.array([lat]))
    elif system == "wgs84":
        return float(lon), float(lat)
    else:
        raise ParameterError(tr(f"未知的坐标系“{system}”，请使用 wgs84、gcj02 或 bd09",
                                f"unknown coordinate system {system!r}; use wgs84, gcj02 or bd09"))
    return float(np.asarray(x).ravel()[0]), float(np.asarray(y).ravel()[0])


def search(layers, text: str, map_crs, *, system: str = "wgs84", limit: int = 20) -> list[Hit]:
    """Hits for ``text`` among ``layers`` (vector layers of a project), best first.

    Parameters
    ----------
    layers : iterable of Layer
        The project's layers; only vector layers are searched for names and roads.
    text : str
        What the user typed.
    map_crs : CRS-like
        CRS of the returned positions.
    system : str
        Coordinate system of a typed coordinate: ``wgs84``, ``gcj02`` or ``bd09``.
    limit : int
        At most this many hits.
    """
    text = str(text or "").strip()
    if not text:
        return []
    vectors = [layer for layer in layers if getattr(layer, "kind", "") == "vector"]
    coordinate = parse_coordinate(text)
    if coordinate is not None:
        lon, lat = to_wgs84(*coordinate, system=system)
        x, y = crs_policy.transform_xy(np.array([lon]), np.array([lat]), 4326, map_crs)
        label = f"{coordinate[0]:.6f}, {coordinate[1]:.6f}（{SYSTEMS.get(system, (system,))[0]}）"
        return [Hit("coordinate", label, 1.0, float(np.ravel(x)[0]), float(np.ravel(y)[0]))]
    match = _CHAINAGE_RE.match(unicodedata.normalize("NFKC", text))
    if match:
        hits = _chainage_hits(vectors, match.group("road").strip(), linear.parse_km_post(match.group("km")
                                                                                         .replace(" ", "")), map_crs)
        if hits:
            return hits[:limit]
    return _name_hits(vectors, text, map_crs)[:limit]


def _name_columns(gdf) -> list[str]:
    return [c for c in NAME_FIELDS if c in gdf.columns]


def _name_hits(vectors, text: str, map_crs) -> list[Hit]:
    query = _norm(text)
    hits = []
    for layer in vectors:
        gdf = layer.gdf
        for col in _name_columns(gdf):
            series = gdf[col].astype(str).map(_norm)
            values = series.to_numpy(object)
            exact = (series == query).to_numpy(bool)
            prefix = series.str.startswith(query).to_numpy(bool) & ~exact
            part = series.str.contains(query, regex=False).to_numpy(bool) & ~exact & ~prefix
            scores = np.where(exact, 1.0, np.where(prefix, 0.9, np.where(part, 0.8, 0.0)))
            if not scores.any() and len(query) >= 2:
                fuzzy = np.array([difflib.SequenceMatcher(None, query, v).ratio() for v in values])
                scores = np.where(fuzzy >= 0.6, 0.7 * fuzzy, 0.0)
            for i in np.flatnonzero(scores > 0):
                hits.append(Hit("feature", f"{gdf[col].iat[i]}（{layer.name}）", float(scores[i]),
                                bbox=_bbox(layer, int(i), map_crs), layer=layer, index=int(i)))
    hits.sort(key=lambda h: (-h.score, h.label))
    seen, unique = set(), []
    for h in hits:  # one hit per feature even when two of its fields match
        key = (id(h.layer), h.index)
        if key not in seen:
            seen.add(key)
            unique.append(h)
    return unique


def _bbox(layer, index: int, map_crs) -> tuple:
    geom = layer.gdf.geometry.iloc[[index]]
    if not crs_policy.same_crs(geom.crs, map_crs):
        geom = geom.to_crs(map_crs)
    return tuple(float(v) for v in geom.total_bounds)


def _chainage_hits(vectors, road: str, chainage_m: float, map_crs) -> list[Hit]:
    query = _norm(road)
    hits = []
    for layer in vectors:
        gdf = layer.gdf
        lines = np.asarray(gdf.geometry.values)
        is_line = np.isin(shapely.get_type_id(lines), [1, 5])
        if not is_line.any():
            continue
        cols = _name_columns(gdf)
        if not cols:
            continue
        names = np.array([" ".join(_norm(gdf[c].iat[i]) for c in cols) for i in range(len(gdf))], dtype=object)
        wanted = is_line & (np.array([bool(query) and query in n for n in names], bool) if query
                            else np.ones(len(gdf), bool))
        if not query and wanted.sum() != 1:
            continue  # "K12+300" alone is ambiguous unless the layer holds one road
        idx = np.flatnonzero(wanted)
        if not idx.size:
            continue
        metric = crs_policy.metric_crs_for(gdf)
        chosen = lines[idx]
        if crs_policy.is_geographic(gdf.crs):  # a straight segment in degrees is curved in metres: densify first
            chosen = shapely.segmentize(chosen, 0.0005)
        geoms_m = np.asarray(crs_policy.transform_geometries(chosen, gdf.crs, metric))
        start = _start_stations(gdf, idx, cols)
        along = chainage_m - start
        lengths = shapely.length(geoms_m)
        ok = (along >= 0) & (along <= lengths + 0.5)
        if not ok.any():
            continue
        pts = shapely.line_interpolate_point(geoms_m[ok], np.minimum(along[ok], lengths[ok]))
        x, y = crs_policy.transform_xy(shapely.get_x(pts), shapely.get_y(pts), metric, map_crs)
        for j, i in enumerate(idx[ok]):
            name = str(gdf[cols[0]].iat[i])
            hits.append(Hit("chainage", f"{name} {linear.km_post(chainage_m)}（{layer.name}）", 1.0,
                            float(np.ravel(x)[j]), float(np.ravel(y)[j]), layer=layer, index=int(i)))
    return hits


def _start_stations(gdf, idx, cols) -> np.ndarray:
    for col in START_FIELDS:
        if col in gdf.columns:
            out = []
            for value in gdf[col].iloc[idx]:
                try:
                    out.append(linear.parse_km_post(value) if str(value).strip() not in ("", "nan", "None") else 0.0)
                except ParameterError:
                    out.append(0.0)
            return np.asarray(out, float)
    return np.zeros(len(idx))
