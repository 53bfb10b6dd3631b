"""The analyses, each declared once: inputs, parameters, result tables, runner.

The CLI sub-commands (:mod:`riskmap.cli.analyses`), the window's panels (their forms come from
the same :class:`~riskmap.analysis.declare.ParamSet`), the Excel reports
(:mod:`riskmap.exports.report`), ``riskmap rerun`` and the tests all read :data:`ANALYSES`.
Adding a parameter is one :class:`~riskmap.analysis.declare.Param` line in the analysis's
module; adding a report column is one :class:`~riskmap.analysis.declare.Column` line here.
"""
from __future__ import annotations

import pandas as pd

from riskmap.analysis import gb18218, gb32167, plausibility, tailings_rules
from riskmap.analysis.declare import Analysis, Column, Input, Table
from riskmap.analysis.fourcolour import PARAMS as FOURCOLOUR_PARAMS
from riskmap.analysis.relocation import ENTERPRISE_TYPES
from riskmap.analysis.relocation import PARAMS as RELOCATION_PARAMS
from riskmap.analysis.roads import KINDS, KINDS_EN, PARAMS as ROAD_PARAMS, SEVERITIES, SEVERITIES_EN, subtype_values

YES_NO = {True: ("是", "yes"), False: ("否", "no")}
ROAD_CLASS = {"expressway": ("高速公路", "expressway"), "national": ("国道", "national road"),
              "provincial": ("省道", "provincial road"), "county": ("县道", "county road"),
              "township": ("乡道", "township road"), "village": ("村道", "village road"),
              "railway": ("铁路", "railway")}
HCA_GRADE = {"I": ("Ⅰ级", "I"), "II": ("Ⅱ级", "II"), "III": ("Ⅲ级", "III")}
MEDIUM = {"gas": ("输气", "gas"), "oil": ("输油", "oil")}
PIPE_KIND = {"trunk": ("干线", "trunk"), "products": ("成品油管道", "products"),
             "urban_main": ("城镇燃气干管", "city-gas main"), "": ("未注明", "not given")}
ENTERPRISE_TYPE_LABELS = {**{k: (v, k.replace("_", " ")) for k, v in ENTERPRISE_TYPES.items()},
                          "unknown": ("不明", "unknown")}


def C(zh, en, unit="", digits=None, values=None, personal=False) -> Column:  # noqa: N802 - a table-row helper
    return Column(zh, en, unit, digits, dict(values or {}), personal)


# ---------------------------------------------------------------------------
# relocation
# ---------------------------------------------------------------------------
RELOCATION_TABLES = {
    "plants": Table("plants", "企业明细", "Plants", {
        "name": C("企业名称", "Plant"), "county": C("县区", "County"),
        "safe_dist": C("防护距离", "Safety distance", "m", 0), "safe_dist_src": C("距离来源", "Distance source"),
        "pop_exposed": C("防护距离内人口", "People exposed", "人", 0),
        "nodata_cells": C("无数据栅格数", "No-data cells", digits=0),
        "in_dense": C("与密集区重叠", "Overlaps dense area", values=YES_NO),
        "dense_km2": C("重叠面积", "Dense overlap", "km²", 3),
        "site_in_dense": C("位于密集区内", "Site in dense area", values=YES_NO),
        "sensitive_n": C("敏感目标数", "Sensitive targets", digits=0), "sensitive": C("敏感目标", "Sensitive list"),
        "sens_nearest": C("最近敏感目标", "Nearest sensitive target"),
        "sens_nearest_m": C("最近敏感目标距离", "Nearest sensitive distance", "m", 0),
        "S": C("S(Σq/Q)", "S (Σq/Q)", digits=3), "R": C("R", "R", digits=3), "alpha": C("α", "α", digits=2),
        "pop_alpha": C("厂区边界外500m人口", "Residents within 500 m of the site", "人", 0),
        "alpha_basis": C("α人口统计依据", "α count basis"),
        "hazard_grade": C("分级结果（见分级依据）", "Grade (see basis)"), "grade_basis": C("分级依据", "Grade basis"),
        "units": C("各单元辨识", "Units identified"),
        "major_hazard": C("重大危险源", "Major hazard", values=YES_NO),
        "chem_unknown": C("未识别物质", "Unrecognised substances"),
        "stock_unread": C("无法读取的储量", "Unreadable stock"),
        "ent_type": C("企业类型", "Enterprise type", values=ENTERPRISE_TYPE_LABELS),
        "ent_type_src": C("类型来源", "Type source"),
        "in_scope": C("适用搬迁判定", "In scope", values=YES_NO),
        "in_park": C("位于化工园区", "In a chemical park", values=YES_NO), "park": C("所在园区", "Park"),
        "nearest_park": C("最近化工园区", "Nearest chemical park"),
        "zone_off_raster": C("防护区超出人口栅格", "Zone leaves the population raster", values=YES_NO),
        "verdict": C("结论", "Verdict"), "review": C("需复核防护距离", "Distance to review", values=YES_NO),
        "relocate": C("建议搬迁", "Relocate", values=YES_NO), "priority": C("优先序", "Priority", digits=0),
        "score": C("优先分值", "Priority score", digits=2), "reasons": C("判定理由", "Reasons"),
        "chemicals": C("危险化学品及储量", "Chemicals and stock"), "id": C("编号", "ID"),
    }, sort=(("relocate", False), ("priority", True), ("score", False))),
    "zones": Table("zones", "外部安全防护区", "Safety zones", {
        "name": C("企业名称", "Plant"), "safe_dist": C("防护距离", "Safety distance", "m", 0),
        "relocate": C("建议搬迁", "Relocate", values=YES_NO)}),
    "dense_areas": Table("dense_areas", "人口密集区", "Dense population areas", {
        "area_km2": C("面积", "Area", "km²", 3), "population": C("人口", "Population", "人", 0),
        "density": C("密度", "Density", "人/km²", 0)}),
    "county_summary": Table("county_summary", "县区汇总", "By county", {
        "县区": C("县区", "County"), "评估企业数": C("评估企业数", "Plants assessed"),
        "建议搬迁数": C("建议搬迁数", "To relocate"), "防护距离内人口": C("防护距离内人口", "People exposed", "人", 0),
        "建议搬迁企业防护距离内人口": C("建议搬迁企业防护距离内人口", "People exposed (relocate)", "人", 0),
        "防护距离内敏感目标": C("防护距离内敏感目标", "Sensitive targets exposed"),
        "重大危险源数": C("重大危险源数", "Major hazards"),
        **{g: C(g, f"Grade {g}") for g in gb18218.GRADES}}),
}


