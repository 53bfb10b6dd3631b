"""Tailings ponds (尾矿库): grade (等别) and 头顶库 (overhead pond) identification.

Grade: :func:`riskmap.analysis.tailings_rules.tailings_grade` (GB 39496-2020 《尾矿库安全规程》,
which replaced AQ 2006-2005 on 2021-09-01: grades 三–五 unchanged, grade-一/二 bounds as
parameters; combination rule GB 50863-2013 §3.2.1). The storage graded is the current stage's
全库容 (field ``stage_capacity``, aliases 全库容 / 现状全库容) when given, else the design 总库容
(``capacity``) with a note; the columns ``capacity_used`` and ``capacity_kind`` say which. A
头顶库 of grade 二–四 gets "需论证是否提等" (``raise_note``; §3.2.1 allows a one-grade raise after
a demonstration), never an automatic raise.

头顶库 ("residents or important facilities within 1 km downstream, inclusive"):

1. The downstream path from each dam is traced on the DEM for ``downstream_m`` (D8 steepest
   descent crossing pits at their spill points, :mod:`riskmap.analysis.terrain`). Without a
   DEM (or when the dam lies outside it) the straight line towards ``downstream_az`` is used.
2. The downstream corridor is the path buffered by ``half_width_m`` on each side with flat
   ends, so nothing behind the dam or beyond the distance counts; its boundary counts
   (inclusive).
3. Residents = population raster summed over the corridor (sub-cell sampling); present when
   the rounded sum reaches ``min_people``. Facilities = features of the facility layers
   (sensitive targets, plants, important roads ...) meeting the corridor.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from riskmap import crs as crs_policy
from riskmap.analysis import tailings_rules as rules
from riskmap.analysis import terrain
from riskmap.analysis.popgrid import polygon_population
from riskmap.analysis.fields import apply_field_aliases, layer_source
from riskmap.analysis.provenance import describe_input, provenance
from riskmap.errors import EmptyLayerError, ParameterError
from riskmap.i18n import tr

FIELD_ALIASES = {"name": ("名称", "尾矿库名称"), "capacity": ("总库容", "设计总库容", "库容", "capacity_1e4m3"),
                 "stage_capacity": ("stage_cap", "全库容", "现状全库容", "当前全库容", "current_capacity"),
                 "dam_height": ("坝高", "总坝高"), "downstream_az": ("downstream", "下游方位", "下游方位角")}  # DBF names stop at 10 chars
#: Trace stop of a pond without a usable location (no geometry, an empty one, coordinates that do not project).
NO_LOCATION = "无坐标，未追踪下游"
CAPACITY_KIND = {"stage": "全库容（现状）", "total": "总库容（设计，无全库容数据）"}
FACILITY_KIND_ZH = {"sensitive": "敏感目标", "enterprises": "企业", "roads": "道路", "facilities": "设施"}
CATEGORY_ZH = {"school": "学校", "hospital": "医院", "nursing_home": "养老院", "market": "商场/市场",
               "kindergarten": "幼儿园", "expressway": "高速公路", "national": "国道", "provincial": "省道",
               "county": "县道", "township": "乡道", "railway": "铁路", "hazchem": "危化企业",
               "non_coal_mine": "非煤矿山", "fireworks": "烟花爆竹企业", "metallurgy": "冶金企业",
               "industry_trade": "工贸企业"}

#: Trace method of a DEM path (D8 steepest descent).
TRACE_DEM = "DEM最陡坡降（D8）"

#: Features this close to a corridor count as inside it (the 1 km limit is inclusive).
BOUNDARY_TOLERANCE_M = 0.01

RESULT_COLUMNS = ["capacity_used", "capacity_kind", "grade", "grade_v", "grade_h", "grade_basis", "raise_note",
                  "overhead", "overhead_zh", "downstream_pop",
                  "downstream_facilities", "n_facilities", "trace_method", "trace_length_m", "pits_crossed",
                  "trace_stop", "reason"]


@dataclass
class TailingsResult:
    """Result of :func:`assess_tailings`."""

    tailings: object     # points with grade and 头顶库 columns
    corridors: object    # downstream corridor polygons
    paths: object        # downstream flow paths (lines)
    facilities: object   # facilities inside the corridors
    provenance: dict


def normalise_tailings(tailings):
    """Tailings points with numeric ``capacity`` (总库容, 10⁴ m³), ``stage_capacity`` (全库容 of the
    current stage, optional), ``dam_height`` (m) and ``downstream_az`` (deg).

    Chinese column names (名称, 总库容, 全库容, 坝高, 下游方位) are accepted. Missing values stay NaN.
    """
    src = layer_source(tailings)
    if tailings is None or len(tailings) == 0:
        raise EmptyLayerError(tr("尾矿库图层没有要素，请选择含尾矿库的图层",
                                 "the tailings layer has no features; choose a layer with tailings ponds"), src)
    gdf = apply_field_aliases(tailings, FIELD_ALIASES, {"name": lambda n: [f"尾矿库{i + 1}" for i in range(n)],
                                                        "downstream_az": lambda n: np.nan,
                                                        "stage_capacity": lambda n: np.nan},
                              layer="tailings", hint="capacity in 10^4 m³, dam_height in m", source=src)
    # a missing name is the row's default name (pandas 3 keeps NaN through astype(str): joins failed on it)
    gdf["name"] = gdf["name"].astype(object).where(gdf["name"].notna(),
                                                   pd.Series([f"尾矿库{i + 1}" for i in range(len(gdf))],
                                                             index=gdf.index, dtype=object))
    for field in ("capacity", "stage_capacity", "dam_height", "downstream_az"):
        gdf[field] = pd.to_numeric(gdf[field], errors="coerce")
    gdf["name"] = gdf["name"].astype(str)
    types = set(gdf.geom_type.dropna())
    if not types <= {"Point", "MultiPoint", "Polygon", "MultiPolygon"}:
        raise ParameterError(tr(f"尾矿库图层须为点（坝址）或面要素，实为 {'、'.join(sorted(types))}",
                                "the tailings layer must hold points (dams) or polygons, found "
                                f"{', '.join(sorted(types))}"), src)
    return gdf


def facility_kind(facilities) -> str:
    """Kind of a facility layer, from its fields.

    ``"roads"`` (a ``road_class`` field), ``"enterprises"`` (``industry``), ``"sensitive"``
    (``category``), else ``"facilities"``; the keys of :func:`assess_tailings`' ``facilities``.
    """
    cols = set(facilities.columns)
    if "road_class" in cols:
        return "roads"
    if "industry" in cols:
        return "enterprises"
    if "category" in cols:
        return "sensitive"
    return "facilities"


def grade_tailings(tailings, grade_rules: rules.GradeRules = rules.GB_39496_2020) -> pd.DataFrame:
    """Grade (等别) of every pond.

    The storage graded is ``stage_capacity`` (the current stage's 全库容) where given, else
    ``capacity`` (the design 总库容), and the basis says so.

    Returns
    -------
    DataFrame
        ``capacity_used`` (10⁴ m³), ``capacity_kind`` (全库容（现状） / 总库容（设计…）), ``grade``,
        ``grade_v``, ``grade_h``, ``grade_basis``.
    """
    gdf = normalise_tailings(tailings)
    stage = gdf["stage_capacity"].to_numpy(float)
    has_stage = np.isfinite(stage)
    used = np.where(has_stage, stage, gdf["capacity"].to_numpy(float))
    recs = [rules.tailings_grade(v, h, grade_rules) for v, h in zip(used, gdf["dam_height"].to_numpy(float))]
    out = pd.DataFrame(recs, index=gdf.index).rename(columns={"basis": "grade_basis"})
    kind = np.where(has_stage, CAPACITY_KIND["stage"], CAPACITY_KIND["total"])
    prefix = np.where(has_stage, "按现状全库容定等；", "无现状全库容，按设计总库容定等；")
    out["grade_basis"] = [f"{a}{b}" for a, b in zip(prefix, out["grade_basis"])]
    out.insert(0, "capacity_kind", kind)
    out.insert(0, "capacity_used", used)
    for col in ("grade", "grade_v", "grade_h"):
        out[col] = out[col].astype("Int64")
    return out


def downstream_corridor(path, half_width_m: float):
    """The corridor around a downstream path: ``half_width_m`` each side, flat ends (metric CRS)."""
    if path is None or shapely.is_empty(path) or path.length == 0:
        return None
    return shapely.buffer(path, half_width_m, cap_style="flat", join_style="round", quad_segs=16)


def _facility_frames(facilities: dict, metric_crs, corridors, names, params):
    """Facilities meeting each corridor: (per-pond list of important labels, facilities frame)."""
    n = len(corridors)
    important = [[] for _ in range(n)]
    everything = [0] * n
    frames = []
    valid = np.array([c is not None for c in corridors])
    if not valid.any():
        return important, everything, frames
    cidx = np.flatnonzero(valid)
    tree = shapely.STRtree(np.asarray([corridors[i] for i in cidx], dtype=object))
    for key, gdf in (facilities or {}).items():
        if gdf is None or len(gdf) == 0:
            continue
        kind = str(key).split(":")[0]  # "roads:县道图层" is a second roads layer
        if gdf.crs is None:
            raise crs_policy.CRSError(tr(f"{FACILITY_KIND_ZH.get(kind, kind)}图层没有坐标系，请先指定",
                                         f"the {kind} layer has no coordinate reference system; name one"),
                                      layer_source(gdf))
        fm = gdf.to_crs(metric_crs).reset_index(drop=True)
        geoms = fm.geometry.values
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        # 1 cm tolerance: the corridor boundary (1 km, inclusive) counts despite coordinate round-off
        f_idx, c_pos = tree.query(np.where(ok, geoms, None), predicate="dwithin", distance=BOUNDARY_TOLERANCE_M)
        if f_idx.size == 0:
            continue
        cat_col = next((c for c in ("category", "road_class", "industry", "kind") if c in fm.columns), None)
        cats = fm[cat_col].astype(str).to_numpy(object) if cat_col else np.full(len(fm), "", object)
        fnames = _names(fm, FACILITY_KIND_ZH.get(kind, kind))
        if kind == "roads" and "road_class" in fm.columns:
            is_important = np.isin(fm["road_class"].astype(str).str.lower().to_numpy(),
                                   [c.lower() for c in params.important_road_classes])
        else:
            is_important = np.full(len(fm), kind in params.facility_kinds)
        pond = cidx[c_pos]
        labels = np.array([f"{CATEGORY_ZH.get(c, FACILITY_KIND_ZH.get(kind, kind))}「{nm}」"
                           for c, nm in zip(cats[f_idx], fnames[f_idx])], dtype=object)
        for p, lab, imp in zip(pond, labels, is_important[f_idx]):
            everything[p] += 1
            if imp and lab not in important[p]:
                important[p].append(lab)
        frames.append(pd.DataFrame({
            "tailings": names[pond], "facility_kind": FACILITY_KIND_ZH.get(kind, kind), "name": fnames[f_idx],
            "category": [CATEGORY_ZH.get(c, c) for c in cats[f_idx]], "important": is_important[f_idx],
            "geometry": geoms[f_idx]}))
    return important, everything, frames


def _names(gdf, fallback: str) -> np.ndarray:
    for col in ("name", "名称", "code"):
        if col in gdf.columns:
            return gdf[col].astype(str).where(gdf[col].notna(), fallback).to_numpy(object)
    return np.array([f"{fallback}{i + 1}" for i in range(len(gdf))], dtype=object)


def assess_tailings(tailings, dem=None, population=None, *, facilities: dict | None = None,
                    grade_rules: rules.GradeRules = rules.GB_39496_2020,
                    params: rules.OverheadParameters | None = None, progress=None) -> TailingsResult:
    """Grade every tailings pond and find the 头顶库 (overhead ponds).

    Parameters
    ----------
    tailings : GeoDataFrame
        Dams (points; polygons use their centroid) with ``name``, ``capacity`` (design 总库容,
        10⁴ m³), optional ``stage_capacity`` (全库容 of the current stage), ``dam_height`` (m) and
        optional ``downstream_az`` (degrees clockwise from north).
    dem : str, Path or rasterio dataset, optional
        Elevation raster for the downstream trace; without it ``downstream_az`` is used.
    population : str, Path or rasterio dataset, optional
        Population raster (persons per cell).
    facilities : dict, optional
        ``{kind: GeoDataFrame}``: ``"sensitive"``, ``"enterprises"``, ``"roads"`` or any other
        kind; see :class:`~riskmap.analysis.tailings_rules.OverheadParameters` for which count.
    grade_rules : GradeRules
        GB 39496-2020 (default, :data:`~riskmap.analysis.tailings_rules.GB_39496_2020`),
        :func:`~riskmap.analysis.tailings_rules.gb39496_rules` (with grade 一) or the withdrawn
        AQ 2006-2005.
    params : OverheadParameters, optional
        Downstream distance (1000 m), corridor half-width, minimum people ...
    progress : callable, optional
        ``progress(fraction, message)``; may raise CancelledError.

    Returns
    -------
    TailingsResult
    """
    import geopandas as gpd

    params = params or rules.OverheadParameters()
    ponds = normalise_tailings(tailings).reset_index(drop=True)
    metric_crs = crs_policy.metric_crs_for(ponds)
    pm = ponds.to_crs(metric_crs)
    dams = pm.geometry.values
    n = len(ponds)
    # a pond without a location (no geometry, an empty one, coordinates that do not project) is graded but not traced
    located = ~(shapely.is_missing(dams) | shapely.is_empty(dams))
    dams = np.where(shapely.get_type_id(dams) == 0, dams, shapely.centroid(dams))
    xs, ys = np.full(n, np.nan), np.full(n, np.nan)
    xs[located], ys[located] = shapely.get_x(dams[located]), shapely.get_y(dams[located])
    located &= np.isfinite(xs) & np.isfinite(ys)
    names = ponds["name"].to_numpy(object)
    notes = []
    if progress is not None:
        progress(0.0, tr("尾矿库定等", "grading tailings ponds"))
    grades = grade_tailings(ponds, grade_rules)

    own = []
    dem_ds = pop_ds = None
    try:
        from riskmap.io import open_raster

        if isinstance(dem, (str, Path)):
            dem_ds = open_raster(dem)
            own.append(dem_ds)
        else:
            dem_ds = dem
        if isinstance(population, (str, Path)):
            pop_ds = open_raster(population)
            own.append(pop_ds)
        else:
            pop_ds = population

        paths, methods, lengths, pits, stops = [None] * n, ["无"] * n, np.zeros(n), np.zeros(n, int), [""] * n
        for i in np.flatnonzero(~located):
            stops[i] = NO_LOCATION
        if dem_ds is not None:
            traces = terrain.trace_many(dem_ds, xs[located], ys[located], metric_crs, params.downstream_m,
                                        max_fill_cells=params.max_fill_cells,
                                        progress=None if progress is None else
                                        (lambda f, m: progress(0.05 + 0.55 * f, m)))
            for i, trace in zip(np.flatnonzero(located), traces):
                if trace.line is not None:
                    paths[i], methods[i] = trace.line, TRACE_DEM
                    lengths[i], pits[i] = trace.length_m, trace.pits_crossed
                    stops[i] = terrain.STOP_REASONS.get(trace.stop, trace.stop)
                else:
                    stops[i] = terrain.STOP_REASONS.get(trace.stop, trace.stop)
        else:
            notes.append(tr("未提供DEM：按下游方位角（downstream_az）作直线走廊",
                            "no DEM: straight corridors along the downstream azimuth (downstream_az)"))
        az = ponds["downstream_az"].to_numpy(float)
        for i in range(n):
            if paths[i] is None and np.isfinite(az[i]) and located[i]:
                paths[i] = terrain.azimuth_line(xs[i], ys[i], az[i], params.downstream_m)
                methods[i], lengths[i] = "下游方位角", params.downstream_m
                stops[i] = stops[i] or "达到追踪长度"
        corridors = [downstream_corridor(shapely.simplify(p, params.smooth_m) if p is not None else None,
                                         params.half_width_m) for p in paths]

        if progress is not None:
            progress(0.6, tr("下游人口统计", "downstream population"))
        if pop_ds is not None:
            pops = polygon_population(pop_ds, corridors, metric_crs, params.subcell_m,
                                      progress=None if progress is None else
                                      (lambda f, m: progress(0.6 + 0.3 * f, tr("下游人口统计", "downstream population"))))
        else:
            pops = np.full(n, np.nan)
            notes.append(tr("未提供人口栅格：仅按设施判定头顶库",
                            "no population raster: overhead ponds judged by the facilities only"))
    finally:
        for ds in own:
            ds.close()

    if progress is not None:
        progress(0.9, tr("下游设施", "downstream facilities"))
    important, counts, frames = _facility_frames(facilities, metric_crs, corridors, names, params)

    rows = []
    for i in range(n):
        if corridors[i] is None:
            rows.append({"overhead": False, "overhead_zh": "未判定", "downstream_pop": np.nan,
                         "downstream_facilities": "", "n_facilities": 0,
                         "reason": "无坐标，未判定头顶库" if not located[i] else "无DEM流向且无下游方位角，未判定头顶库"})
            continue
        pop = float(pops[i]) if np.isfinite(pops[i]) else np.nan
        people = rules.people_present(pop, params.min_people)
        facs = important[i]
        overhead = bool(people or facs)
        parts = []
        if np.isfinite(pop):
            parts.append(f"下游{params.downstream_m:g}m（含）走廊内约{pop:.0f}人"
                         + ("" if people else f"（不足{max(params.min_people, 1):g}人）"))
        if facs:
            parts.append("重要设施：" + "、".join(facs[:8]) + (f"等{len(facs)}处" if len(facs) > 8 else ""))
        elif facilities:
            parts.append("无重要设施")
        verdict = "头顶库" if overhead else "非头顶库"
        rows.append({"overhead": overhead, "overhead_zh": "是" if overhead else "否",
                     "downstream_pop": round(pop, 1) if np.isfinite(pop) else np.nan,
                     "downstream_facilities": "；".join(facs), "n_facilities": int(counts[i]),
                     "reason": f"{verdict}：" + "；".join(parts)})
    res = pd.DataFrame(rows)
    res["trace_method"] = methods
    res["trace_length_m"] = np.round(lengths, 1)
    res["pits_crossed"] = pits
    res["trace_stop"] = stops
    out = ponds.drop(columns=[c for c in RESULT_COLUMNS if c in ponds.columns]).copy()
    for col in grades.columns:
        out[col] = grades[col].to_numpy()
    for col in res.columns:
        out[col] = res[col].to_numpy()
    out["overhead"] = out["overhead"].astype(bool)
    out["raise_note"] = [rules.raise_note(g, o) for g, o in zip(out["grade"], out["overhead"])]
    raise_idx = np.flatnonzero(out["raise_note"].to_numpy() != "")
    if len(raise_idx):
        reason = out["reason"].to_numpy(object).copy()
        for i in raise_idx:
            reason[i] = (f"{reason[i]}；{rules.GRADE_ZH[int(out['grade'].iloc[i])]}头顶库{rules.RAISE_NOTE}"
                         f"（{rules.COMBINATION_CLAUSE}：下游有重要城镇、设施时经论证可提高一等）")
        out["reason"] = reason

    corr_gdf = gpd.GeoDataFrame({
        "name": names, "overhead": out["overhead"].to_numpy(), "overhead_zh": out["overhead_zh"].to_numpy(),
        "downstream_pop": out["downstream_pop"].to_numpy(), "downstream_facilities": out["downstream_facilities"],
        "trace_method": methods, "half_width_m": params.half_width_m, "length_m": np.round(lengths, 1)},
        geometry=list(corridors), crs=metric_crs)
    corr_gdf = corr_gdf.loc[corr_gdf.geometry.notna()].reset_index(drop=True).to_crs(ponds.crs)
    path_gdf = gpd.GeoDataFrame({"name": names, "overhead": out["overhead"].to_numpy(), "trace_method": methods,
                                 "length_m": np.round(lengths, 1), "pits_crossed": pits, "trace_stop": stops},
                                geometry=list(paths), crs=metric_crs)
    path_gdf = path_gdf.loc[path_gdf.geometry.notna()].reset_index(drop=True).to_crs(ponds.crs)
    fac_cols = ["tailings", "facility_kind", "name", "category", "important", "geometry"]
    if frames:
        fac_gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                                   crs=metric_crs).to_crs(ponds.crs)
    else:
        fac_gdf = gpd.GeoDataFrame(pd.DataFrame({c: [] for c in fac_cols}), geometry="geometry", crs=ponds.crs)

    n_az = sum(m == "下游方位角" for m in methods)
    if dem_ds is not None and n_az:
        notes.append(tr(f"{n_az}座尾矿库不在DEM范围内，改用下游方位角",
                        f"{n_az} tailings pond(s) outside the DEM use the downstream azimuth instead"))
    short = [names[i] for i in range(n) if paths[i] is not None and lengths[i] < params.downstream_m - 1]
    if short:
        notes.append(tr("下游路径不足设定长度（流出DEM或进入无数据区）：",
                        "downstream paths shorter than the set length (they leave the DEM or enter nodata): ")
                     + tr("、", ", ").join(map(str, short[:10])))
    n_total = int((grades["capacity_kind"] == CAPACITY_KIND["total"]).sum())
    record = provenance(
        "tailings",
        {"tailings": layer_source(tailings) or describe_input(tailings),
         "dem": str(dem) if isinstance(dem, (str, Path)) else describe_input(dem),
         "population": str(population) if isinstance(population, (str, Path)) else describe_input(population),
         **{f"facilities:{k}": layer_source(v) or describe_input(v) for k, v in (facilities or {}).items()}},
        {**params.to_dict(), "grade_rules": grade_rules.edition, "metric_crs": metric_crs.to_string()},
        rules.standards_cited(grade_rules),
        notes + [tr(f"{n_total}座无现状全库容数据，按设计总库容定等",
                    f"{n_total} pond(s) without current total storage data graded by the design total storage")
                 if n_total else tr("均按现状全库容定等", "every pond graded by its current total storage"),
                 *([tr(f"{len(raise_idx)}座二至四等头顶库{rules.RAISE_NOTE}（{rules.COMBINATION_CLAUSE}，未自动提等）",
                       f"{len(raise_idx)} grade 2–4 overhead pond(s) need a study on raising the grade "
                       f"({rules.COMBINATION_CLAUSE}; not raised automatically)")]
                   if len(raise_idx) else []),
                 tr(f"头顶库人数阈值：走廊人口四舍五入后≥{max(params.min_people, 1):g}人；"
                    f"走廊半宽{params.half_width_m:g}m（参数）",
                    f"overhead-pond people threshold: corridor population, rounded, ≥ {max(params.min_people, 1):g}; "
                    f"corridor half-width {params.half_width_m:g} m (parameter)"),
                 tr(f"共{n}座，头顶库{int(out['overhead'].sum())}座",
                    f"{n} pond(s) in all, {int(out['overhead'].sum())} overhead")],
    )
    if progress is not None:
        progress(1.0, tr("完成", "done"))
    out.attrs["provenance"] = record
    return TailingsResult(out, corr_gdf, path_gdf, fac_gdf, record)
