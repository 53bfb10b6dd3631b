"""Oil and gas pipelines: potential impact radius, high-consequence areas, protection corridors.

Rules and their status are in :mod:`riskmap.analysis.gb32167`. Everything is computed in
a local metric CRS (:func:`riskmap.crs.metric_crs_for`); results come back in the
pipelines' own CRS.

How the criteria of GB 32167-2015 are applied along each line (split into ``step_m``
stretches, the chainage resolution):

- **Density criteria** (oil a–c, gas a–b: households within 200 m of any 2 km): households
  = population within ``corridor_m`` of the line (raster sub-cell sums, each assigned to the
  nearest stretch) / ``persons_per_household``. A ``window_m`` window slides in ``step_m``
  steps; following GB 50251 §4.2.2 ("任意划分成长度为2km并能包括最大聚居户数的若干地段")
  the windows holding most households are taken first, without overlap; a gap shorter than
  a window between two taken windows is graded by the window centred on it.
- **Presence criteria** (identified sites within the impact radius or 200 m, water within
  200 m, roads/railways/flammable sites within 50 m): the stretch of line within the
  criterion's distance of the object — the line positions whose impact circle (or band)
  holds it, as in ASME B31.8S.
- Each stretch takes the highest grade of the criteria met there; contiguous stretches of
  the same grade are merged into one output segment with the reasons (Chinese).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely import ops as shp_ops

from riskmap import crs as crs_policy
from riskmap.analysis import gb32167 as rules
from riskmap.analysis.popgrid import subcells_near
from riskmap.analysis.fields import apply_field_aliases, layer_source
from riskmap.analysis.provenance import describe_input, provenance
from riskmap.errors import EmptyLayerError, ParameterError

MEDIUM_ALIASES = {
    "gas": "gas", "natural gas": "gas", "ng": "gas", "天然气": "gas", "燃气": "gas", "气": "gas", "输气": "gas",
    "oil": "oil", "crude": "oil", "product": "oil", "原油": "oil", "成品油": "oil", "油": "oil", "输油": "oil",
}
FIELD_ALIASES = {"medium": ("介质", "输送介质"), "diam_mm": ("管径", "管径mm", "外径"),
                 "press_mpa": ("压力", "设计压力", "压力mpa", "最大允许操作压力"), "name": ("名称", "管道名称")}

MEDIUM_ZH = {"gas": "输气", "oil": "输油"}
TARGET_KIND_ZH = {"sensitive": "敏感目标", "enterprises": "企业", "buildings": "建筑物"}
CATEGORY_ZH = {"school": "学校", "hospital": "医院", "nursing_home": "养老院", "market": "商场/市场",
               "kindergarten": "幼儿园"}
ROAD_CLASS_ZH = {"expressway": "高速公路", "national": "国道", "provincial": "省道", "county": "县道",
                 "township": "乡道", "railway": "铁路"}

HCA_COLUMNS = ["name", "medium", "diam_mm", "press_mpa", "pir_m", "hca_grade", "start_m", "end_m", "length_m",
               "households", "criteria", "reason", "line_id"]


@dataclass
class PipelineResult:
    """Result of :func:`analyse_pipelines`."""

    hca: object            # GeoDataFrame of HCA segments (lines)
    corridors: object      # GeoDataFrame of protection bands (polygons)
    encroachments: object  # GeoDataFrame of targets inside the bands
    provenance: dict


# ---------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------
def normalise_pipelines(pipelines):
    """Pipelines with ``name``, ``medium`` (gas|oil), ``diam_mm`` and ``press_mpa`` checked.

    Chinese column names (介质, 管径, 压力, 名称) and media (天然气, 原油 ...) are accepted.

    Raises
    ------
    EmptyLayerError, ParameterError
        No lines; a missing field; an unknown medium; a non-positive diameter or pressure.
    """
    src = layer_source(pipelines)
    if pipelines is None or len(pipelines) == 0:
        raise EmptyLayerError("the pipelines layer has no features; choose a layer with lines", src)
    gdf = apply_field_aliases(pipelines, FIELD_ALIASES, {"name": lambda n: [f"管道{i + 1}" for i in range(n)]},
                              layer="pipelines", hint="medium gas|oil, diam_mm, press_mpa", source=src)
    types = set(gdf.geom_type.dropna())
    if not types <= {"LineString", "MultiLineString"}:
        raise ParameterError(f"the pipelines layer must hold lines, found {', '.join(sorted(types))}", src)
    medium = gdf["medium"].astype(str).str.strip().str.lower().map(MEDIUM_ALIASES)
    if medium.isna().any():
        bad = sorted(set(gdf.loc[medium.isna(), "medium"].astype(str)))[:5]
        raise ParameterError(f"unknown pipeline medium {', '.join(bad)}; use gas or oil", src)
    gdf["medium"] = medium
    for field in ("diam_mm", "press_mpa"):
        gdf[field] = pd.to_numeric(gdf[field], errors="coerce")
        bad = ~(gdf[field] > 0)
        if bad.any():
            names = ", ".join(gdf.loc[bad, "name"].astype(str).head(5))
            raise ParameterError(f"{field} must be a positive number for every pipeline (check {names})", src)
    gdf["name"] = gdf["name"].astype(str)
    return gdf


def impact_radii(pipelines, coefficient: float = rules.PIR_COEFFICIENT) -> pd.Series:
    """Potential impact radius (m) of each pipeline, GB 32167-2015 式(1).

    See :func:`riskmap.analysis.gb32167.potential_impact_radius`.
    """
    return pd.Series(rules.potential_impact_radius(pipelines["diam_mm"].to_numpy(float),
                                                   pipelines["press_mpa"].to_numpy(float), coefficient),
                     index=pipelines.index, name="pir_m")


def _layer_metric(gdf, metric_crs, what: str):
    if gdf is None or len(gdf) == 0:
        return None
    if gdf.crs is None:
        raise crs_policy.CRSError(f"the {what} layer has no coordinate reference system; name one", layer_source(gdf))
    out = gdf.to_crs(metric_crs)
    keep = ~(out.geometry.isna() | out.geometry.is_empty)
    return out.loc[keep].reset_index(drop=True)


def _names(gdf, fallback: str) -> np.ndarray:
    for col in ("name", "名称", "code"):
        if col in gdf.columns:
            vals = gdf[col].astype(str).where(gdf[col].notna(), fallback).to_numpy(object)
            return vals
    return np.array([f"{fallback}{i + 1}" for i in range(len(gdf))], dtype=object)


# ---------------------------------------------------------------------------
# geometry helpers
# ---------------------------------------------------------------------------
def split_line(line, step: float):
    """Split a LineString into consecutive pieces of ``step`` metres (the last one shorter).

    Returns
    -------
    pieces : ndarray of LineString
    starts, ends : ndarray of float
        Chainage (m from the line's start) of each piece.
    """
    coords = np.asarray(shapely.get_coordinates(line))
    seg = np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1]))
    keep = np.concatenate([[True], seg > 0])
    coords = coords[keep]
    cum = np.concatenate([[0.0], np.cumsum(seg[seg > 0])])
    length = float(cum[-1])
    if length <= 0:
        raise ParameterError("a pipeline has zero length; remove or fix it")
    n = max(1, int(math.ceil(length / step - 1e-9)))
    breaks = np.minimum(np.arange(n + 1) * step, length)
    breaks[-1] = length
    # every vertex and break point, in chainage order
    all_d = np.concatenate([cum, breaks[1:-1]])
    all_x = np.concatenate([coords[:, 0], np.interp(breaks[1:-1], cum, coords[:, 0])])
    all_y = np.concatenate([coords[:, 1], np.interp(breaks[1:-1], cum, coords[:, 1])])
    order = np.argsort(all_d, kind="stable")
    all_d, all_x, all_y = all_d[order], all_x[order], all_y[order]
    # piece i spans break i .. break i+1, inclusive of both end points
    lo = np.searchsorted(all_d, breaks[:-1], side="left")
    hi = np.searchsorted(all_d, breaks[1:], side="right")
    counts = hi - lo
    idx = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)])
    piece_ids = np.repeat(np.arange(n), counts)
    pts = np.column_stack([all_x[idx], all_y[idx]])
    pieces = shapely.linestrings(pts, indices=piece_ids)
    return np.asarray(pieces), breaks[:-1].copy(), breaks[1:].copy()


def _line_parts(metric_gdf):
    """(feature index, part LineString) for every part of every (multi)line, merged where possible."""
    merged = shapely.line_merge(metric_gdf.geometry.values)
    parts, index = shapely.get_parts(merged, return_index=True)
    keep = shapely.length(parts) > 0
    return index[keep], parts[keep]


def _runs(mask: np.ndarray):
    """(start, stop) of each run of True in a boolean array."""
    if not mask.any():
        return []
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(padded)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


# ---------------------------------------------------------------------------
# HCA identification
# ---------------------------------------------------------------------------
class _Flags:
    """Grades and reasons raised along one line, stretch by stretch."""

    def __init__(self, n: int):
        self.n = n
        self.items: list[tuple[int, int, int, str, str, float]] = []  # i0, i1, rank, code, reason, households

    def add(self, i0: int, i1: int, grade: str, code: str, reason: str, households: float = np.nan):
        rank = rules.GRADE_RANK[grade]
        if rank > 0 and i1 > i0:
            self.items.append((int(i0), int(i1), rank, code, reason, households))

    def ranks(self) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.int8)
        for i0, i1, rank, *_ in self.items:
            out[i0:i1] = np.maximum(out[i0:i1], rank)
        return out


def _households_per_piece(ds, pieces, tree, metric_crs, params, progress, frac0, frac1, label):
    """Households within ``corridor_m`` of each piece.

    Each raster cell near the line finds its nearest piece (one STRtree query per cell); its
    sub-cells then go to the nearest of that piece and its two neighbours, and count when
    within ``corridor_m`` of it. Every sub-cell is counted once, in the chunk of its piece.
    """
    n = len(pieces)
    persons = np.zeros(n)
    offsets = np.array([-1, 0, 1])
    chunk = max(1, int(round(5000.0 / params.step_m)))  # ~5 km of line per raster window
    for c0 in range(0, n, chunk):
        c1 = min(n, c0 + chunk)
        if progress is not None:
            progress(frac0 + (frac1 - frac0) * c0 / n, f"{label}：人口统计")
        xy, w, cell_xy, cell_of = subcells_near(ds, shapely.multilinestrings(pieces[c0:c1]), metric_crs,
                                                params.corridor_m, params.subcell_m, return_cells=True)
        if w.size == 0:
            continue
        cell_pair = tree.query_nearest(shapely.points(cell_xy[:, 0], cell_xy[:, 1]), all_matches=False)
        cell_piece = np.empty(len(cell_xy), dtype=np.int64)
        cell_piece[cell_pair[0]] = cell_pair[1]
        base = cell_piece[cell_of]
        pts = shapely.points(xy[:, 0], xy[:, 1])
        cand = np.clip(base[:, None] + offsets[None, :], 0, n - 1)
        dist = shapely.distance(pieces[cand], pts[:, None])
        best = np.argmin(dist, axis=1)
        piece = cand[np.arange(len(cand)), best]
        inside = (dist[np.arange(len(cand)), best] <= params.corridor_m) & (piece >= c0) & (piece < c1)
        persons += np.bincount(piece[inside], weights=w[inside], minlength=n)
    return persons / params.persons_per_household, persons


def _density_flags(flags: _Flags, medium: str, households: np.ndarray, persons: np.ndarray, params):
    n = len(households)
    k = max(1, int(round(params.window_m / params.step_m)))
    if n <= k:
        starts = np.array([0])
        k = n
        win_h = np.array([households.sum()])
        win_p = np.array([persons.sum()])
    else:
        cs = np.concatenate([[0.0], np.cumsum(households)])
        cp = np.concatenate([[0.0], np.cumsum(persons)])
        starts = np.arange(n - k + 1)
        win_h = cs[k:] - cs[:-k]
        win_p = cp[k:] - cp[:-k]

    def grade_of(h):
        if medium == "oil":
            if h >= params.class4_households:
                return rules.OIL_CRITERIA["a"].grade, "a"
            if h >= params.oil_dense_households:
                return rules.OIL_CRITERIA["b"].grade, "b"
            if h >= params.oil_village_households:
                return rules.OIL_CRITERIA["c"].grade, "c"
            return "", ""
        cls = int(rules.location_class(h, params.class4_households, params.class3_households))
        if cls == 4:
            return rules.GAS_CRITERIA["a"].grade, "a"
        if cls == 3:
            return rules.GAS_CRITERIA["b"].grade, "b"
        return "", ""

    lowest = params.oil_village_households if medium == "oil" else params.class3_households
    lowest = min(lowest, params.class4_households)
    # most households first; among equal windows the one holding most of them in its middle half
    q0, q1 = k // 4, k - k // 4
    cs_mid = np.concatenate([[0.0], np.cumsum(households)])
    mid = cs_mid[np.minimum(starts + q1, n)] - cs_mid[np.minimum(starts + q0, n)]
    order = np.lexsort((-np.round(mid, 1), -np.round(win_h, 1)))
    taken = np.zeros(n, dtype=bool)
    chosen = []
    for j in order:
        if win_h[j] < lowest:
            break
        s = starts[j]
        if not taken[s:s + k].any():
            taken[s:s + k] = True
            chosen.append(j)
    # a gap shorter than a window between two taken windows: graded by the window centred on it
    extra = []
    for g0, g1 in _runs(~taken):
        if g0 == 0 or g1 == n or (g1 - g0) >= k:
            continue
        centre = int(round((g0 + g1) / 2.0 - k / 2.0))
        j = int(np.clip(centre, 0, len(starts) - 1))
        if win_h[j] >= lowest:
            extra.append((j, g0, g1))
    for j in chosen:
        _add_density(flags, medium, starts[j], starts[j] + k, win_h[j], win_p[j], grade_of, params)
    for j, g0, g1 in extra:
        _add_density(flags, medium, g0, g1, win_h[j], win_p[j], grade_of, params)


def _add_density(flags, medium, i0, i1, h, p, grade_of, params):
    grade, code = grade_of(h)
    if not grade:
        return
    span = f"{params.window_m / 1000:g}km"
    base = f"管道两侧{params.corridor_m:g}m内任意{span}估算约{h:.0f}户（约{p:.0f}人，每户{params.persons_per_household:g}人）"
    if medium == "gas":
        cls = "四级地区（按户数近似）" if code == "a" else "三级地区"
        reason = f"{base}，属{cls}"
    else:
        reason = {"a": f"{base}，达人口密集城区规模（近似四层以上楼房集中）",
                  "b": f"{base}，≥{params.oil_dense_households:g}户",
                  "c": f"{base}，有≥{params.oil_village_households:g}户的村镇"}[code]
    flags.add(i0, i1, grade, code, reason, h)


def _presence_flags(flags: _Flags, tree, objects, names, labels, distance, grade, code, what,
                    allowed: np.ndarray | None = None):
    """Flag the stretches within ``distance`` of each object (``distance`` scalar or per object)."""
    if objects is None or len(objects) == 0 or not rules.GRADE_RANK.get(grade):
        return
    geoms = np.asarray(objects)
    dist = np.broadcast_to(np.asarray(distance, dtype=float), (len(geoms),))
    obj_idx, piece_idx = tree.query(geoms, predicate="dwithin", distance=dist)
    if obj_idx.size == 0:
        return
    d_obj = np.full(len(geoms), np.inf)
    np.minimum.at(d_obj, obj_idx, shapely.distance(geoms[obj_idx], tree.geometries[piece_idx]))
    for o in np.unique(obj_idx):
        hit = np.zeros(flags.n, dtype=bool)
        hit[piece_idx[obj_idx == o]] = True
        if allowed is not None:
            hit &= allowed
        label = labels[o] if labels is not None else what
        reason = f"{label}「{names[o]}」距管道{d_obj[o]:.0f}m（{what}）"
        for i0, i1 in _runs(hit):
            flags.add(i0, i1, grade, code, reason)


def _road_labels(roads):
    if "road_class" in roads.columns:
        cls = roads["road_class"].astype(str).str.lower()
        return cls.to_numpy(object), cls.map(ROAD_CLASS_ZH).fillna("道路").to_numpy(object)
    return np.array(["road"] * len(roads), dtype=object), np.array(["道路"] * len(roads), dtype=object)


def identify_hca(pipelines, population=None, *, sensitive=None, water=None, roads=None, enterprises=None,
                 params: rules.HCAParameters | None = None, progress=None):
    """High-consequence areas (高后果区) along oil and gas pipelines, GB 32167-2015 Tables 1–2.

    Parameters
    ----------
    pipelines : GeoDataFrame
        Lines with ``name``, ``medium`` (gas|oil), ``diam_mm`` (outside diameter, mm) and
        ``press_mpa`` (MAOP, MPa).
    population : str, Path or rasterio dataset, optional
        Population raster (persons per cell). Without it the household criteria are skipped.
    sensitive : GeoDataFrame, optional
        Identified sites (特定场所Ⅰ: schools, hospitals, kindergartens, nursing homes, markets).
    water : GeoDataFrame, optional
        Water bodies (oil f): sources, rivers, reservoirs; ``kind`` filtered by ``params.water_kinds``.
    roads : GeoDataFrame, optional
        Roads and railways; ``road_class`` filtered by ``params.near_road_classes`` (oil d).
    enterprises : GeoDataFrame, optional
        Plants; ``industry`` in ``params.flammable_industries`` are flammable or explosive
        sites (oil d within 50 m, gas f within 200 m).
    params : HCAParameters, optional
        Window, step, corridor, persons per household and the ⚠-verify grades.
    progress : callable, optional
        ``progress(fraction, message)``; may raise CancelledError.

    Returns
    -------
    (GeoDataFrame, dict)
        HCA segments (columns :data:`HCA_COLUMNS`, lines in the pipelines' CRS) and the
        provenance record.
    """
    params = params or rules.HCAParameters()
    lines = normalise_pipelines(pipelines)
    metric_crs = crs_policy.metric_crs_for(lines)
    lines_m = lines.to_crs(metric_crs)
    pir = impact_radii(lines, params.pir_coefficient).to_numpy()
    notes = []

    sens = _layer_metric(sensitive, metric_crs, "sensitive targets")
    wat = _layer_metric(water, metric_crs, "water")
    rds = _layer_metric(roads, metric_crs, "roads")
    ent = _layer_metric(enterprises, metric_crs, "enterprises")
    if wat is not None and params.water_kinds and "kind" in wat.columns:
        wat = wat.loc[wat["kind"].astype(str).isin(params.water_kinds)].reset_index(drop=True)
    near_roads = None
    if rds is not None:
        cls, zh = _road_labels(rds)
        if "road_class" in rds.columns:
            keep = np.isin(cls, [c.lower() for c in params.near_road_classes])
        else:
            keep = np.ones(len(rds), dtype=bool)
            notes.append("道路图层无 road_class 字段：所有道路均按高速/国道/省道处理 (oil d)")
        near_roads = (rds.geometry.values[keep], _names(rds, "道路")[keep], zh[keep])
    flammable = None
    if ent is not None:
        if "industry" in ent.columns:
            keep = ent["industry"].astype(str).isin(params.flammable_industries).to_numpy()
            flammable = (ent.geometry.values[keep], _names(ent, "企业")[keep],
                         np.array(["易燃易爆场所"] * int(keep.sum()), dtype=object))
        else:
            notes.append("企业图层无 industry 字段：未识别易燃易爆场所")
    sens_labels = None
    if sens is not None:
        sens_labels = (sens["category"].map(CATEGORY_ZH).fillna("特定场所").to_numpy(object)
                       if "category" in sens.columns else np.array(["特定场所"] * len(sens), dtype=object))

    ds, own_ds = None, False
    if population is not None:
        if isinstance(population, (str, Path)):
            from riskmap.io import open_raster

            ds, own_ds = open_raster(population), True
        else:
            ds = population
    else:
        notes.append("未提供人口栅格：未评价户数（地区等级）准则")

    feature_idx, parts = _line_parts(lines_m)
    rows, geoms = [], []
    try:
        for li, (fi, line) in enumerate(zip(feature_idx, parts)):
            frac0, frac1 = li / len(parts), (li + 1) / len(parts)
            rec = lines.iloc[fi]
            label = str(rec["name"])
            if progress is not None:
                progress(frac0, f"{label}：高后果区识别")
            pieces, starts, ends = split_line(line, params.step_m)
            tree = shapely.STRtree(pieces)
            flags = _Flags(len(pieces))
            medium = rec["medium"]
            if ds is not None:
                households, persons = _households_per_piece(ds, pieces, tree, metric_crs, params, progress,
                                                            frac0, frac0 + 0.8 * (frac1 - frac0), label)
                _density_flags(flags, medium, households, persons, params)
            density_rank = flags.ranks()
            if medium == "oil":
                if near_roads is not None:
                    g, nm, zh = near_roads
                    _presence_flags(flags, tree, g, nm, zh, params.near_m, rules.OIL_CRITERIA["d"].grade, "d",
                                    f"{params.near_m:g}m内道路/铁路")
                if flammable is not None:
                    _presence_flags(flags, tree, *flammable, params.near_m, rules.OIL_CRITERIA["d"].grade, "d",
                                    f"{params.near_m:g}m内易燃易爆场所")
                if wat is not None:
                    wl = (wat["kind"].map({"river": "河流", "reservoir": "水库"}).fillna("水体").to_numpy(object)
                          if "kind" in wat.columns else None)
                    _presence_flags(flags, tree, wat.geometry.values, _names(wat, "水体"), wl,
                                    params.corridor_m, rules.OIL_CRITERIA["f"].grade, "f",
                                    f"{params.corridor_m:g}m内水源/河流/水库")
                if sens is not None and params.oil_sensitive_grade:
                    _presence_flags(flags, tree, sens.geometry.values, _names(sens, "敏感目标"), sens_labels,
                                    params.corridor_m, params.oil_sensitive_grade, "c",
                                    f"{params.corridor_m:g}m内人员聚集场所（按村镇处理，近似）")
            else:
                code, grade, dist = rules.gas_site_rule(float(rec["diam_mm"]), float(rec["press_mpa"]), params)
                dist = float(pir[fi]) if dist is None else dist
                what = f"潜在影响半径{pir[fi]:.0f}m内特定场所" if code in ("c", "d") else f"{dist:g}m内特定场所"
                if sens is not None:
                    _presence_flags(flags, tree, sens.geometry.values, _names(sens, "特定场所"), sens_labels,
                                    dist, grade, code, what)
                if flammable is not None:
                    outside_class34 = density_rank == 0
                    _presence_flags(flags, tree, *flammable, params.corridor_m,
                                    params.gas_flammable_grade, "f",
                                    f"三、四级地区以外{params.corridor_m:g}m内易燃易爆场所", allowed=outside_class34)
            _segments(flags, line, starts, ends, rec, pir[fi], int(fi), rows, geoms)
    finally:
        if own_ds:
            ds.close()
    if progress is not None:
        progress(1.0, "高后果区识别完成")

    import geopandas as gpd

    hca = gpd.GeoDataFrame(pd.DataFrame(rows, columns=HCA_COLUMNS), geometry=list(geoms) if geoms else [],
                           crs=metric_crs).to_crs(lines.crs)
    record = provenance(
        "pipeline_hca",
        {"pipelines": layer_source(pipelines) or describe_input(pipelines),
         "population": str(population) if isinstance(population, (str, Path)) else describe_input(population),
         "sensitive": layer_source(sensitive) or describe_input(sensitive),
         "water": layer_source(water) or describe_input(water), "roads": layer_source(roads) or describe_input(roads),
         "enterprises": layer_source(enterprises) or describe_input(enterprises)},
        {**params.to_dict(), "metric_crs": metric_crs.to_string()},
        rules.standards_cited(),
        notes + [
            f"四级地区/油管a)以户数≥{params.class4_households:g}近似（标准按楼层定义）",
            f"输气e)等级取{params.gas_other_site_grade}、f)等级取{params.gas_flammable_grade}（GB 32167-2015 表2，"
            "按引条文的抄本默认Ⅰ/Ⅱ级；一份抄本作Ⅱ/Ⅲ级）",
            f"潜在影响半径系数{params.pir_coefficient:g}（GB 32167-2015 式(1)，部分核实）",
        ],
    )
    hca.attrs["provenance"] = record
    return hca, record


def _segments(flags: _Flags, line, starts, ends, rec, pir_m, line_id, rows, geoms):
    ranks = flags.ranks()
    n = len(ranks)
    change = np.flatnonzero(np.diff(ranks)) + 1
    bounds = np.concatenate([[0], change, [n]])
    for i0, i1 in zip(bounds[:-1], bounds[1:]):
        rank = int(ranks[i0])
        if rank == 0:
            continue
        here = [it for it in flags.items if it[2] == rank and it[0] < i1 and it[1] > i0]
        codes = sorted({it[3] for it in here})
        hh = [it[5] for it in here if np.isfinite(it[5])]
        # of the household windows merged here, the fullest one speaks for the segment
        density = [it for it in here if np.isfinite(it[5])]
        fullest = max(density, key=lambda it: it[5])[4] if density else None
        reasons = list(dict.fromkeys([fullest] * (fullest is not None) + [it[4] for it in here
                                                                             if not np.isfinite(it[5])]))
        reason = "；".join(reasons[:6]) + (f"；等{len(reasons)}项" if len(reasons) > 6 else "")
        s, e = float(starts[i0]), float(ends[i1 - 1])
        rows.append([rec["name"], rec["medium"], float(rec["diam_mm"]), float(rec["press_mpa"]),
                     round(float(pir_m), 1), rules.RANK_GRADE[rank], round(s, 1), round(e, 1), round(e - s, 1),
                     round(max(hh), 1) if hh else np.nan, ",".join(codes),
                     f"{MEDIUM_ZH[rec['medium']]}管道{rules.RANK_GRADE[rank]}级高后果区：{reason}", line_id])
        geoms.append(shp_ops.substring(line, s, e))


# ---------------------------------------------------------------------------
# protection corridors (Pipeline Protection Law Art. 30 / 35)
# ---------------------------------------------------------------------------
def protection_corridors(pipelines, bands=rules.PROTECTION_BANDS):
    """Protection bands on both sides of each pipeline (Pipeline Protection Law Art. 30, 35).

    Returns
    -------
    GeoDataFrame
        One polygon per pipeline and band (rings, innermost band first) with ``name``,
        ``medium``, ``band``, ``inner_m``, ``outer_m``, ``article``, ``rule``; pipelines' CRS.
    """
    import geopandas as gpd

    lines = normalise_pipelines(pipelines)
    metric_crs = crs_policy.metric_crs_for(lines)
    geoms = lines.to_crs(metric_crs).geometry.values
    frames = []
    for band in bands:
        outer = shapely.buffer(geoms, band.outer_m, quad_segs=16)
        ring = shapely.difference(outer, shapely.buffer(geoms, band.inner_m, quad_segs=16)) if band.inner_m > 0 \
            else outer
        frames.append(pd.DataFrame({
            "name": lines["name"].to_numpy(), "medium": lines["medium"].to_numpy(), "band": band.label,
            "band_key": band.key, "inner_m": band.inner_m, "outer_m": band.outer_m,
            "article": band.article, "rule": band.rule, "geometry": ring}))
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=metric_crs)
    return out.to_crs(lines.crs)


def find_encroachments(pipelines, targets: dict, bands=rules.PROTECTION_BANDS):
    """Targets (buildings, plants, sensitive targets) inside the protection bands.

    Parameters
    ----------
    pipelines : GeoDataFrame
    targets : dict
        ``{kind: GeoDataFrame}``, kind e.g. ``"sensitive"``, ``"enterprises"``, ``"buildings"``.

    Returns
    -------
    GeoDataFrame
        One row per target within the outermost band: ``target_kind``, ``name``, ``category``,
        ``pipeline``, ``distance_m`` (to the nearest centreline), ``band``, ``article``, ``rule``;
        geometry in the pipelines' CRS, nearest first.
    """
    import geopandas as gpd

    lines = normalise_pipelines(pipelines)
    metric_crs = crs_policy.metric_crs_for(lines)
    line_geoms = lines.to_crs(metric_crs).geometry.values
    tree = shapely.STRtree(line_geoms)
    outer = max(b.outer_m for b in bands)
    edges = np.array([b.outer_m for b in bands])
    frames = []
    for kind, gdf in (targets or {}).items():
        tm = _layer_metric(gdf, metric_crs, TARGET_KIND_ZH.get(kind, kind))
        if tm is None or len(tm) == 0:
            continue
        pair, dist = tree.query_nearest(tm.geometry.values, max_distance=outer, return_distance=True,
                                        all_matches=False)
        if pair.shape[1] == 0:
            continue
        band_idx = np.searchsorted(edges, dist, side="left")
        cat_col = "category" if "category" in tm.columns else ("industry" if "industry" in tm.columns else None)
        cats = tm[cat_col].astype(str).to_numpy(object)[pair[0]] if cat_col else np.full(pair.shape[1], "", object)
        frames.append(pd.DataFrame({
            "target_kind": TARGET_KIND_ZH.get(kind, kind), "name": _names(tm, kind)[pair[0]], "category": cats,
            "pipeline": lines["name"].to_numpy(object)[pair[1]], "distance_m": np.round(dist, 1),
            "band": [bands[i].label for i in band_idx], "article": [bands[i].article for i in band_idx],
            "rule": [bands[i].rule for i in band_idx], "geometry": tm.geometry.values[pair[0]]}))
    cols = ["target_kind", "name", "category", "pipeline", "distance_m", "band", "article", "rule", "geometry"]
    if not frames:
        return gpd.GeoDataFrame(pd.DataFrame({c: [] for c in cols}), geometry="geometry", crs=lines.crs)
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=metric_crs)
    return out.sort_values("distance_m", kind="stable").reset_index(drop=True).to_crs(lines.crs)


# ---------------------------------------------------------------------------
# everything at once (GUI, CLI)
# ---------------------------------------------------------------------------
def analyse_pipelines(pipelines, population=None, *, sensitive=None, water=None, roads=None, enterprises=None,
                      params: rules.HCAParameters | None = None, bands=rules.PROTECTION_BANDS,
                      progress=None) -> PipelineResult:
    """HCA segments, protection corridors and encroachments in one call (see :func:`identify_hca`)."""

    def sub(lo, hi):
        if progress is None:
            return None
        return lambda f, m: progress(lo + (hi - lo) * f, m)

    hca, record = identify_hca(pipelines, population, sensitive=sensitive, water=water, roads=roads,
                               enterprises=enterprises, params=params, progress=sub(0.0, 0.9))
    if progress is not None:
        progress(0.9, "管道保护范围")
    corridors = protection_corridors(pipelines, bands)
    targets = {k: v for k, v in (("sensitive", sensitive), ("enterprises", enterprises)) if v is not None}
    encroachments = find_encroachments(pipelines, targets, bands)
    record["parameters"]["protection_bands_m"] = [(b.inner_m, b.outer_m) for b in bands]
    record["notes"].append(f"保护范围内目标 {len(encroachments)} 个（5m/50m/200m 分带）")
    if progress is not None:
        progress(1.0, "完成")
    return PipelineResult(hca, corridors, encroachments, record)


__all__ = ["PipelineResult", "analyse_pipelines", "identify_hca", "impact_radii", "protection_corridors",
           "find_encroachments", "normalise_pipelines", "split_line"]