def _run_relocation(inputs, params, progress):
    from riskmap.analysis.relocation import assess_relocation

    return assess_relocation(inputs["plants"], inputs["population"], inputs.get("sensitive"), params,
                             progress=progress)


def _wrap_relocation(native, params):
    plants = native.plants
    n_flag = int(plants["relocate"].sum())
    exposed = float(plants.loc[plants["relocate"], "pop_exposed"].sum())
    zh = (f"评估企业 {len(plants)} 家，建议搬迁 {n_flag} 家（防护距离内约 {exposed:,.0f} 人）；"
          f"人口密集区 {len(native.dense_areas)} 处")
    en = (f"{len(plants)} plants assessed, {n_flag} to relocate ({exposed:,.0f} people in their zones); "
          f"{len(native.dense_areas)} dense areas")
    n_review, n_out = int(plants["review"].sum()), int((~plants["in_scope"]).sum())
    zh += f"；需复核防护距离 {n_review} 家；不适用搬迁判定 {n_out} 家"
    en += f"; {n_review} distances to review; {n_out} out of scope"
    return native.layers(), {"county_summary": native.summary}, zh, en, native.provenance


RELOCATION = Analysis(
    "relocation", "搬迁评估", "Relocation assessment",
    [Input("plants", "vector", "企业图层", "Plants", sample="enterprises", geometry=("point", "polygon"),
           fields=("industry", "safe_dist", "chemicals", "企业名称"), words=("企业", "enterprise", "plant", "危化"),
           help_zh="企业：.shp/.gpkg/.geojson/.csv/.xlsx（可用中文表头）",
           help_en="plants: .shp/.gpkg/.geojson/.csv/.xlsx (Chinese headers accepted)",
           plausible=plausibility.RELOCATION_PLANTS),
     Input("population", "raster", "人口栅格", "Population raster", sample="population",
           words=("人口", "population", "pop"), help_zh="人口栅格（GeoTIFF，每格人数）",
           help_en="population raster (GeoTIFF, persons per cell)"),
     Input("sensitive", "vector", "敏感目标", "Sensitive targets", required=False, sample="sensitive",
           geometry=("point", "polygon"), fields=("category",), words=("敏感", "sensitive", "学校"),
           help_zh="敏感目标（学校、医院……）", help_en="sensitive targets (schools, hospitals, ...)")],
    RELOCATION_PARAMS, RELOCATION_TABLES, _run_relocation, _wrap_relocation,
    standards=lambda params: list(gb18218.STANDARD_CITATIONS))
RELOCATION.report_sheets = ("county_summary", "plants")


# ---------------------------------------------------------------------------
# roads
# ---------------------------------------------------------------------------
ROAD_TABLES = {
    "hazard_segments": Table("hazard_segments", "隐患路段", "Hazard segments", {
        "county": C("县区", "County"), "name": C("道路名称", "Road"), "code": C("路线编号", "Route code"),
        "kind": C("隐患类型", "Kind", values={k: (v, k.replace("_", " ")) for k, v in KINDS.items()}),
        "subtype": C("子类", "Subtype", values=subtype_values()),
        "km_label": C("桩号范围", "Chainage"), "km_start": C("起点桩号", "From"), "km_end": C("终点桩号", "To"),
        "start_m": C("起点里程", "Start", "m", 1), "end_m": C("终点里程", "End", "m", 1),
        "length_m": C("长度", "Length", "m", 1),
        "severity": C("风险等级", "Risk level", values={k: (v, SEVERITIES_EN[k]) for k, v in SEVERITIES.items()}),
        "note": C("说明", "Note"),
        "road_class": C("道路等级", "Road class",
                        values={**ROAD_CLASS, **{zh: (zh, en) for zh, en in ROAD_CLASS.values()}}),
        "speed_kmh": C("设计速度", "Design speed", "km/h", 0), "radius_m": C("圆曲线半径", "Radius", "m", 1),
        "radius_limit_m": C("极限最小半径", "Minimum radius", "m", 0),
        "deflection_deg": C("转角", "Deflection", "°", 2), "grade_pct": C("纵坡", "Grade", "%", 2),
        "grade_limit_pct": C("最大纵坡", "Maximum grade", "%", 1), "drop_m": C("临崖落差", "Drop", "m", 1),
        "side": C("侧别", "Side", values={"left": ("左", "left"), "right": ("右", "right")}),
        "water_dist_m": C("距水体", "Distance to water", "m", 1), "water_name": C("水体名称", "Water body"),
        "accidents": C("事故数", "Accidents", "起", 0), "deaths": C("死亡人数", "Deaths", "人", 0),
        "injuries": C("受伤人数", "Injuries", "人", 0), "fatal": C("死亡事故数", "Fatal accidents", "起", 0),
        "equivalent": C("当量事故数", "Equivalent accidents", "起", 1),
        "stationing": C("桩号定义", "Stationing"),
    }),
    "county_counts": Table("county_counts", "按县区统计", "By county", {
        "县区": C("县区", "County"), **{v: C(v, k.replace("_", " ")) for k, v in KINDS.items()}}),
}


def _run_roads(inputs, params, progress):
    from riskmap.analysis.roads import detect_road_hazards

    return detect_road_hazards(inputs["roads"], dem=inputs.get("dem"), water=inputs.get("water"),
                               accidents=inputs.get("accidents"), counties=inputs.get("counties"),
                               km_posts=inputs.get("km_posts"), params=params,
                               progress=progress)


