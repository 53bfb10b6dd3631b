"""Oil and gas pipelines: potential impact radius, high-consequence areas, protection corridors.

Rules and their status are in :mod:`riskmap.analysis.gb32167`. Everything is computed in
a local metric CRS (:func:`riskmap.crs.metric_crs_for`); results come back in the
pipelines' own CRS.

How the criteria of GB 32167-2015 are applied along each line (split into ``step_m``
stretches, the chainage resolution):

- **Scope**: transmission lines only (GB 50251 / GB 50253). Lines whose ``kind`` is a city-gas
  main (``params.city_gas_kinds``, e.g. ``urban_main``) are not HCA-assessed; they are listed
  by :func:`pipeline_scope` with their GB 50028 spacing. Oil lines have no potential impact
  radius (式(1) is the gas criterion).
- **Density criteria** (oil a–c, gas a–b: households within 200 m of any 2 km): households
  = population within ``corridor_m`` of the line (raster sub-cell sums, each assigned to the
  nearest stretch) / ``persons_per_household``. A ``window_m`` window slides in ``step_m``
  steps; following GB 50251 §4.2.2 ("任意划分成长度为2km并能包括最大聚居户数的若干地段")
  the windows holding most households are taken first, without overlap; a gap shorter than
  a window between two taken windows is graded by the window centred on it. The window
  decides the grade (location class); the HCA itself is trimmed to the built-up stretches of
  the window (corridor density ≥ ``built_up_density``, the raster's stand-in for buildings)
  extended by ``hca_boundary_m`` (200 m) at each end, GB 32167-2015 §6.1.1.2 ("高后果区边界
  设定为距离最近一幢建筑物外边缘200 m").
- **Presence criteria** (identified sites within the impact radius or 200 m, water within
  200 m, roads/railways/flammable sites within 50 m): the stretch of line within the
  criterion's distance of the object — the line positions whose impact circle (or band)
  holds it, as in ASME B31.8S. Oil e) (wetland, forest, protected area within 200 m) is
  evaluated when a protected-area layer is given.
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
from riskmap.i18n import tr

MEDIUM_ALIASES = {
    "gas": "gas", "natural gas": "gas", "ng": "gas", "天然气": "gas", "燃气": "gas", "气": "gas", "输气": "gas",
    "oil": "oil", "crude": "oil", "product": "oil", "原油": "oil", "成品油": "oil", "油": "oil", "输油": "oil",
}
FIELD_ALIASES = {"medium": ("介质", "输送介质"), "diam_mm": ("管径", "管径mm", "外径"),
                 "press_mpa": ("压力", "设计压力", "压力mpa", "最大允许操作压力"), "name": ("名称", "管道名称"),
                 "kind": ("类型", "管道类型", "管道类别"), "tunnel": ("隧道", "是否隧道")}
TRUTHY = ("1", "true", "yes", "y", "是", "隧道", "tunnel")

MEDIUM_ZH = {"gas": "输气", "oil": "输油"}
TARGET_KIND_ZH = {"sensitive": "敏感目标", "enterprises": "企业", "buildings": "建筑物"}
CATEGORY_ZH = {"school": "学校", "hospital": "医院", "nursing_home": "养老院", "market": "商场/市场",
               "kindergarten": "幼儿园"}
INDUSTRY_ZH = {"hazchem": "危化企业", "fireworks": "烟花爆竹企业", "non_coal_mine": "非煤矿山", "metallurgy": "冶金企业",
               "industry_trade": "工贸企业"}
PROTECTED_KIND_ZH = {"wetland": "湿地", "forest": "森林", "estuary": "河口", "nature_reserve": "自然保护区",
                     "reserve": "自然保护区", "protected": "保护区"}
#: Target kinds that Art. 31 names (dense buildings); plants count when flammable (``flammable_industries``).
ART31_KINDS = ("sensitive", "buildings")
ROAD_CLASS_ZH = {"expressway": "高速公路", "national": "国道", "provincial": "省道", "county": "县道",
                 "township": "乡道", "railway": "铁路"}

HCA_COLUMNS = ["name", "medium", "diam_mm", "press_mpa", "pir_m", "hca_grade", "start_m", "end_m", "length_m",
               "households", "criteria", "reason", "line_id"]
ENCROACHMENT_COLUMNS = ["target_kind", "name", "category", "pipeline", "distance_m", "verdict", "limit_m", "article",
                        "rule", "geometry"]
SCOPE_COLUMNS = ["name", "kind", "medium", "diam_mm", "press_mpa", "assessed", "scope", "pir_m", "pir_text",
                 "pressure_class", "spacing_m"]


@dataclass
class PipelineResult:
    """Result of :func:`analyse_pipelines`."""

    hca: object            # GeoDataFrame of HCA segments (lines)
    corridors: object      # GeoDataFrame of protection bands (polygons)
    encroachments: object  # GeoDataFrame of targets with a verdict (占压, 安全间距不足, ...)
    provenance: dict
    scope: object = None   # DataFrame: every pipeline, HCA-assessed or not and why (:func:`pipeline_scope`)


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
        raise EmptyLayerError(tr("管道图层没有要素，请选择含线要素的图层",
                                 "the pipelines layer has no features; choose a layer with lines"), src)
    gdf = apply_field_aliases(pipelines, FIELD_ALIASES, {"name": lambda n: [f"管道{i + 1}" for i in range(n)],
                                                         "kind": lambda n: "", "tunnel": lambda n: ""},
                              layer="pipelines", hint="medium gas|oil, diam_mm, press_mpa", source=src)
    # a missing name is the row's default name (pandas 3 keeps NaN through astype(str): joins failed on it)
    gdf["name"] = gdf["name"].astype(object).where(gdf["name"].notna(),
                                                   pd.Series([f"管道{i + 1}" for i in range(len(gdf))],
                                                             index=gdf.index, dtype=object))
    gdf["kind"] = gdf["kind"].where(gdf["kind"].notna(), "").astype(str).str.strip()
    gdf["tunnel"] = gdf["tunnel"].where(gdf["tunnel"].notna(), "").astype(str).str.strip().str.lower().isin(TRUTHY)
    types = set(gdf.geom_type.dropna())
    if not types <= {"LineString", "MultiLineString"}:
        raise ParameterError(tr(f"管道图层须为线要素，实为 {'、'.join(sorted(types))}",
                                f"the pipelines layer must hold lines, found {', '.join(sorted(types))}"), src)
    medium = gdf["medium"].astype(str).str.strip().str.lower().map(MEDIUM_ALIASES)
    if medium.isna().any():
        bad = sorted({str(v) for v in gdf.loc[medium.isna(), "medium"]})[:5]
        raise ParameterError(tr(f"无法识别的管道介质：{'、'.join(bad)}；请填写 gas（燃气）或 oil（油品）",
                                f"unknown pipeline medium {', '.join(bad)}; use gas or oil"), src)
    gdf["medium"] = medium
    for field in ("diam_mm", "press_mpa"):
        gdf[field] = pd.to_numeric(gdf[field], errors="coerce")
        bad = ~(gdf[field] > 0)
        if bad.any():
            names = ", ".join(gdf.loc[bad, "name"].astype(str).head(5))
            raise ParameterError(tr(f"每条管道的 {field} 都须为正数（请检查 {names}）",
                                    f"{field} must be a positive number for every pipeline (check {names})"), src)
    gdf["name"] = gdf["name"].astype(str)
    return gdf


def impact_radii(pipelines, coefficient: float = rules.PIR_COEFFICIENT) -> pd.Series:
    """Potential impact radius (m) of each gas pipeline, GB 32167-2015 式(1); NaN for oil lines.

    The radius is the gas criterion (表2 c/d); 表1 (oil) has none, so an oil line gets none.
    See :func:`riskmap.analysis.gb32167.potential_impact_radius`.
    """
    r = rules.potential_impact_radius(pipelines["diam_mm"].to_numpy(float), pipelines["press_mpa"].to_numpy(float),
                                      coefficient)
    medium = pipelines["medium"].astype(str).str.strip().str.lower().map(MEDIUM_ALIASES)
    r = np.where((medium == "gas").to_numpy(), r, np.nan)
    return pd.Series(r, index=pipelines.index, name="pir_m")


def city_gas_mask(lines, params) -> np.ndarray:
    """True for city-gas distribution mains (``kind`` in ``params.city_gas_kinds``), outside GB 32167."""
    kinds = {str(k).strip().lower() for k in params.city_gas_kinds}
    return lines["kind"].astype(str).str.strip().str.lower().isin(kinds).to_numpy() & \
        (lines["medium"] == "gas").to_numpy()


def line_spacing(lines, params) -> tuple[np.ndarray, np.ndarray]:
    """Spacing (m) each line must keep from dense buildings and flammable sites, and its basis.

    Transmission lines: Pipeline Protection Law Art. 31 with the design code's spacing
    (``spacing_gas_m``, ``spacing_products_m``, ``spacing_crude_m``: parameters); city-gas
    mains: GB 50028-2006 表6.3.3-1 by pressure class (``city_gas_spacing``, UNCONFIRMED).
    """
    city = city_gas_mask(lines, params)
    products = (lines["kind"].astype(str).str.lower().isin(["products", "成品油"])
                | lines["name"].astype(str).str.contains("成品油")).to_numpy()
    gas = (lines["medium"] == "gas").to_numpy()
    spacing = np.where(gas, params.spacing_gas_m, np.where(products, params.spacing_products_m,
                                                           params.spacing_crude_m)).astype(float)
    basis = np.where(gas, "输气管道安全间距（参数）", np.where(products, "成品油管道安全间距（参数）",
                                                      "原油管道安全间距（参数）")).astype(object)
    if city.any():
        cls, dist = rules.city_gas_spacing(lines["press_mpa"].to_numpy(float)[city], params.city_gas_spacing)
        spacing[city] = dist
        basis[city] = [f"{rules.CITY_GAS_EDITION} 表6.3.3-1 {c}（参数，待核实）" for c in cls]
    return spacing, basis


def pipeline_scope(pipelines, params: rules.HCAParameters | None = None) -> pd.DataFrame:
    """Every pipeline with whether GB 32167 applies to it and why (Chinese), PIR and spacing.

    Transmission lines (GB 50251 gas / GB 50253 oil) are HCA-assessed; city-gas distribution
    mains (``kind`` in ``params.city_gas_kinds``) are not: "城镇燃气管道（GB 50028），不适用
    GB 32167", with their GB 50028 spacing to buildings. Oil lines have no potential impact
    radius ("不适用（输油管道）").

    Returns
    -------
    DataFrame
        Columns :data:`SCOPE_COLUMNS`.
    """
    params = params or rules.HCAParameters()
    lines = normalise_pipelines(pipelines)
    city = city_gas_mask(lines, params)
    pir = impact_radii(lines, params.pir_coefficient).to_numpy()
    pir = np.where(city, np.nan, pir)
    spacing, _ = line_spacing(lines, params)
    cls = np.full(len(lines), "", dtype=object)
    if city.any():
        cls[city] = rules.city_gas_spacing(lines["press_mpa"].to_numpy(float)[city], params.city_gas_spacing)[0]
    gas = (lines["medium"] == "gas").to_numpy()
    scope, pir_text = [], []
    for i in range(len(lines)):
        press = float(lines["press_mpa"].iloc[i])
        if city[i]:
            sp = f"与建筑物水平净距{spacing[i]:g} m" if np.isfinite(spacing[i]) else "高压管道按GB 50028 §6.4另行核定间距"
            scope.append(f"{rules.CITY_GAS_SCOPE}；{cls[i]}（{press:g} MPa），{sp}（{rules.CITY_GAS_EDITION} "
                         "表6.3.3-1，参数待核实）；不计入高后果区")
            pir_text.append("不适用（城镇燃气管道）")
        elif gas[i]:
            scope.append(f"输气管道（GB 50251），按{rules.HCA_EDITION}表2识别高后果区；"
                         f"第三十一条安全间距{spacing[i]:g} m（参数）")
            pir_text.append(f"{pir[i]:.1f}")
        else:
            scope.append(f"输油管道（GB 50253），按{rules.HCA_EDITION}表1识别高后果区，不计潜在影响半径；"
                         f"第三十一条安全间距{spacing[i]:g} m（参数）")
            pir_text.append("不适用（输油管道）")
    return pd.DataFrame({"name": lines["name"].to_numpy(object), "kind": lines["kind"].to_numpy(object),
                         "medium": lines["medium"].to_numpy(object), "diam_mm": lines["diam_mm"].to_numpy(float),
                         "press_mpa": lines["press_mpa"].to_numpy(float), "assessed": ~city, "scope": scope,
                         "pir_m": np.round(pir, 1), "pir_text": pir_text, "pressure_class": cls,
                         "spacing_m": spacing}, columns=SCOPE_COLUMNS)


#: Chinese names of the layers :func:`_layer_metric` names in English.
_LAYER_ZH = {"sensitive targets": "敏感目标", "water": "水体", "roads": "道路", "enterprises": "企业",
             "protected areas": "保护区"}


def _layer_metric(gdf, metric_crs, what: str):
    if gdf is None or len(gdf) == 0:
        return None
    if gdf.crs is None:
        raise crs_policy.CRSError(tr(f"{_LAYER_ZH.get(what, what)}图层没有坐标系，请先指定",
                                     f"the {what} layer has no coordinate reference system; name one"),
                                  layer_source(gdf))
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
        raise ParameterError(tr("有一条管道长度为零，请删除或修正", "a pipeline has zero length; remove or fix it"))
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
            progress(frac0 + (frac1 - frac0) * c0 / n, tr(f"{label}：人口统计", f"{label}: population"))
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


def built_up(persons: np.ndarray, lengths: np.ndarray, params) -> np.ndarray:
    """Stretches whose ``corridor_m`` corridor holds at least ``built_up_density`` persons per km².

    The raster has no buildings: a stretch this dense stands in for "has buildings" when the HCA
    boundary is set 200 m beyond the nearest building (GB 32167-2015 §6.1.1.2).
    """
    area_km2 = np.asarray(lengths, float) * 2.0 * params.corridor_m / 1e6
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(area_km2 > 0, persons / area_km2, 0.0)
    return density >= params.built_up_density


def _density_flags(flags: _Flags, medium: str, households: np.ndarray, persons: np.ndarray, params,
                   lengths: np.ndarray) -> np.ndarray:
    """Grade the windows (GB 50251 §4.2.2) and flag their built-up stretches ± ``hca_boundary_m``.

    Returns the location mask: stretches inside a window graded class 3 or 4 (gas) or meeting an
    oil density criterion, untrimmed (表2 f) applies only outside class-3/4 locations).
    """
    n = len(households)
    location = np.zeros(n, dtype=bool)
    built = built_up(persons, lengths, params)
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
        _add_density(flags, medium, starts[j], starts[j] + k, win_h[j], win_p[j], grade_of, params, built,
                     persons, location)
    for j, g0, g1 in extra:
        _add_density(flags, medium, g0, g1, win_h[j], win_p[j], grade_of, params, built, persons, location)
    return location


def _add_density(flags, medium, i0, i1, h, p, grade_of, params, built, persons, location):
    grade, code = grade_of(h)
    if not grade:
        return
    location[i0:i1] = True
    n = len(built)
    inside = built[i0:i1]
    if not inside.any():  # (only with a density above the class average) the fullest stretch speaks
        inside = persons[i0:i1] >= persons[i0:i1].max()
    ext = int(math.ceil(params.hca_boundary_m / params.step_m - 1e-9))
    span = f"{params.window_m / 1000:g}km"
    base = f"管道两侧{params.corridor_m:g}m内任意{span}估算约{h:.0f}户（约{p:.0f}人，每户{params.persons_per_household:g}人）"
    edge = (f"；边界取有建筑物里程段（走廊人口密度≥{params.built_up_density:g}人/km²，近似）外{params.hca_boundary_m:g}m"
            f"（GB 32167-2015 §6.1.1.2）")
    if medium == "gas":
        cls = "四级地区（按户数近似）" if code == "a" else "三级地区"
        reason = f"{base}，属{cls}"
    else:
        reason = {"a": f"{base}，达人口密集城区规模（近似四层以上楼房集中）",
                  "b": f"{base}，≥{params.oil_dense_households:g}户",
                  "c": f"{base}，有≥{params.oil_village_households:g}户的村镇"}[code]
    for a, b in _runs(inside):
        flags.add(max(0, i0 + a - ext), min(n, i0 + b + ext), grade, code, reason + edge, h)


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
                 protected=None, params: rules.HCAParameters | None = None, progress=None):
    """High-consequence areas (高后果区) along oil and gas transmission pipelines, GB 32167-2015 Tables 1–2.

    City-gas distribution mains (``kind`` in ``params.city_gas_kinds``) are outside GB 32167
    and left out (see :func:`pipeline_scope`); oil lines have no potential impact radius.

    Parameters
    ----------
    pipelines : GeoDataFrame
        Lines with ``name``, ``medium`` (gas|oil), ``diam_mm`` (outside diameter, mm),
        ``press_mpa`` (MAOP, MPa) and optional ``kind`` (``trunk``, ``products``, ``urban_main`` ...).
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
    protected : GeoDataFrame, optional
        Wetlands, forests, estuaries and other protected areas (oil e within 200 m); ``kind``
        (wetland, forest, estuary, nature_reserve) names them. Without it oil e) is not evaluated.
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
    city = city_gas_mask(lines, params)
    notes = []
    if city.any():
        city_names = lines.loc[city, "name"].astype(str).head(5)
        notes.append(tr(f"城镇燃气管道{int(city.sum())}条（{'、'.join(city_names)}"
                        f"{'等' if city.sum() > 5 else ''}）：{rules.CITY_GAS_SCOPE}，未做高后果区识别，不计入高后果区统计",
                        f"{int(city.sum())} city gas pipeline(s) ({', '.join(city_names)}"
                        f"{', …' if city.sum() > 5 else ''}): city gas pipelines (GB 50028), GB 32167 does not apply; "
                        "no high-consequence-area identification, left out of the HCA statistics"))
    if (lines["medium"] == "oil").any():
        notes.append(tr("输油管道不计潜在影响半径（GB 32167-2015 式(1)为输气管道准则）",
                        "no potential impact radius for oil pipelines (GB 32167-2015 formula (1) is a gas pipeline "
                        "criterion)"))

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
            notes.append(tr("道路图层无 road_class 字段：所有道路均按高速/国道/省道处理",
                            "the roads layer has no road_class field: every road is treated as an expressway/"
                            "national/provincial road (oil d))"))
        near_roads = (rds.geometry.values[keep], _names(rds, "道路")[keep], zh[keep])
    flammable = None
    if ent is not None:
        if "industry" in ent.columns:
            keep = ent["industry"].astype(str).isin(params.flammable_industries).to_numpy()
            flammable = (ent.geometry.values[keep], _names(ent, "企业")[keep],
                         np.array(["易燃易爆场所"] * int(keep.sum()), dtype=object))
        else:
            notes.append(tr("企业图层无 industry 字段：未识别易燃易爆场所",
                            "the enterprises layer has no industry field: no flammable or explosive sites identified"))
    prot = _layer_metric(protected, metric_crs, "protected areas")
    if prot is None and (lines["medium"] == "oil").any():
        notes.append(tr("未提供保护区图层：未评价输油e)（湿地、森林、河口等国家自然保护地区）",
                        "no protected-areas layer: oil criterion e) (wetlands, forests, estuaries and other national "
                        "nature reserves) not assessed"))
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
        notes.append(tr("未提供人口栅格：未评价户数（地区等级）准则",
                        "no population raster: the household (location class) criteria not assessed"))

    feature_idx, parts = _line_parts(lines_m)
    keep = ~city[feature_idx]
    feature_idx, parts = feature_idx[keep], parts[keep]
    rows, geoms = [], []
    try:
        for li, (fi, line) in enumerate(zip(feature_idx, parts)):
            frac0, frac1 = li / len(parts), (li + 1) / len(parts)
            rec = lines.iloc[fi]
            label = str(rec["name"])
            if progress is not None:
                progress(frac0, tr(f"{label}：高后果区识别", f"{label}: finding HCAs"))
            pieces, starts, ends = split_line(line, params.step_m)
            tree = shapely.STRtree(pieces)
            flags = _Flags(len(pieces))
            medium = rec["medium"]
            location = np.zeros(len(pieces), dtype=bool)
            if ds is not None:
                households, persons = _households_per_piece(ds, pieces, tree, metric_crs, params, progress,
                                                            frac0, frac0 + 0.8 * (frac1 - frac0), label)
                location = _density_flags(flags, medium, households, persons, params, ends - starts)
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
                if prot is not None:
                    pl = (prot["kind"].astype(str).str.lower().map(PROTECTED_KIND_ZH).fillna("保护地区")
                          .to_numpy(object) if "kind" in prot.columns else None)
                    _presence_flags(flags, tree, prot.geometry.values, _names(prot, "保护地区"), pl,
                                    params.corridor_m, rules.OIL_CRITERIA["e"].grade, "e",
                                    f"{params.corridor_m:g}m内湿地/森林/河口等国家自然保护地区")
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
                    outside_class34 = ~location  # the window's location class, not the trimmed HCA
                    _presence_flags(flags, tree, *flammable, params.corridor_m,
                                    params.gas_flammable_grade, "f",
                                    f"三、四级地区以外{params.corridor_m:g}m内易燃易爆场所", allowed=outside_class34)
            _segments(flags, line, starts, ends, rec, pir[fi], int(fi), rows, geoms)
    finally:
        if own_ds:
            ds.close()
    if progress is not None:
        progress(1.0, tr("高后果区识别完成", "HCAs done"))

    import geopandas as gpd

    hca = gpd.GeoDataFrame(pd.DataFrame(rows, columns=HCA_COLUMNS), geometry=list(geoms) if geoms else [],
                           crs=metric_crs).to_crs(lines.crs)
    record = provenance(
        "pipeline_hca",
        {"pipelines": layer_source(pipelines) or describe_input(pipelines),
         "population": str(population) if isinstance(population, (str, Path)) else describe_input(population),
         "sensitive": layer_source(sensitive) or describe_input(sensitive),
         "water": layer_source(water) or describe_input(water), "roads": layer_source(roads) or describe_input(roads),
         "enterprises": layer_source(enterprises) or describe_input(enterprises),
         "protected": layer_source(protected) or describe_input(protected)},
        {**params.to_dict(), "metric_crs": metric_crs.to_string()},
        rules.standards_cited(),
        notes + [
            tr(f"四级地区/油管a)以户数≥{params.class4_households:g}近似（标准按楼层定义）",
               f"class 4 locations / oil a) approximated by households ≥ {params.class4_households:g} "
               "(the standard defines them by storeys)"),
            tr(f"输气e)等级取{params.gas_other_site_grade}、f)等级取{params.gas_flammable_grade}（GB 32167-2015 表2，"
               "按引条文的抄本默认Ⅰ/Ⅱ级；一份抄本作Ⅱ/Ⅲ级）",
               f"gas e) graded {params.gas_other_site_grade}, f) graded {params.gas_flammable_grade} (GB 32167-2015 "
               "Table 2; Ⅰ/Ⅱ by default after the copies that quote the clause; one copy has Ⅱ/Ⅲ)"),
            tr(f"潜在影响半径系数{params.pir_coefficient:g}（GB 32167-2015 式(1)，部分核实）",
               f"potential impact radius coefficient {params.pir_coefficient:g} (GB 32167-2015 formula (1), "
               "partly verified)"),
            tr(f"高后果区范围：2 km窗口判定地区等级/户数准则，范围取有建筑物里程段两端各外延{params.hca_boundary_m:g}m"
               f"（GB 32167-2015 §6.1.1.2）；人口栅格无建筑物，以走廊人口密度≥{params.built_up_density:g}人/km²近似",
               "high-consequence-area extent: location class / household criteria judged over a 2 km window; the "
               f"area is the built-up stretch extended by {params.hca_boundary_m:g} m at each end "
               "(GB 32167-2015 §6.1.1.2); a population raster has no buildings, so built-up is approximated by "
               f"a corridor population density ≥ {params.built_up_density:g} persons/km²"),
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
# protection corridors (Pipeline Protection Law Art. 30–35; GB 50028)
# ---------------------------------------------------------------------------
def _crossing_areas(line_geoms, water_metric, params):
    """Art. 32 areas: 500 m each side of the pipeline where it crosses a river.

    Water polygons: the river within 500 m of the part of the line inside it. Water lines (a river
    without its banks): the disc of 500 m around each crossing point. Returns ``(line index, area,
    water name)`` arrays.
    """
    if water_metric is None or len(water_metric) == 0:
        return np.array([], int), np.array([], object), np.array([], object)
    wat = water_metric
    if "kind" in wat.columns and params.crossing_water_kinds:
        wat = wat.loc[wat["kind"].astype(str).str.lower().isin([k.lower() for k in params.crossing_water_kinds])]
        wat = wat.reset_index(drop=True)
    if len(wat) == 0:
        return np.array([], int), np.array([], object), np.array([], object)
    wgeoms = wat.geometry.values
    w_idx, l_idx = shapely.STRtree(line_geoms).query(wgeoms, predicate="intersects")
    if w_idx.size == 0:
        return np.array([], int), np.array([], object), np.array([], object)
    wg, lg = wgeoms[w_idx], line_geoms[l_idx]
    crossing = shapely.intersection(lg, wg)
    is_poly = np.isin(shapely.get_type_id(wg), (3, 6))
    band = rules.ART32.outer_m
    areas = np.where(is_poly, shapely.intersection(shapely.buffer(crossing, band, quad_segs=16), wg),
                     shapely.buffer(crossing, band, quad_segs=16))
    ok = ~shapely.is_empty(areas)
    return l_idx[ok], areas[ok], _names(wat, "河流")[w_idx[ok]]


def protection_corridors(pipelines, bands=rules.PROTECTION_BANDS, *, params: rules.HCAParameters | None = None,
                         water=None):
    """Protection bands of each pipeline.

    Transmission lines: the Pipeline Protection Law rings (Art. 30 0–5 m; Art. 35 5–50 m and
    50–200 m, application zones for new works), Art. 32 areas where a line crosses a river of the
    ``water`` layer (500 m each side) and Art. 33 bands (1000 m each side) of features whose
    ``tunnel`` field is true. City-gas mains: one band of their GB 50028 spacing (the law's
    bands do not apply to city gas).

    Returns
    -------
    GeoDataFrame
        Polygons with ``name``, ``medium``, ``band``, ``band_key``, ``inner_m``, ``outer_m``,
        ``article``, ``rule``; pipelines' CRS.
    """
    import geopandas as gpd

    params = params or rules.HCAParameters()
    lines = normalise_pipelines(pipelines)
    metric_crs = crs_policy.metric_crs_for(lines)
    geoms = lines.to_crs(metric_crs).geometry.values
    city = city_gas_mask(lines, params)
    names, media = lines["name"].to_numpy(object), lines["medium"].to_numpy(object)
    trans = np.flatnonzero(~city)
    frames = []

    def frame(idx, band_label, key, inner, outer, article, rule, geometry):
        return pd.DataFrame({"name": names[idx], "medium": media[idx], "band": band_label, "band_key": key,
                             "inner_m": inner, "outer_m": outer, "article": article, "rule": rule,
                             "geometry": geometry})

    for band in bands:
        g = geoms[trans]
        outer = shapely.buffer(g, band.outer_m, quad_segs=16)
        ring = shapely.difference(outer, shapely.buffer(g, band.inner_m, quad_segs=16)) if band.inner_m > 0 else outer
        frames.append(frame(trans, band.label, band.key, band.inner_m, band.outer_m, band.article, band.rule, ring))
    l_idx, areas, rivers = _crossing_areas(geoms[trans], _layer_metric(water, metric_crs, "water"), params)
    if len(l_idx):
        a = rules.ART32
        frames.append(frame(trans[l_idx], [f"穿越{r}两侧{a.outer_m:g} m" for r in rivers], a.key, 0.0, a.outer_m,
                            a.article, a.rule, areas))
    tunnel = np.flatnonzero(~city & lines["tunnel"].to_numpy(bool))
    if len(tunnel):
        a = rules.ART33
        frames.append(frame(tunnel, f"隧道两侧{a.outer_m:g} m", a.key, 0.0, a.outer_m, a.article, a.rule,
                            shapely.buffer(geoms[tunnel], a.outer_m, quad_segs=16)))
    spacing, basis = line_spacing(lines, params)
    cg = np.flatnonzero(city & np.isfinite(spacing))
    if len(cg):
        frames.append(frame(cg, [f"0–{spacing[i]:g} m" for i in cg], "gb50028", 0.0, spacing[cg],
                            [f"{b}" for b in basis[cg]], rules.VERDICTS["city_gas"][2],
                            shapely.buffer(geoms[cg], spacing[cg], quad_segs=16)))
    cols = ["name", "medium", "band", "band_key", "inner_m", "outer_m", "article", "rule", "geometry"]
    frames = [f for f in frames if len(f)]
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({c: [] for c in cols})
    out = gpd.GeoDataFrame(data, geometry="geometry", crs=metric_crs)
    return out.to_crs(lines.crs)


def find_encroachments(pipelines, targets: dict, params: rules.HCAParameters | None = None):
    """Targets (buildings, plants, identified sites) with a verdict officials use.

    Verdicts per (target, pipeline), the most severe that applies:

    - **占压** (Pipeline Protection Law Art. 30): any building or site within 5 m of a
      transmission line's centreline;
    - **安全间距不足** (Art. 31): dense buildings (``sensitive``, ``buildings``) and flammable sites
      (plants whose ``industry`` is in ``params.flammable_industries``) closer than the line's
      design-code spacing (:func:`line_spacing`, parameters);
    - **位于潜在影响半径内** (GB 32167-2015 式(1)): anything within a gas transmission line's
      potential impact radius (oil lines have none);
    - **间距不足（GB 50028）**: any building closer to a city-gas main than its GB 50028 spacing
      (the Protection Law does not apply to city gas).

    Targets with none of these are not listed (Art. 35 governs applications for new works, not
    existing buildings).

    Parameters
    ----------
    pipelines : GeoDataFrame
    targets : dict
        ``{kind: GeoDataFrame}``, kind ``"sensitive"``, ``"enterprises"``, ``"buildings"`` ...
    params : HCAParameters, optional
        Spacings, city-gas kinds, PIR coefficient, flammable industries.

    Returns
    -------
    GeoDataFrame
        Columns :data:`ENCROACHMENT_COLUMNS` (``limit_m`` the distance of the verdict's rule);
        most severe verdict first, then nearest; pipelines' CRS.
    """
    import geopandas as gpd

    params = params or rules.HCAParameters()
    lines = normalise_pipelines(pipelines)
    metric_crs = crs_policy.metric_crs_for(lines)
    line_geoms = lines.to_crs(metric_crs).geometry.values
    city = city_gas_mask(lines, params)
    gas = (lines["medium"] == "gas").to_numpy() & ~city
    pir = np.where(gas, impact_radii(lines, params.pir_coefficient).to_numpy(), np.nan)
    spacing, basis = line_spacing(lines, params)
    occupy_m = rules.PROTECTION_BANDS[0].outer_m
    reach = np.nanmax(np.column_stack([np.where(city, 0.0, occupy_m), spacing, pir]), axis=1)
    tree = shapely.STRtree(line_geoms)
    frames = []
    for kind, gdf in (targets or {}).items():
        tm = _layer_metric(gdf, metric_crs, TARGET_KIND_ZH.get(kind, kind))
        if tm is None or len(tm) == 0:
            continue
        tg = tm.geometry.values
        t_idx, l_idx = tree.query(tg, predicate="dwithin", distance=float(np.nanmax(reach)))
        if t_idx.size == 0:
            continue
        d = shapely.distance(tg[t_idx], line_geoms[l_idx])
        if "industry" in tm.columns:
            art31 = tm["industry"].astype(str).isin(params.flammable_industries).to_numpy()
        else:
            art31 = np.full(len(tm), kind in ART31_KINDS)
        is_city, sp = city[l_idx], spacing[l_idx]
        code = np.full(len(d), "", dtype=object)
        code[is_city & (d < sp)] = "city_gas"
        occupy = ~is_city & (d <= occupy_m)
        code[occupy] = "occupy"
        short = ~is_city & ~occupy & art31[t_idx] & (d < sp)
        code[short] = "spacing"
        code[~is_city & ~occupy & ~short & gas[l_idx] & (d <= pir[l_idx])] = "pir"
        keep = code != ""
        if not keep.any():
            continue
        t_idx, l_idx, d, code = t_idx[keep], l_idx[keep], d[keep], code[keep]
        limit = np.select([code == "occupy", code == "pir"], [occupy_m, pir[l_idx]], spacing[l_idx])
        article = np.array([rules.VERDICTS[c][1] for c in code], dtype=object)
        article = np.where(np.isin(code, ["spacing", "city_gas"]), [f"{a}（{b}）" for a, b in
                                                                     zip(article, basis[l_idx])], article)
        if "category" in tm.columns:
            cats = tm["category"].astype(str).map(lambda c: CATEGORY_ZH.get(c, c)).to_numpy(object)
        elif "industry" in tm.columns:
            cats = tm["industry"].astype(str).map(lambda c: INDUSTRY_ZH.get(c, c)).to_numpy(object)
        else:
            cats = np.full(len(tm), TARGET_KIND_ZH.get(kind, kind), dtype=object)
        frames.append(pd.DataFrame({
            "target_kind": TARGET_KIND_ZH.get(kind, kind), "name": _names(tm, kind)[t_idx], "category": cats[t_idx],
            "pipeline": lines["name"].to_numpy(object)[l_idx], "distance_m": np.round(d, 1),
            "verdict": [rules.VERDICTS[c][0] for c in code], "limit_m": np.round(limit.astype(float), 1),
            "article": article, "rule": [rules.VERDICTS[c][2] for c in code],
            "rank": [rules.VERDICT_RANK[c] for c in code], "geometry": tg[t_idx]}))
    if not frames:
        return gpd.GeoDataFrame(pd.DataFrame({c: [] for c in ENCROACHMENT_COLUMNS}), geometry="geometry",
                                crs=lines.crs)
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=metric_crs)
    out = out.sort_values(["rank", "distance_m"], kind="stable").drop(columns="rank").reset_index(drop=True)
    return out[ENCROACHMENT_COLUMNS].to_crs(lines.crs)


# ---------------------------------------------------------------------------
# everything at once (GUI, CLI)
# ---------------------------------------------------------------------------
def analyse_pipelines(pipelines, population=None, *, sensitive=None, water=None, roads=None, enterprises=None,
                      protected=None, buildings=None, params: rules.HCAParameters | None = None,
                      bands=rules.PROTECTION_BANDS, progress=None) -> PipelineResult:
    """HCA segments, protection corridors, encroachment verdicts and the scope table in one call.

    See :func:`identify_hca`, :func:`protection_corridors`, :func:`find_encroachments` and
    :func:`pipeline_scope`.
    """

    def sub(lo, hi):
        if progress is None:
            return None
        return lambda f, m: progress(lo + (hi - lo) * f, m)

    params = params or rules.HCAParameters()
    hca, record = identify_hca(pipelines, population, sensitive=sensitive, water=water, roads=roads,
                               enterprises=enterprises, protected=protected, params=params, progress=sub(0.0, 0.9))
    if progress is not None:
        progress(0.9, tr("管道保护范围", "pipeline protection bands"))
    corridors = protection_corridors(pipelines, bands, params=params, water=water)
    targets = {k: v for k, v in (("sensitive", sensitive), ("enterprises", enterprises), ("buildings", buildings))
               if v is not None}
    encroachments = find_encroachments(pipelines, targets, params)
    scope = pipeline_scope(pipelines, params)
    record["parameters"]["protection_bands_m"] = [(b.inner_m, b.outer_m) for b in bands]
    counts = encroachments["verdict"].value_counts()
    record["notes"].append(
        tr("保护范围核查：", "protection-band check: ")
        + (tr("，", ", ").join(tr(f"{v} {int(counts[v])} 个", f"{v}: {int(counts[v])}") for v in counts.index)
           if len(counts) else tr("无占压、安全间距不足或潜在影响半径内目标",
                                  "no encroachment, short safety distance or target within the potential impact radius"))
        + tr("（第三十五条为新建工程申请范围，不作为既有建筑的结论）",
             " (Article 35 is the application range for new works, not a finding on existing buildings)"))
    n32 = int((corridors["band_key"] == "art32").sum())
    if n32:
        record["notes"].append(tr(f"第三十二条：管道穿越河流{n32}处，两侧各500m划定禁止抛锚、挖砂等范围",
                                  f"Article 32: the pipelines cross rivers at {n32} place(s); 500 m on each side "
                                  "where anchoring, sand dredging and the like are forbidden"))
    elif water is not None:
        record["notes"].append(tr("第三十二条：未发现管道穿越河流", "Article 32: no river crossing found"))
    else:
        record["notes"].append(tr("未提供水体图层：未评价第三十二条河流穿越",
                                  "no water layer: Article 32 river crossings not assessed"))
    lines = normalise_pipelines(pipelines)
    if lines["tunnel"].any():
        record["notes"].append(tr(f"第三十三条：隧道管段{int(lines['tunnel'].sum())}条，两侧各1000m",
                                  f"Article 33: {int(lines['tunnel'].sum())} tunnel section(s), 1000 m on each side"))
    else:
        record["notes"].append(tr("管道图层无隧道属性（tunnel/隧道字段为是的管段）：未评价第三十三条隧道两侧1000m范围",
                                  "the pipelines layer has no tunnel attribute (sections whose tunnel/隧道 field is "
                                  "yes): Article 33's 1000 m either side of tunnels not assessed"))
    if progress is not None:
        progress(1.0, tr("完成", "done"))
    return PipelineResult(hca, corridors, encroachments, record, scope)


__all__ = ["PipelineResult", "analyse_pipelines", "city_gas_mask", "find_encroachments", "identify_hca",
           "impact_radii", "line_spacing", "normalise_pipelines", "pipeline_scope", "protection_corridors",
           "split_line"]