def road_county_counts(segments) -> pd.DataFrame:
    """Segments per county and kind (Chinese kind names as columns)."""
    if not len(segments):
        return pd.DataFrame({"县区": []})
    kinds = segments["kind"].map(KINDS)
    counts = pd.crosstab(segments["county"].replace("", "未分县").to_numpy(), kinds.to_numpy())
    counts.index.name = "县区"
    counts.columns.name = None
    return counts.reset_index()


def _wrap_roads(native, params):
    segments, record = native
    by_kind = segments["kind"].value_counts()
    km = (record.get("parameters") or {}).get("roads_km", "?")
    zh = f"道路 {km} km 上识别隐患路段 {len(segments)} 处：" + "，".join(
        f"{v} {int(by_kind.get(k, 0))}" for k, v in KINDS.items())
    en = f"{len(segments)} hazard segments on {km} km of road: " + ", ".join(
        f"{KINDS_EN[k]} {int(by_kind.get(k, 0))}" for k in KINDS)
    parameters = record.get("parameters") or {}
    if parameters.get("accident_period_start"):
        start, end = parameters["accident_period_start"], parameters["accident_period_end"]
        zh += f"（事故统计时段{start}至{end}）"
        en += f" (accidents of {start} to {end})"
    return {"hazard_segments": segments}, {"county_counts": road_county_counts(segments)}, zh, en, record


ROADS = Analysis(
    "roads", "道路隐患识别", "Road hazard detection",
    [Input("roads", "vector", "道路", "Roads", sample="roads", geometry=("line",), fields=("road_class", "speed_kmh"),
           words=("道路", "road", "公路"), help_zh="道路中心线（name, road_class, speed_kmh）",
           help_en="road centre lines (name, road_class, speed_kmh)", plausible=plausibility.ROADS),
     Input("dem", "raster", "DEM（陡坡、临崖）", "DEM (grades, cliffs)", required=False, sample="dem",
           words=("dem", "地形", "高程", "elevation"), help_zh="高程栅格（米）：陡坡与临崖",
           help_en="elevation GeoTIFF (m): steep grades and near-cliff segments"),
     Input("water", "vector", "水体（临水）", "Water (near water)", required=False, sample="water",
           geometry=("polygon", "line"), words=("水", "water", "河", "湖", "水库"),
           help_zh="水体面或线：临水路段", help_en="water polygons or lines: near-water segments"),
     Input("accidents", "vector", "交通事故点", "Accidents", required=False, sample="accidents", geometry=("point",),
           fields=("deaths", "injuries"), words=("事故", "accident"),
           help_zh="事故点（date, deaths, injuries）：事故多发点段",
           help_en="accident points (date, deaths, injuries): black spots", plausible=plausibility.ACCIDENTS),
     Input("counties", "vector", "县区边界", "Counties", required=False, sample="counties", geometry=("polygon",),
           fields=("adcode",), words=("县", "county", "区划"), help_zh="县区面（name），填写县区列",
           help_en="county polygons (name) to fill the county column"),
     Input("km_posts", "vector", "公里桩（桩号）", "Km posts", required=False, geometry=("point",),
           fields=("桩号", "km"), words=("公里桩", "百米桩", "km post", "kmpost"),
           help_zh="公里桩点（桩号，如K812+300）：按道路主管部门的桩号报告（缺省用道路的起点桩号、断链字段）",
           help_en="km-post points (station, e.g. K812+300): report the road authority's stations (default: the roads' "
                   "start_km and breaks fields)")],
    ROAD_PARAMS, ROAD_TABLES, _run_roads, _wrap_roads)
ROADS.report_sheets = ("hazard_segments", "county_counts")


# ---------------------------------------------------------------------------
# pipelines
# ---------------------------------------------------------------------------
PIPELINE_TABLES = {
    "hca": Table("hca", "高后果区", "High-consequence areas", {
        "name": C("管道名称", "Pipeline"), "medium": C("介质", "Medium", values=MEDIUM),
        "diam_mm": C("管径", "Diameter", "mm", 0), "press_mpa": C("压力", "Pressure", "MPa", 2),
        "pir_m": C("潜在影响半径", "Potential impact radius", "m", 1),
        "hca_grade": C("高后果区等级", "HCA grade", values=HCA_GRADE),
        "start_m": C("起点里程", "From", "m", 0), "end_m": C("终点里程", "To", "m", 0),
        "length_m": C("长度", "Length", "m", 0), "households": C("估算户数", "Households (est.)", "户", 0),
        "criteria": C("识别准则", "Criteria"), "reason": C("原因", "Reason"),
    }, sort=(("name", True), ("start_m", True))),
    "corridors": Table("corridors", "管道保护范围", "Protection bands", {
        "name": C("管道名称", "Pipeline"), "band": C("范围", "Band"), "article": C("条款", "Article"),
        "rule": C("规定", "Rule")}),
    "encroachments": Table("encroachments", "占压与安全间距核查", "Encroachments and spacing", {
        "target_kind": C("类型", "Kind"), "name": C("名称", "Name"), "category": C("类别", "Category"),
        "pipeline": C("管道", "Pipeline"), "distance_m": C("距管道中心线", "Distance to centreline", "m", 1),
        "verdict": C("结论", "Verdict"), "limit_m": C("规定距离", "Required distance", "m", 1),
        "article": C("依据", "Basis"), "rule": C("规定", "Rule"),
    }),
    "scope": Table("scope", "管道适用范围", "Pipeline scope", {
        "name": C("管道名称", "Pipeline"), "kind": C("管道类型", "Kind", values=PIPE_KIND),
        "medium": C("介质", "Medium", values=MEDIUM), "diam_mm": C("管径", "Diameter", "mm", 0),
        "press_mpa": C("压力", "Pressure", "MPa", 2),
        "assessed": C("高后果区识别", "HCA-assessed", values=YES_NO), "scope": C("适用标准与说明", "Scope"),
        "pir_text": C("潜在影响半径(m)", "Potential impact radius (m)"),
        "pressure_class": C("压力级制", "Pressure class"), "spacing_m": C("安全间距", "Spacing", "m", 1),
    }),
}


def _run_pipelines(inputs, params, progress):
    from riskmap.analysis.pipelines import analyse_pipelines

    return analyse_pipelines(inputs["pipelines"], inputs.get("population"), sensitive=inputs.get("sensitive"),
                             water=inputs.get("water"), roads=inputs.get("roads"),
                             enterprises=inputs.get("enterprises"), protected=inputs.get("protected"),
                             buildings=inputs.get("buildings"), params=params, progress=progress)


def _wrap_pipelines(native, params):
    hca = native.hca
    counts = hca["hca_grade"].value_counts()
    km = hca["length_m"].sum() / 1000
    scope = native.scope
    n_city = int((~scope["assessed"]).sum()) if scope is not None else 0
    verdicts = native.encroachments["verdict"].value_counts()
    zh = (f"高后果区 {len(hca)} 段（Ⅲ级 {counts.get('III', 0)}，Ⅱ级 {counts.get('II', 0)}，"
          f"Ⅰ级 {counts.get('I', 0)}），共 {km:.1f} km；占压、安全间距不足等目标 {len(native.encroachments)} 个"
          + (f"（{'，'.join(f'{v} {int(c)}' for v, c in verdicts.items())}）" if len(verdicts) else "")
          + (f"；城镇燃气管道 {n_city} 条不适用GB 32167（按GB 50028间距核查）" if n_city else ""))
    en = (f"high-consequence areas: {len(hca)} segments (III {counts.get('III', 0)}, II {counts.get('II', 0)}, "
          f"I {counts.get('I', 0)}), {km:.1f} km; targets with a verdict: {len(native.encroachments)}"
          + (f"; {n_city} city-gas mains outside GB 32167 (GB 50028 spacing)" if n_city else ""))
    layers = {"hca": hca, "corridors": native.corridors, "encroachments": native.encroachments}
    tables = {"scope": scope} if scope is not None else {}
    return layers, tables, zh, en, native.provenance


PIPELINES = Analysis(
    "pipelines", "管道高后果区识别", "Pipeline high-consequence areas",
    [Input("pipelines", "vector", "管道图层", "Pipelines", sample="pipelines", geometry=("line",),
           fields=("medium", "diam_mm", "press_mpa"), words=("管道", "pipeline"),
           help_zh="管道线（name, medium gas|oil, diam_mm, press_mpa）",
           help_en="pipeline lines (fields name, medium gas|oil, diam_mm, press_mpa)",
           plausible=plausibility.PIPELINES),
     Input("population", "raster", "人口栅格", "Population raster", required=False, sample="population",
           words=("人口", "population", "pop"), help_zh="人口栅格（每格人数）",
           help_en="population raster (persons per cell)"),
     Input("sensitive", "vector", "特定场所/敏感目标", "Identified sites", required=False, sample="sensitive",
           geometry=("point", "polygon"), fields=("category",), words=("敏感", "sensitive", "学校"),
           help_zh="特定场所/敏感目标（点）", help_en="sensitive targets / identified sites (points)"),
     Input("water", "vector", "水体", "Water", required=False, sample="water", geometry=("polygon", "line"),
           words=("水体", "water", "河", "水库"), help_zh="水体（面）", help_en="water bodies (polygons)"),
     Input("roads", "vector", "道路/铁路", "Roads/railways", required=False, sample="roads", geometry=("line",),
           fields=("road_class",), words=("道路", "road", "铁路"), help_zh="道路和铁路（带road_class的线）",
           help_en="roads and railways (lines with road_class)"),
     Input("enterprises", "vector", "企业（易燃易爆场所）", "Enterprises (flammable sites)", required=False,
           sample="enterprises", geometry=("point", "polygon"), fields=("industry",),
           words=("企业", "enterprise", "plant"), help_zh="企业（industry 为危化/烟花爆竹的为易燃易爆场所）",
           help_en="enterprises (points with industry; hazchem/fireworks are flammable sites)"),
     Input("protected", "vector", "保护区（湿地、森林）", "Protected areas (wetland, forest)", required=False,
           geometry=("polygon",), fields=("kind",), words=("保护区", "湿地", "森林", "protected", "wetland", "forest"),
           help_zh="湿地、森林、河口等国家自然保护地区（面，kind: wetland/forest/estuary/nature_reserve）：输油e)",
           help_en="wetlands, forests, estuaries, nature reserves (polygons with kind): oil criterion e)"),
     Input("buildings", "vector", "建筑物", "Buildings", required=False, geometry=("point", "polygon"),
           words=("建筑", "房屋", "building"), help_zh="建筑物（点或面）：占压、安全间距核查",
           help_en="buildings (points or polygons): encroachment and spacing checks")],
    gb32167.PARAMS, PIPELINE_TABLES, _run_pipelines, _wrap_pipelines,
    standards=lambda params: gb32167.standards_cited())
PIPELINES.report_sheets = ("hca", "encroachments", "scope")


# ---------------------------------------------------------------------------
# tailings
# ---------------------------------------------------------------------------
TAILINGS_TABLES = {
    "tailings": Table("tailings", "尾矿库", "Tailings ponds", {
        "name": C("尾矿库名称", "Pond"), "capacity": C("总库容（设计）", "Design total storage", "万m³", 1),
        "stage_capacity": C("全库容（现状）", "Current-stage storage", "万m³", 1),
        "capacity_used": C("定等所用库容", "Storage graded", "万m³", 1),
        "capacity_kind": C("定等库容类型", "Storage graded is"),
        "dam_height": C("坝高", "Dam height", "m", 1), "grade": C("等别", "Grade", digits=0),
        "grade_v": C("按库容等别", "Grade by storage", digits=0), "grade_h": C("按坝高等别", "Grade by height", digits=0),
        "grade_basis": C("定等依据", "Grade basis"), "overhead_zh": C("头顶库", "Overhead pond"),
        "raise_note": C("提等论证", "Grade raise (§3.2.1)"),
        "downstream_pop": C("下游人数", "People downstream", "人", 0),
        "downstream_facilities": C("下游重要设施", "Facilities downstream"),
        "n_facilities": C("下游设施数", "Facilities", digits=0), "trace_method": C("流向方法", "Trace method"),
        "trace_length_m": C("追踪长度", "Trace length", "m", 0), "pits_crossed": C("穿越洼地数", "Pits crossed"),
        "trace_stop": C("追踪结束原因", "Trace stop"), "reason": C("原因", "Reason"),
    }, sort=(("overhead_zh", False), ("grade", True))),
    "corridors": Table("corridors", "尾矿库下游范围", "Downstream corridors", {
        "name": C("尾矿库名称", "Pond"), "overhead_zh": C("头顶库", "Overhead pond"),
        "downstream_pop": C("下游人数", "People downstream", "人", 0),
        "downstream_facilities": C("下游重要设施", "Facilities downstream"),
        "half_width_m": C("走廊半宽", "Half-width", "m", 0), "length_m": C("长度", "Length", "m", 0)}),
    "paths": Table("paths", "尾矿库下游流径", "Downstream paths", {
        "name": C("尾矿库名称", "Pond"), "trace_method": C("流向方法", "Trace method"),
        "length_m": C("长度", "Length", "m", 0), "pits_crossed": C("穿越洼地数", "Pits crossed"),
        "trace_stop": C("追踪结束原因", "Trace stop")}),
    "facilities": Table("facilities", "下游设施", "Downstream facilities", {
        "tailings": C("尾矿库", "Pond"), "facility_kind": C("设施类型", "Facility kind"), "name": C("名称", "Name"),
        "category": C("类别", "Category"), "important": C("重要设施", "Important", values=YES_NO)}),
}


def _run_tailings(inputs, params, progress):
    from riskmap.analysis.tailings import assess_tailings, facility_kind

    facilities = {}
    for gdf in inputs.get("facilities") or []:
        kind = facility_kind(gdf)
        facilities[kind if kind not in facilities else f"{kind}:{len(facilities)}"] = gdf
    return assess_tailings(inputs["tailings"], inputs.get("dem"), inputs.get("population"), facilities=facilities,
                           grade_rules=params.grade_rules, params=params, progress=progress)


def _wrap_tailings(native, params):
    t = native.tailings
    grades = t["grade"].dropna().astype(int).value_counts().sort_index()
    flagged = t.loc[t["overhead"], "name"].astype(str).tolist()
    zh = (f"尾矿库 {len(t)} 座（" + "，".join(f"{tailings_rules.GRADE_ZH.get(g, g)}库 {c}" for g, c in grades.items())
          + f"）；头顶库 {len(flagged)} 座" + (f"（{'、'.join(flagged)}）" if flagged else ""))
    en = (f"tailings ponds: {len(t)} (" + ", ".join(f"grade {g}: {c}" for g, c in grades.items())
          + f"); 头顶库: {len(flagged)}" + (f" ({', '.join(flagged)})" if flagged else ""))
    layers = {"tailings": t, "corridors": native.corridors, "paths": native.paths, "facilities": native.facilities}
    return layers, {}, zh, en, native.provenance


TAILINGS = Analysis(
    "tailings", "尾矿库等别与头顶库", "Tailings grades and overhead ponds",
    [Input("tailings", "vector", "尾矿库图层", "Tailings ponds", sample="tailings", geometry=("point", "polygon"),
           fields=("capacity", "dam_height"), words=("尾矿", "tailings"),
           help_zh="尾矿库点（name, capacity 设计总库容 万m³, stage_capacity/全库容 现状全库容 万m³（可选）, "
                   "dam_height m, downstream_az）；按GB 39496-2020定等",
           help_en="tailings ponds (points: name, capacity = design total storage 10^4 m³, optional stage_capacity "
                   "= current-stage storage, dam_height m, downstream_az); graded by GB 39496-2020",
           plausible=plausibility.TAILINGS),
     Input("dem", "raster", "DEM（流向追踪）", "DEM (flow trace)", required=False, sample="dem",
           words=("dem", "地形", "高程", "elevation"), help_zh="高程栅格（米）；无DEM时用downstream_az",
           help_en="elevation raster (m); without it downstream_az is used"),
     Input("population", "raster", "人口栅格", "Population raster", required=False, sample="population",
           words=("人口", "population", "pop"), help_zh="人口栅格（每格人数）",
           help_en="population raster (persons per cell)"),
     Input("facilities", "vector", "下游设施图层", "Downstream facility layers", required=False,
           sample=("sensitive", "enterprises", "roads"), multiple=True,
           help_zh="设施图层（敏感目标、企业、道路……），可重复给出多个文件",
           help_en="facility layer (sensitive targets, plants, roads ...); repeat for several files")],
    tailings_rules.PARAMS, TAILINGS_TABLES, _run_tailings, _wrap_tailings,
    standards=lambda params: tailings_rules.standards_cited(params.grade_rules))
TAILINGS.report_sheets = ("tailings", "facilities")

# ---------------------------------------------------------------------------
# quantitative risk assessment (QRA)
# ---------------------------------------------------------------------------
def _qra_tables():
    from riskmap.analysis import gb36894

    per_class = {}
    for cls, zh in (("general_1", "高敏感/重要/一般一类"), ("general_2", "一般二类"), ("general_3", "一般三类")):
        per_class[f"d_{cls}"] = C(f"外部安全防护距离（{zh}）", f"External safety distance ({cls})", "m", 0)
        per_class[f"pop_{cls}"] = C(f"超{zh}基准范围内人口", f"People above the {cls} criterion", "人", 1)
    zones = {v: (v, k) for k, v in gb36894.SR_ZONES.items()}
    return {
        "qra_plants": Table("qra_plants", "定量风险评价企业", "QRA plants", {
            "name": C("企业名称", "Plant"), "county": C("县区", "County"),
            "qra_scope": C("适用定量风险评价", "In QRA scope", values=YES_NO), "scope_reason": C("适用依据", "Scope basis"),
            "chemicals": C("危险化学品及储量", "Chemicals and stock"),
            "chemicals_modelled": C("已建模物质", "Modelled substances"),
            "not_modelled": C("未建模的有毒/易燃气体", "Gases not modelled"),
            "n_scenarios": C("事故场景数", "Scenarios", digits=0), "area": C("区域编号", "Area"),
            "ir_max": C("最大个人风险", "Largest individual risk", "/a"), **per_class,
            "sr_zone": C("社会风险（F-N）", "Societal risk (F-N)", values=zones),
            "fn_max": C("最大F·N", "Largest F·N", "/a"), "pll": C("潜在生命损失PLL", "Potential loss of life", "人/a"),
        }, sort=(("qra_scope", False), ("fn_max", False))),
        "contours": Table("contours", "个人风险等值线", "Individual-risk contours", {
            "area": C("区域编号", "Area"), "level": C("个人风险值", "Individual risk", "/a"),
            "level_label": C("等值线", "Contour"), "area_km2": C("面积", "Area", "km²", 4),
            "plants": C("区域内企业", "Plants of the area")}),
        "targets": Table("targets", "防护目标判定", "Protection-target verdicts", {
            "name": C("防护目标名称", "Target"), "category": C("类别", "Category"),
            "target_class": C("防护目标类别（GB 36894）", "Protection class (GB 36894)"),
            "ir": C("个人风险", "Individual risk", "/a"), "criterion": C("个人风险基准", "Criterion", "/a"),
            "exceeds": C("超过基准", "Exceeds", values=YES_NO), "verdict": C("判定", "Verdict"),
        }, sort=(("exceeds", False), ("ir", False))),
        "fn": Table("fn", "社会风险F-N曲线", "F-N curves", {
            "scope": C("范围", "Scope"), "name": C("企业/区域", "Plant/area"), "N": C("死亡人数N", "Deaths N", "人", 2),
            "F": C("累积频率F（≥N）", "Frequency F (≥ N)", "/a"),
            "F_upper": C("不可接受线F", "Intolerable line F", "/a"), "F_lower": C("可接受线F", "Acceptable line F", "/a"),
            "zone": C("社会风险判定", "Societal-risk zone", values=zones)}),
        "scenarios": Table("scenarios", "事故场景", "Scenarios", {
            "plant": C("企业名称", "Plant"), "unit": C("单元", "Unit"), "chemical": C("物质", "Substance"),
            "event": C("泄漏事件", "Event"), "event_zh": C("泄漏方式", "Release"), "outcome": C("事故后果", "Outcome"),
            "branch": C("事件树分支", "Event-tree branch"), "frequency": C("频率", "Frequency", "/a"),
            "mass_kg": C("泄漏量", "Mass", "kg", 1), "rate_kg_s": C("泄漏速率", "Release rate", "kg/s", 3),
            "duration_s": C("持续时间", "Duration", "s", 0),
            "reach_day": C("致死影响距离（D5）", "Lethal reach (D5)", "m", 0),
            "reach_night": C("致死影响距离（F1.5）", "Lethal reach (F1.5)", "m", 0)}),
    }


QRA_TABLES = _qra_tables()


def _run_qra(inputs, params, progress):
    from riskmap.analysis.qra.assess import assess_qra

    return assess_qra(inputs["plants"], inputs["population"], inputs.get("sensitive"), params, progress=progress)


def _wrap_qra(native, params):
    plants = native.plants
    scope = plants.loc[plants["qra_scope"].to_numpy(bool)]
    targets = native.targets
    n_exceed = int(targets["exceeds"].sum()) if len(targets) else 0
    bad = int((scope["sr_zone"] == "不可接受区").sum())
    zh = (f"定量风险评价企业 {len(scope)} 家（{native.provenance['parameters']['areas']} 个区域）；"
          f"超过个人风险基准的防护目标 {n_exceed} 个；社会风险不可接受 {bad} 家")
    en = (f"{len(scope)} plants assessed by QRA ({native.provenance['parameters']['areas']} areas); "
          f"{n_exceed} protection targets above their individual-risk criterion; societal risk intolerable: {bad}")
    return native.layers(), {"fn": native.fn, "scenarios": native.scenarios}, zh, en, native.provenance


def _qra_standards():
    from riskmap.analysis.qra.assess import standards_cited

    return standards_cited()


def _qra_params():
    from riskmap.analysis.qra.assess import PARAMS

    return PARAMS


QRA = Analysis(
    "qra", "定量风险评价", "Quantitative risk assessment",
    [Input("plants", "vector", "企业图层", "Plants", sample="enterprises", geometry=("point", "polygon"),
           fields=("chemicals", "企业名称"), words=("企业", "enterprise", "plant", "危化"),
           help_zh="企业（危险化学品及储量，可含单元列）", help_en="plants (chemicals and stock; optional unit column)",
           plausible=plausibility.QRA_PLANTS),
     Input("population", "raster", "人口栅格", "Population raster", sample="population",
           words=("人口", "population", "pop"), help_zh="人口栅格（每格人数），用于社会风险",
           help_en="population raster (persons per cell) for the societal risk"),
     Input("sensitive", "vector", "防护目标（敏感目标）", "Protection targets", required=False, sample="sensitive",
           geometry=("point", "polygon"), fields=("category",), words=("敏感", "sensitive", "学校"),
           help_zh="防护目标（学校、医院……）", help_en="protection targets (schools, hospitals, ...)")],
    _qra_params(), QRA_TABLES, _run_qra, _wrap_qra, standards=lambda params: _qra_standards())
QRA.report_sheets = ("qra_plants", "targets", "fn", "scenarios")

# ---------------------------------------------------------------------------
# threat zones of one release (ALOHA-style, issue 13 §6)
# ---------------------------------------------------------------------------
def _threat_tables():
    from riskmap.analysis.qra.threat import HAZARDS, RELEASES

    return {
        "threat_zones": Table("threat_zones", "事故后果威胁区", "Threat zones", {
            "hazard": C("危害类型", "Hazard", values=HAZARDS), "tier": C("关注值级别", "Level of concern", digits=0),
            "level_label": C("关注值", "Level"), "threshold": C("阈值", "Threshold"), "unit": C("阈值单位", "Unit"),
            "threshold_mg_m3": C("阈值浓度", "Threshold concentration", "mg/m³", 3),
            "max_distance_m": C("下风向最远距离", "Largest downwind distance", "m", 0),
            "capped": C("超出计算范围", "Beyond the largest distance", values=YES_NO),
            "start_m": C("起始距离", "Nearest distance", "m", 0),
            "max_width_m": C("最大宽度", "Largest width", "m", 0), "area_km2": C("面积", "Area", "km²", 4),
            "model": C("模型", "Model"),
        }, sort=(("hazard", True), ("tier", False))),
        "threat_source": Table("threat_source", "泄漏源", "Release", {
            "name": C("名称", "Name"), "chemical": C("物质", "Chemical"),
            "release": C("泄漏方式", "Release", values=RELEASES), "amount_t": C("泄漏量", "Amount", "t", 3),
            "rate_kg_s": C("泄漏速率", "Release rate", "kg/s", 3), "duration_s": C("持续时间", "Duration", "s", 0),
            "wind_from": C("风来向", "Wind from", "°", 1), "stability": C("稳定度", "Stability"),
            "wind_speed": C("风速", "Wind speed", "m/s", 1)}),
        "threat_numbers": Table("threat_numbers", "威胁区计算数据", "Threat-zone numbers", {
            "item": C("项目", "Item"), "value": C("数值", "Value"), "unit": C("单位", "Unit"),
            "basis": C("依据/模型", "Basis / model")}),
    }


def _run_threat(inputs, params, progress):
    from riskmap.analysis.qra.threat import threat_zones

    return threat_zones(inputs.get("plants"), params, progress=progress)


def _wrap_threat(native, params):
    from riskmap.analysis.qra.threat import HAZARDS

    src = native.source.iloc[0]
    zones = native.zones
    parts_zh, parts_en = [], []
    for hazard, tier, label, dist, capped in zip(zones["hazard"], zones["tier"], zones["level_label"],
                                                 zones["max_distance_m"], zones["capped"]):
        d = f"{'≥' if capped else ''}{dist / 1000:.2f} km"
        parts_zh.append(f"{HAZARDS[hazard][0]}{label} {d}")
        parts_en.append(f"{HAZARDS[hazard][1]} {label} {d}")
    head_zh = (f"{src['name']} {src['chemical']} {src['amount_t']:g} t，风从 {src['wind_from']:g}° 吹来，"
               f"{src['stability']}类 {src['wind_speed']:g} m/s：")
    head_en = (f"{src['name']} {src['chemical']} {src['amount_t']:g} t, wind from {src['wind_from']:g}°, "
               f"class {src['stability']} {src['wind_speed']:g} m/s: ")
    zh = head_zh + ("；".join(parts_zh) if parts_zh else "地面无威胁区")
    en = head_en + ("; ".join(parts_en) if parts_en else "no zone reaches the ground")
    return native.layers(), {"threat_numbers": native.numbers}, zh, en, native.provenance


def _threat_params():
    from riskmap.analysis.qra.threat import PARAMS

    return PARAMS


THREAT = Analysis(
    "threat", "事故后果威胁区", "Threat zones",
    [Input("plants", "vector", "企业图层", "Plants", required=False, sample="enterprises",
           geometry=("point", "polygon"), fields=("chemicals", "企业名称"), words=("企业", "enterprise", "plant", "危化"),
           help_zh="企业（名称、危险化学品及储量）；按坐标指定泄漏点时可不给",
           help_en="plants (name, chemicals and stock); not needed for a release at a point")],
    _threat_params(), _threat_tables(), _run_threat, _wrap_threat,
    standards=lambda params: [])
THREAT.report_sheets = ("threat_zones", "threat_numbers")

# ---------------------------------------------------------------------------
# 安全风险四色分布图 (issue 15)
# ---------------------------------------------------------------------------
def _fourcolour_tables():
    from riskmap.analysis.fourcolour import COUNT_COLUMNS, LEVELS, LEVELS_EN

    levels = {v: (v, LEVELS_EN[v]) for v in LEVELS}
    counts = {COUNT_COLUMNS[v]: C(f"{v}数", f"{LEVELS_EN[v]} items", digits=0) for v in LEVELS}
    area_cols = {"level": C("风险等级", "Risk level", values=levels), "n_items": C("风险点数", "Items", digits=0),
                 **counts}
    return {
        "township_risk": Table("township_risk", "乡镇四色风险", "Township risk levels", {
            "name": C("乡镇（街道）", "Township"), "county": C("县区", "County"), **area_cols},
            sort=(("rank", False), ("n_items", False))),
        "grid_risk": Table("grid_risk", "网格四色风险", "Grid risk levels", {
            "cell_id": C("网格编号", "Cell"), "county": C("县区", "County"), **area_cols},
            sort=(("rank", False), ("n_items", False))),
        "risk_items": Table("risk_items", "风险点清单", "Risk items", {
            "county": C("县区", "County"), "source_zh": C("类别", "Source"), "name": C("名称", "Name"),
            "detail": C("说明", "Detail"), "level": C("风险等级", "Risk level", values=levels),
            "basis": C("分级依据", "Basis")}),
        "county_summary": Table("county_summary", "县区汇总", "By county", {
            "县区": C("县区", "County"), **{v: C(v, LEVELS_EN[v]) for v in LEVELS}, "合计": C("合计", "Total")}),
        "rules": Table("rules", "分级规则", "Rule table", {
            "source": C("来源", "Source"), "condition": C("条件", "Condition"),
            "level": C("风险等级", "Risk level", values=levels), "basis": C("依据", "Basis")}),
    }


def _run_fourcolour(inputs, params, progress):
    from riskmap.analysis.fourcolour import assess_fourcolour

    return assess_fourcolour(inputs, params, progress=progress)


def _wrap_fourcolour(native, params):
    from riskmap.analysis.fourcolour import LEVELS, rules_frame

    counts = native.items["level"].value_counts()
    parts = "，".join(f"{v} {int(counts.get(v, 0))}" for v in LEVELS)
    zh = f"风险点 {len(native.items)} 个（{parts}）"
    en = f"{len(native.items)} risk items (" + ", ".join(f"{v} {int(counts.get(v, 0))}" for v in LEVELS) + ")"
    if native.areas is not None:
        top = native.areas["level"].value_counts()
        zh += f"；乡镇（街道）{len(native.areas)} 个：" + "，".join(f"{v} {int(top.get(v, 0))}" for v in LEVELS)
        en += f"; {len(native.areas)} townships: " + ", ".join(f"{v} {int(top.get(v, 0))}" for v in LEVELS)
    zh += f"；{params.grid_m:g} m 网格 {len(native.grid)} 格；规则表 {native.rules.get('name')}"
    en += f"; {len(native.grid)} cells of {params.grid_m:g} m; rule table {native.rules.get('name')}"
    tables = {"county_summary": native.summary, "rules": rules_frame(native.rules)}
    return native.layers(), tables, zh, en, native.provenance


FOURCOLOUR = Analysis(
    "fourcolour", "安全风险四色分布图", "Four-colour risk map",
    [Input("areas", "vector", "乡镇（街道）边界", "Townships", sample="townships", geometry=("polygon",),
           fields=("name", "county"), words=("乡镇", "街道", "township"),
           help_zh="乡镇（街道）面（name, county）：按乡镇汇总四色等级", help_en="township polygons (name, county)"),
     Input("enterprises", "vector", "企业（或搬迁评估结果）", "Plants (or relocation result)", required=False,
           sample="enterprises", geometry=("point", "polygon"), fields=("hazard_grade", "relocate", "chemicals"),
           words=("企业", "enterprise", "plant", "危化"),
           help_zh="搬迁评估的企业结果；给原始企业图层时先运行搬迁评估",
           help_en="the relocation result's plants; a raw plants layer is assessed first"),
     Input("pipelines", "vector", "管道高后果区（或管道）", "HCAs (or pipelines)", required=False, sample="pipelines",
           geometry=("line",), fields=("hca_grade", "medium"), words=("高后果区", "管道", "pipeline", "hca"),
           help_zh="管道高后果区结果；给管道图层时先识别高后果区",
           help_en="the pipeline HCA result; a pipelines layer is assessed first"),
     Input("tailings", "vector", "尾矿库（或等别结果）", "Tailings (or their result)", required=False,
           sample="tailings", geometry=("point", "polygon"), fields=("grade", "overhead", "capacity"),
           words=("尾矿", "tailings"), help_zh="尾矿库等别结果；给尾矿库图层时先定等",
           help_en="the tailings result; a tailings layer is graded first"),
     Input("roads", "vector", "隐患路段（或道路）", "Hazard segments (or roads)", required=False, sample="roads",
           geometry=("line",), fields=("severity", "kind", "road_class"), words=("隐患", "道路", "road"),
           help_zh="道路隐患路段结果；给道路图层时先识别隐患", help_en="road hazard segments; roads are assessed first"),
     Input("qra_plants", "vector", "定量风险评价企业结果", "QRA plants", required=False, geometry=("point", "polygon"),
           fields=("sr_zone",), words=("定量风险", "qra"),
           help_zh="定量风险评价的企业结果（sr_zone 按企业名称并入）", help_en="QRA plants (sr_zone joined by name)"),
     Input("counties", "vector", "县区边界", "Counties", required=False, sample="counties", geometry=("polygon",),
           fields=("adcode",), words=("县", "county", "区划"), help_zh="县区面（name）", help_en="county polygons"),
     Input("population", "raster", "人口栅格", "Population raster", required=False, sample="population",
           words=("人口", "population", "pop"), help_zh="人口栅格（运行搬迁评估、高后果区、尾矿库时用）",
           help_en="population raster (for the upstream analyses)"),
     Input("sensitive", "vector", "敏感目标", "Sensitive targets", required=False, sample="sensitive",
           geometry=("point", "polygon"), fields=("category",), words=("敏感", "sensitive", "学校"),
           help_zh="敏感目标（运行上游分析时用）", help_en="sensitive targets (for the upstream analyses)"),
     Input("dem", "raster", "DEM", "DEM", required=False, sample="dem", words=("dem", "地形", "高程", "elevation"),
           help_zh="高程栅格（运行道路、尾矿库分析时用）", help_en="elevation raster (for the upstream analyses)"),
     Input("water", "vector", "水体", "Water", required=False, sample="water", geometry=("polygon", "line"),
           words=("水", "water", "河", "湖", "水库"), help_zh="水体（运行上游分析时用）",
           help_en="water (for the upstream analyses)"),
     Input("accidents", "vector", "交通事故点", "Accidents", required=False, sample="accidents", geometry=("point",),
           fields=("deaths", "injuries"), words=("事故", "accident"), help_zh="事故点（运行道路分析时用）",
           help_en="accident points (for the road analysis)")],
    FOURCOLOUR_PARAMS, _fourcolour_tables(), _run_fourcolour,
    _wrap_fourcolour, standards=lambda params: [])
FOURCOLOUR.report_sheets = ("county_summary", "township_risk", "risk_items", "rules")

#: Every declared analysis by name.
ANALYSES = {a.name: a for a in (RELOCATION, ROADS, PIPELINES, TAILINGS, QRA, THREAT, FOURCOLOUR)}


def analysis(name: str) -> Analysis:
    """The declared analysis called ``name`` (ParameterError for an unknown one)."""
    from riskmap.errors import ParameterError
    from riskmap.i18n import tr

    try:
        return ANALYSES[name]
    except KeyError:
        raise ParameterError(tr(f"未知的分析“{name}”；可选：{'、'.join(ANALYSES)}",
                                f"unknown analysis {name!r}; known: {', '.join(ANALYSES)}")) from None


__all__ = ["ANALYSES", "FOURCOLOUR", "PIPELINES", "QRA", "RELOCATION", "ROADS", "TAILINGS", "THREAT", "analysis",
           "road_county_counts"]
